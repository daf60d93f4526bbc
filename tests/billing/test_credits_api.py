"""Credits through the API and the admin: the ledger and balance of your own workspaces
only, grants and top-ups by staff with the permission only."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import CreditTransaction
from billing.services import credits
from tests import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing/credits/"


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def member(workspace, role="member"):
    return f.MembershipFactory(workspace=workspace, role=role).user


def granter():
    user = f.UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_credittransaction"))
    return user


@pytest.fixture
def ws():
    workspace = f.WorkspaceFactory()
    credits.topup(workspace.pk, 40, reference="pay_1")
    credits.grant(workspace.pk, 10, reason="Welcome",
                  expires_at=timezone.now() + timedelta(days=10))
    return workspace


def test_members_read_their_ledger_and_balance(ws):
    other = f.WorkspaceFactory()
    credits.topup(other.pk, 99, reference="pay_x")
    client = client_for(member(ws, "viewer"))
    rows = client.get(URL).json()["results"]
    assert {r["workspace"] for r in rows} == {ws.pk} and len(rows) == 2
    balance = client.get(f"{URL}balance/", {"workspace": ws.pk}).json()
    assert Decimal(balance["balance"]) == 50 and balance["workspace"] == ws.pk
    assert Decimal(balance["expiring"][0]["remaining"]) == 10
    assert client.get(f"{URL}balance/", {"workspace": other.pk}).status_code == 404
    assert client.get(f"{URL}balance/").status_code == 400


def test_the_ledger_is_read_only(ws):
    client = client_for(member(ws, "owner"))
    tx = CreditTransaction.objects.filter(workspace=ws).first()
    assert client.post(URL, {"workspace": ws.pk, "kind": "grant", "amount": "5"},
                       format="json").status_code == 405
    assert client.delete(f"{URL}{tx.pk}/").status_code == 405


def test_staff_with_the_permission_grant_and_top_up(ws):
    client = client_for(granter())
    response = client.post(f"{URL}grant/", {"workspace": ws.pk, "amount": "7.5",
                                             "reason": "Outage"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "grant" and Decimal(response.json()["balance_after"]) \
        == Decimal("57.5")
    body = {"workspace": ws.pk, "amount": "20", "reference": "pay_2"}
    first = client.post(f"{URL}topup/", body, format="json")
    again = client.post(f"{URL}topup/", body, format="json")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert credits.balance(ws.pk) == Decimal("77.5")


def test_others_may_not_grant(ws):
    owner = member(ws, "owner")
    plain_staff = f.UserFactory(is_staff=True)
    for user in (owner, plain_staff):
        response = client_for(user).post(f"{URL}grant/", {"workspace": ws.pk, "amount": "5",
                                                           "reason": "x"}, format="json")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert credits.balance(ws.pk) == 50


def test_bad_grants_are_400s(ws):
    client = client_for(granter())
    for body in ({"workspace": ws.pk, "amount": "-5", "reason": "x"},
                 {"workspace": ws.pk, "amount": "abc", "reason": "x"},
                 {"workspace": 999999, "amount": "5", "reason": "x"},
                 {"workspace": ws.pk, "amount": "5", "reason": "x",
                  "expires_at": "2001-01-01T00:00:00Z"},
                 {"workspace": ws.pk, "amount": "0", "reason": "x"}):
        response = client.post(f"{URL}grant/", body, format="json")
        assert response.status_code == 400, (body, response.content)


def test_admin_ledger_shows_the_running_balance_and_grants(ws):
    admin = f.UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/billing/credittransaction/")
    assert page.status_code == 200
    assert b"Running balance" in page.content and b"<strong>50" in page.content
    form = client.get(f"/admin/billing/credittransaction/grant/?workspace={ws.pk}")
    assert form.status_code == 200 and b"Current balance" in form.content
    done = client.post("/admin/billing/credittransaction/grant/",
                       {"workspace": ws.pk, "kind": "grant", "amount": "5",
                        "reason": "Goodwill"})
    assert done.status_code == 302
    assert credits.balance(ws.pk) == 55
    assert CreditTransaction.objects.filter(workspace=ws, created_by=admin).exists()
    refused = client.post("/admin/billing/credittransaction/grant/",
                          {"workspace": ws.pk, "kind": "topup", "amount": "5",
                           "reason": "x", "reference": ""})
    assert refused.status_code == 200 and b"reference" in refused.content
    assert credits.balance(ws.pk) == 55
    outsider = f.UserFactory(is_staff=True)
    client.force_login(outsider)
    assert client.get("/admin/billing/credittransaction/grant/").status_code in (302, 403)
