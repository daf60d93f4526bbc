"""The data dictionary gate and the demo seed."""

import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User


def test_committed_data_dictionary_is_current():
    out = io.StringIO()
    call_command("datadict", "--check", stdout=out)
    assert "up to date" in out.getvalue()


def test_stale_data_dictionary_fails_the_check(tmp_path):
    stale = tmp_path / "dd.md"
    stale.write_text("# Data dictionary\n")
    with pytest.raises(CommandError, match="stale"):
        call_command("datadict", "--check", "--output", str(stale))


def test_data_dictionary_lists_columns_constraints_and_diagram(tmp_path):
    target = tmp_path / "dd.md"
    call_command("datadict", "--output", str(target), stdout=io.StringIO())
    text = target.read_text()
    assert "```mermaid\nerDiagram" in text
    assert "accounts_user ||--o{ core_auditentry : actor" in text
    assert "| `timezone` | `varchar(64)` | no | `'UTC'` |" in text
    assert "UniqueConstraint `accounts_user_email_ci_unique`" in text


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_refuses_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("seed_demo", stdout=io.StringIO())
    settings.DEBUG = True
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert "Demo staff user: admin@synapscale.local / synapscale-demo" in out.getvalue()
    staff = User.objects.get(email="admin@synapscale.local")
    assert staff.is_staff and staff.check_password("synapscale-demo")
    assert User.objects.filter(email__endswith="@synapscale.local").count() == 3
    from workspaces.models import Membership, Workspace

    for slug in ("acme-steel", "northwind-ai"):
        roles = sorted(Membership.objects.filter(workspace__slug=slug)
                       .values_list("role", flat=True))
        assert roles == ["admin", "member", "owner", "viewer"]
    assert Workspace.objects.count() == 2
    assert User.objects.get(email="viewer@acme-steel.local").check_password("synapscale-demo")
