"""Malformed requests on every operation of the schema, under every kind of credential.

The schemathesis fuzz (``test_fuzz.py``) explores valid-looking input as one
superuser. These tests send the classes of input that once answered 500 to
every operation read from the OpenAPI schema, so a new endpoint is covered the
day it is routed:

* every GET of a view of its own (profile, reports, actions) under every credential
  kind (plain, and with a forged cursor on lists);
* every list and retrieve of a model viewset as a superuser and as one other kind,
  taken round-robin: their scoping by role is the isolation suite's ground, and every
  kind still meets lists and forged cursors;
* a forged cursor under every ordering field of every list;
* every write with JSON nested 100,000 deep and with lone surrogates in every
  string field, as a superuser (so the body is reached) and as one other kind,
  taken round-robin so that all kinds meet writes without squaring the cost;
* every write that is not plain model CRUD (sign-in, profile, actions) under
  every credential kind.
"""

import base64
import itertools
import json

import pytest
from django.db import IntegrityError, transaction
from django.urls import resolve
from rest_framework.test import APIClient

from core import tenancy
from tests.factories import (
    AgentTriggerFactory,
    ApiKeyFactory,
    ApiTokenFactory,
    MembershipFactory,
    SecretFactory,
    TriggerFactory,
    UserFactory,
    WorkflowFactory,
    WorkflowVersionFactory,
    WorkspaceFactory,
    factory_for,
)
from workspaces.models import Workspace

from .openapi import openapi_schema
from .resources import RESOURCES, list_url

pytestmark = pytest.mark.django_db

SCHEMA = openapi_schema()
OPERATIONS = [(method.upper(), path, op) for path, ops in SCHEMA["paths"].items()
              for method, op in ops.items()]
READS = [o for o in OPERATIONS if o[0] == "GET"]
WRITES = [o for o in OPERATIONS if o[0] in ("POST", "PUT", "PATCH", "DELETE")]

KINDS = ("anonymous", "superuser_session", "superuser_token", "owner_token", "owner_session",
         "admin_session", "member_session", "viewer_session", "admin_key", "member_key",
         "viewer_key")
FORGED_CURSORS = (
    "cD0yMDI0LTAxLTAx",  # p=2024-01-01: a date where the ordering is an integer
    base64.b64encode(b"p=not-a-value&r=1").decode(),
    base64.b64encode(b"p=%00").decode(),
    base64.b64encode(b"o=99999999999999999999").decode(),
    "%%%not base64",
)
DEEP = "[" * 100_000
SURROGATE = "\ud800"


def op_id(operation) -> str:
    return f"{operation[0]} {operation[1]}"


def is_list(operation) -> bool:
    return any(p["name"] == "cursor" for p in operation[2].get("parameters", []))


def json_body_schema(operation) -> dict | None:
    content = operation[2].get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return _resolve(schema) if schema else None


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def surrogate_body(schema: dict | None) -> str:
    """Every string (and choice) property holding a lone surrogate, as JSON text.

    ``json.dumps`` writes it as the escape ``\\ud800``: exactly what a client sends.
    """
    properties = (schema or {}).get("properties", {})
    body = {name: f"{SURROGATE}x" for name, prop in properties.items()
            if not prop.get("readOnly") and (_resolve(prop).get("type") == "string"
                                             or "enum" in _resolve(prop)
                                             or "allOf" in prop or "oneOf" in prop)}
    return json.dumps(body or {"name": SURROGATE})


