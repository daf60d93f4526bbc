"""User variables: write-only secrets, the audited reveal, rotation, import/export, and
``{{ vars.NAME }}`` in the user's own workflow runs."""

import io
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import UserVariable
from accounts.services import variables
from core.models import AuditEntry
from tests.factories import UserFactory, UserVariableFactory
from tests.workflows.engine_nodes import (
    edge,
    engine_workflow,
    node,
    publish,
    run_eagerly,
    test_node_types,
)
from workflows.models import Execution, NodeExecution
from workspaces.services import vault

FIXTURES = (engine_workflow, run_eagerly, test_node_types)  # used by name as arguments
SECRET = "pk-live-7c1e9a44d2b0"
pytestmark = pytest.mark.django_db

LIST = reverse("accounts-uservariable-list")


def detail(pk) -> str:
    return reverse("accounts-uservariable-detail", args=[pk])


@pytest.fixture
def me_client(user):
    client = APIClient()
    client.force_login(user)
    return client


# --- service -----------------------------------------------------------------------------


def test_a_secret_is_stored_encrypted_and_the_plain_column_stays_empty(user):
    variable = variables.variable_create(user=user, name="STRIPE_KEY", value=SECRET,
                                         is_secret=True)
    stored = UserVariable.objects.get(pk=variable.pk)
    assert stored.value == "" and SECRET not in stored.ciphertext
    assert vault.decrypt(stored.ciphertext) == SECRET


def test_names_are_unique_per_user_and_shaped_like_environment_variables(user):
    variables.variable_create(user=user, name="REGION", value="eu")
    variables.variable_create(user=UserFactory(), name="REGION", value="us")  # another user
    with pytest.raises(ValidationError) as taken:
        variables.variable_create(user=user, name="REGION", value="br")
    assert "name" in taken.value.message_dict
    with pytest.raises(ValidationError) as bad:
        variables.variable_create(user=user, name="9 lives", value="x")
    assert "name" in bad.value.message_dict


def test_a_secret_becomes_plain_only_with_a_new_value(user):
    variable = variables.variable_create(user=user, name="TOKEN", value=SECRET, is_secret=True)
    with pytest.raises(ValidationError):
        variables.variable_update(variable=variable, is_secret=False)
    variable.refresh_from_db()
    variables.variable_update(variable=variable, is_secret=False, value="public")
    variable.refresh_from_db()
    assert (variable.is_secret, variable.value, variable.ciphertext) == (False, "public", "")


def test_rotation_reencrypts_secret_variables_under_the_new_key(settings, user):
    secret = UserVariableFactory(user=user, secret=SECRET)
    plain = UserVariableFactory(user=user)
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)
    assert "Re-encrypted 1 secret user variable(s)." in out.getvalue()
    settings.SECRETS_ENCRYPTION_KEYS = settings.SECRETS_ENCRYPTION_KEYS[:1]  # old key gone
    secret.refresh_from_db()
    assert variables.variable_value(secret) == SECRET
    assert UserVariable.objects.get(pk=plain.pk).ciphertext == ""


# --- import and export ----------------------------------------------------------------------


def test_env_export_then_import_gives_the_same_variables_and_leaves_secrets_out(user):
    UserVariableFactory(user=user, name="GREETING", value='say "hi"\nthen # go')
    UserVariableFactory(user=user, name="REGION", value="eu-west-1")
    UserVariableFactory(user=user, name="TOKEN", secret=SECRET)
    text = variables.variables_export(user=user, fmt="env")
    assert "TOKEN" not in text and SECRET not in text

    other = UserFactory()
    assert variables.variables_import(user=other, text=text, fmt="env") == \
        {"created": 2, "updated": 0}
    assert dict(other.variables.values_list("name", "value")) == {
        "GREETING": 'say "hi"\nthen # go', "REGION": "eu-west-1"}


