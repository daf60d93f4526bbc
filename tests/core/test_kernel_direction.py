"""The kernel depends on nothing above it: no module under core/ imports a domain app.

Parsed, not imported, so an import hidden inside a function (which only runs
later, if ever) counts as much as one at the top; string imports the kernel
could smuggle in (``import_module("workspaces...")``, ``apps.get_model(...)``)
count too.  Domain apps are named through settings (TENANCY_POLICY,
ADMIN_LOGIN_FORM, ...) and reached with ``import_string`` on the setting.
"""

import ast
from pathlib import Path

import pytest
from django.test import override_settings

from core import tenancy
from tests.factories import MembershipFactory
from workspaces.models import Workspace

CORE = Path(__file__).resolve().parents[2] / "core"
# Today's domain apps, the ones planned next, and the project package.
ABOVE = {"accounts", "workspaces", "analytics", "reports", "config",
         "workflows", "agents", "billing", "crm"}
STRING_LOADERS = {"import_module", "import_string", "get_model", "__import__"}


def _top(dotted: str) -> str:
    return dotted.split(".")[0]


def upward_imports(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _top(a.name) in ABOVE]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _top(node.module) in ABOVE:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in STRING_LOADERS and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str) \
                    and _top(node.args[0].value) in ABOVE:
                found.append((node.lineno, f"{name}({node.args[0].value!r})"))
    return found


def test_no_module_in_core_imports_an_app_above_it():
    offenders = [
        f"{path.relative_to(CORE.parent)}:{line}: {what}"
        for path in sorted(CORE.rglob("*.py")) if "migrations" not in path.parts
        for line, what in upward_imports(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("source", [
    "from workspaces.models import Workspace",
    "import accounts.forms",
    "def f():\n    from config.celery_app import app\n",
    "class A:\n    def m(self):\n        import billing\n",
    "apps.get_model('workspaces', 'Membership')",
    "import_string('accounts.forms.AdminLoginForm')",
])
def test_the_check_sees_every_kind_of_upward_import(source):
    assert upward_imports(source)


class NobodyPolicy:
    """A policy under which nobody belongs anywhere."""

    def workspace_key(self, auth):
        return None

    def workspace_ids(self, user, model, action, role):
        return []

    def member_workspace_ids(self, user):
        return []

    def member_user_ids(self, workspace_ids):
        return []


def test_membership_reaches_the_kernel_only_through_the_configured_policy(db):
    membership = MembershipFactory(role=tenancy.OWNER)
    me = tenancy.Principal(user=membership.user)
    workspaces = Workspace.objects.all()

    assert list(tenancy.visible(workspaces, me, "delete")) == [membership.workspace]
    with override_settings(TENANCY_POLICY="tests.core.test_kernel_direction.NobodyPolicy"):
        assert list(tenancy.visible(workspaces, me)) == []
        assert not tenancy.can(me, membership.workspace, "view")
    assert tenancy.can(me, membership.workspace, "view")


def test_the_workspace_declares_how_it_scopes_itself():
    assert tenancy.is_scoped(Workspace)
    assert Workspace.tenancy_scope_field == "pk"
    assert [tenancy.required_role(Workspace, a) for a in tenancy.ACTIONS] == \
        [tenancy.VIEWER, tenancy.ADMIN, tenancy.ADMIN, tenancy.OWNER]