class World:
    """One workspace; a superuser, a member of each role and keys of each role, each made
    the first time a request needs it (a test meeting two kinds pays for two)."""

    def __init__(self):
        self.workspace = WorkspaceFactory()
        self._users, self._keys = {}, {}

    def user(self, who: str):
        if who not in self._users:
            if who == "superuser":
                self._users[who] = UserFactory(is_staff=True, is_superuser=True)
            else:
                self._users[who] = UserFactory()
                MembershipFactory(workspace=self.workspace, user=self._users[who], role=who)
        return self._users[who]

    def key(self, role: str) -> str:
        if role not in self._keys:
            self._keys[role] = ApiKeyFactory(workspace=self.workspace, role=role).raw
        return self._keys[role]

    def client(self, kind: str) -> APIClient:
        """A new client per request: a fuzzed logout must not sign out the next one."""
        client = APIClient()
        who, _, how = kind.partition("_")
        if how == "session":
            client.force_login(self.user(who))
        elif how == "token":
            token = ApiTokenFactory(user=self.user(who)).raw_token
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        elif how == "key":
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.key(who)}")
        return client

    def url(self, path: str) -> str:
        """``path`` with ``{id}`` replaced by a row of the resource, in this workspace,
        and other parameters by a real value (a 404 would test nothing)."""
        for name, sample in PATH_SAMPLES.items():
            if f"{{{name}}}" in path:
                path = path.replace(f"{{{name}}}", sample(self, path))
        if "{id}" not in path:
            return path
        model = resolve(path.replace("{id}", "1")).func.cls.queryset.model
        if model is Workspace:
            obj = self.workspace
        elif tenancy.is_scoped(model):
            try:
                with transaction.atomic():
                    obj = factory_for(model)(workspace=self.workspace)
            except IntegrityError:  # one per workspace (a billing customer): the one it has
                obj = model._default_manager.filter(workspace=self.workspace).first()
        else:
            obj = factory_for(model)()
        return path.replace("{id}", str(obj.pk))


def _webhook_token(world: World, path: str) -> str:
    """The token of a webhook that wants a signature or a bearer secret (so an unsigned
    body is refused as unauthenticated), for the app the path belongs to."""
    if path.startswith("/api/v1/hooks/agents/"):
        secret = SecretFactory(workspace=world.workspace)
        return AgentTriggerFactory(
            workspace=world.workspace, kind="webhook",
            config={"message_field": "message", "auth": "token", "secret": secret.pk,
                    "max_body_bytes": 1_048_576}).webhook_token
    workflow = WorkflowFactory(workspace=world.workspace)
    WorkflowVersionFactory(workspace=world.workspace, workflow=workflow)
    return TriggerFactory(workspace=world.workspace, workflow=workflow,
                          kind="webhook").webhook_token


#: Path parameters other than ``{id}``, by name: a function of the world giving a value.
PATH_SAMPLES = {"token": _webhook_token}


def authenticates_itself(operation) -> bool:
    """An operation with no ``security`` (a webhook: its trigger's signature) is reached
    by none of the credential kinds here; its own tests send it signed bodies."""
    return "security" not in operation[2]


@pytest.fixture
def world():
    return World()


def no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"


def is_model_read(operation) -> bool:
    """A list or retrieve of a model viewset (scoped by the kernel, whoever asks)."""
    actions = getattr(resolve(operation[1].replace("{id}", "1")).func, "actions", None) or {}
    return actions.get("get") in ("list", "retrieve")


def kinds_for(index: int, operation) -> tuple[str, ...]:
    """Every kind for a view of its own; a superuser and one kind in turn for the rest."""
    if not is_model_read(operation):
        return KINDS
    return tuple(dict.fromkeys(("superuser_session", KINDS[index % len(KINDS)])))


@pytest.mark.parametrize(("index", "operation"), list(enumerate(READS)),
                         ids=[op_id(o) for o in READS])
def test_every_read_under_its_credential_kinds(world, index, operation):
    url = world.url(operation[1])
    cursors = itertools.cycle(FORGED_CURSORS[index % len(FORGED_CURSORS):] + FORGED_CURSORS)
    for kind in kinds_for(index, operation):
        no_server_error(world.client(kind).get(url), f"{kind} GET {url}")
        if is_list(operation):
            cursor = next(cursors)
            answer = world.client(kind).get(url, {"cursor": cursor})
            no_server_error(answer, f"{kind} GET {url}?cursor={cursor}")
            if answer.status_code == 400:
                assert answer.json()["code"] == "invalid_cursor"