def test_json_import_updates_and_creates(user):
    UserVariableFactory(user=user, name="REGION", value="eu")
    text = '[{"name": "REGION", "value": "us"}, {"name": "LIMIT", "value": 5}]'
    assert variables.variables_import(user=user, text=text, fmt="json") == \
        {"created": 1, "updated": 1}
    assert dict(user.variables.values_list("name", "value")) == {"REGION": "us", "LIMIT": "5"}


def test_a_bad_line_is_reported_with_its_number_and_nothing_is_loaded(user):
    UserVariableFactory(user=user, name="TOKEN", secret=SECRET)
    text = "# settings\nREGION=eu\nnot a pair\n9BAD=x\nREGION=us\nTOKEN=plain\nOK=\"unclosed\n"
    with pytest.raises(ValidationError) as failed:
        variables.variables_import(user=user, text=text, fmt="env")
    errors = failed.value.message_dict
    assert list(errors) == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "line 2" in errors["line 5"][0]  # REGION is already given on line 2
    assert "secret" in errors["line 6"][0]
    assert list(user.variables.values_list("name", flat=True)) == ["TOKEN"]


def test_the_import_api_answers_line_errors_in_the_error_shape(me_client, user):
    response = me_client.post(LIST + "import/", {"format": "env", "text": "A=1\nB C\n"},
                              format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_import" and "line 2" in body["errors"]
    assert not user.variables.exists()
    ok = me_client.post(LIST + "import/", {"format": "env", "text": "A=1\n"}, format="json")
    assert ok.json() == {"created": 1, "updated": 0}
    exported = me_client.get(LIST + "export/", {"as": "env"})
    assert exported.json() == {"format": "env", "text": "A=1\n"}


# --- API -------------------------------------------------------------------------------------


def test_the_api_creates_for_the_caller_and_never_returns_a_secret(me_client, user):
    response = me_client.post(LIST, {"name": "TOKEN", "value": SECRET, "is_secret": True,
                                     "user": UserFactory().pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"] == user.pk and body["value"] == ""
    assert SECRET not in response.content.decode()
    assert SECRET not in me_client.get(LIST).content.decode()
    assert SECRET not in me_client.get(detail(body["id"])).content.decode()


def test_others_variables_are_not_found(me_client):
    theirs = UserVariableFactory()
    assert me_client.get(detail(theirs.pk)).status_code == 404
    assert me_client.post(detail(theirs.pk) + "reveal/").status_code == 404


def test_reveal_answers_the_value_and_is_audited(me_client, user):
    variable = UserVariableFactory(user=user, secret=SECRET)
    response = me_client.post(detail(variable.pk) + "reveal/")
    assert response.status_code == 200 and response.json() == {"value": SECRET}
    assert response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REVEAL)
    assert (entry.actor, entry.target_id, entry.source) == (user, str(variable.pk), "api")
    assert SECRET not in repr(model_to_dict(entry))


def test_api_keys_cannot_reach_user_variables(db):
    from tests.contract.isolation import key_client
    from tests.factories import ApiKeyFactory

    client = key_client(ApiKeyFactory(role="admin").raw)
    assert client.get(LIST).status_code == 403


# --- nowhere else ----------------------------------------------------------------------------


def test_a_secret_variable_appears_in_no_response_page_audit_entry_or_log_line(
        client, superuser, user, caplog):
    """Created, listed, changed and deleted through the API and the admin; only the two
    reveals (which are the point) answer the value."""
    api = APIClient()
    api.force_login(user)
    client.force_login(superuser)
    seen = []
    with caplog.at_level(logging.DEBUG):
        created = api.post(LIST, {"name": "TOKEN", "value": SECRET, "is_secret": True,
                                  "description": "payments"}, format="json")
        pk = created.json()["id"]
        seen += [created, api.get(LIST), api.get(detail(pk)),
                 api.patch(detail(pk), {"description": "payments v2"}, format="json"),
                 api.get(LIST + "export/", {"as": "json"}),
                 api.get(LIST + "export/", {"as": "env"})]
        assert api.post(detail(pk) + "reveal/").json() == {"value": SECRET}

        admin_pages = ["changelist", "change", "history", "delete"]
        for name in admin_pages:
            args = [] if name == "changelist" else [pk]
            seen.append(client.get(reverse(f"admin:accounts_uservariable_{name}", args=args)))
        seen.append(client.get(reverse("admin:accounts_uservariable_reveal", args=[pk])))
        change = reverse("admin:accounts_uservariable_change", args=[pk])
        saved = client.post(change, {"name": "TOKEN", "description": "kept", "is_secret": "on",
                                     "value": ""})
        assert saved.status_code == 302, saved.content.decode()[:2000]
        seen.append(client.get(change))
        revealed = client.post(reverse("admin:accounts_uservariable_reveal", args=[pk]))
        assert SECRET in revealed.content.decode()
        seen.append(client.get(reverse("admin:core_auditentry_changelist")))
        seen.append(api.delete(detail(pk)))

    assert all(r.status_code < 400 for r in seen), [r.status_code for r in seen]
    for response in seen:
        assert SECRET not in response.content.decode(), response.request["PATH_INFO"]
    entries = list(AuditEntry.objects.filter(target_id=str(pk)))
    assert {e.action for e in entries} >= {"create", "update", "reveal", "delete"}
    assert len([e for e in entries if e.action == "reveal"]) == 2
    assert SECRET not in repr([model_to_dict(e) for e in entries])
    assert vault.decrypt  # the key ring, not a plaintext copy, held the value meanwhile
    assert SECRET not in caplog.text


# --- workflow runs ---------------------------------------------------------------------------


def test_a_run_reads_its_users_variables_and_stores_no_secret(engine_workflow, run_eagerly,
                                                              caplog):
    owner = UserFactory()
    UserVariableFactory(user=owner, name="REGION", value="eu-west-1")
    UserVariableFactory(user=owner, name="TOKEN", secret=SECRET)
    UserVariableFactory(name="REGION", value="someone-else")
    publish(engine_workflow,
            [node("use", config={"value": {"region": "{{ vars.REGION }}",
                                           "auth": "Bearer {{ vars.TOKEN }}"}})],
            [edge("start", "use")])
    with caplog.at_level(logging.DEBUG):
        execution = run_eagerly(engine_workflow, {"n": 1}, by=owner)

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    span = NodeExecution.objects.get(execution=execution, node_key="use")
    assert span.output == {"region": "eu-west-1", "auth": "Bearer ***"}
    rows = [model_to_dict(execution)] + [model_to_dict(s) for s in
                                         NodeExecution.objects.filter(execution=execution)]
    assert SECRET not in repr(rows) and SECRET not in caplog.text


def test_a_run_without_a_starting_user_reads_the_workflow_creators_variables(
        engine_workflow, run_eagerly):
    creator = UserFactory()
    engine_workflow.created_by = creator
    engine_workflow.save(update_fields=["created_by"])
    UserVariableFactory(user=creator, name="REGION", value="sa-east-1")
    publish(engine_workflow, [node("use", config={"value": "{{ vars.REGION }}"})],
            [edge("start", "use")])
    execution = run_eagerly(engine_workflow, {})
    assert NodeExecution.objects.get(execution=execution, node_key="use").output == "sa-east-1"


def test_an_unknown_variable_fails_the_node_naming_it(engine_workflow, run_eagerly):
    publish(engine_workflow, [node("use", config={"value": "{{ vars.MISSING }}"})],
            [edge("start", "use")])
    execution = run_eagerly(engine_workflow, {}, by=UserFactory())
    assert execution.status == Execution.Status.FAILED
    span = NodeExecution.objects.get(execution=execution, node_key="use")
    assert "vars.MISSING" in span.error