LISTS = [r for r in RESOURCES if "list" in r.operations]


@pytest.mark.parametrize("resource", LISTS, ids=lambda r: r.basename)
def test_forged_cursor_under_every_ordering(world, resource):
    client = world.client("superuser_session")
    # The position is checked against the first ordering field whichever the direction.
    cursor = base64.b64encode(b"p=not-a-value").decode()
    for index, field in enumerate(resource.viewset.ordering_fields):
        ordering = f"-{field}" if index % 2 else field
        answer = client.get(list_url(resource), {"ordering": ordering, "cursor": cursor})
        no_server_error(answer, f"{resource.basename} ordering={ordering}")
        assert answer.status_code in (200, 400)  # 200: text fields take any position
        if answer.status_code == 400:
            assert answer.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(("index", "operation"), list(enumerate(WRITES)),
                         ids=[op_id(o) for o in WRITES])
def test_every_write_refuses_deep_and_surrogate_bodies(world, index, operation):
    method, path, _ = operation
    schema = json_body_schema(operation)
    other_kind = KINDS[index % len(KINDS)]
    kinds = list(dict.fromkeys(("superuser_session", other_kind)))
    for kind in kinds:  # credentials made now: a DELETE of the workspace may come first
        world.client(kind)
    for kind in kinds:
        for name, body in (("deep", DEEP), ("surrogate", surrogate_body(schema))):
            url = world.url(path)
            send = getattr(world.client(kind), method.lower())
            answer = send(url, body, content_type="application/json")
            no_server_error(answer, f"{kind} {method} {url} with a {name} body")
            if authenticates_itself(operation):
                # Refused unauthenticated: 401 for our own webhooks, the code each
                # provider's protocol names for its signature (Stripe 400, voice 403).
                assert answer.status_code in (400, 401, 403), (name, answer.content[:300])
            elif kind == "superuser_session" and schema is not None:
                # Whoever the body reaches, it is refused as a whole, with a stable code.
                assert answer.status_code == 400, (name, answer.content[:300])
                assert answer.json()["code"] == ("too_deep" if name == "deep" else "invalid_text")


def is_crud(operation) -> bool:
    """A create/update/delete of a model viewset (the isolation suite's ground)."""
    method, path, _ = operation
    actions = getattr(resolve(path.replace("{id}", "1")).func, "actions", None) or {}
    return actions.get(method.lower()) in ("create", "update", "partial_update", "destroy")


# Views of their own (sign-in, profile, invitations, actions) are where code
# assumes who the caller is: each meets every credential kind with a plain body.
OWN_WRITES = [o for o in WRITES if not is_crud(o)]


@pytest.mark.parametrize("operation", OWN_WRITES, ids=op_id)
def test_every_own_write_under_every_credential_kind(world, operation):
    method, path, _ = operation
    for kind in KINDS:
        url = world.url(path)
        answer = getattr(world.client(kind), method.lower())(url, {}, format="json")
        no_server_error(answer, f"{kind} {method} {url}")


def test_the_operation_lists_come_from_the_schema():
    # Guards the parametrisation itself: an empty list would pass vacuously.
    assert len(READS) > 40 and len(WRITES) > 60 and len(OWN_WRITES) > 15
    assert sum(is_list(o) for o in READS) >= 20
    # Round-robin reaches every kind with a list (and so a forged cursor).
    model_lists = [i for i, o in enumerate(READS) if is_model_read(o) and is_list(o)]
    assert {KINDS[i % len(KINDS)] for i in model_lists} == set(KINDS)
    assert ("POST", "/api/v1/auth/login/") in [(m, p) for m, p, _ in WRITES]
