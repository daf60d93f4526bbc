"""The invoices API: members read their workspace's invoices and PDFs, owners and admins
preview the next invoice, only staff void, mark paid or write off; other tenants get 404."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from billing.invoicing import generate_for_period
from billing.models import Invoice
from tests.billing.invoices_support import FEB, JAN, subscription
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/billing"
S = Invoice.Status


@pytest.fixture
def invoice(issuer):
    return generate_for_period(subscription(price=3000, tax_rate="20"), JAN, FEB)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def member(workspace, role: str) -> APIClient:
    return client_for(MembershipFactory(workspace=workspace, role=role).user)


def outsider() -> APIClient:
    return member(WorkspaceFactory(), "owner")


def staff(*, superuser=False, perms=("change_invoice", "view_invoice")) -> APIClient:
    user = UserFactory(is_staff=True, is_superuser=superuser)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    return client_for(user)


def test_members_list_and_read_their_workspaces_invoices(invoice):
    client = member(invoice.workspace, "viewer")

    listed = client.get(f"{BASE}/invoices/").json()
    one = client.get(f"{BASE}/invoices/{invoice.pk}/").json()

    assert [row["number"] for row in listed["results"]] == ["INV-000001"]
    assert (one["status"], one["subtotal"], one["tax"], one["total"]) == ("open", 3000, 600,
                                                                          3600)
    lines = client.get(f"{BASE}/invoice-lines/", {"invoice": invoice.pk}).json()["results"]
    assert [(row["kind"], row["amount"]) for row in lines] == [("subscription", 3000)]


def test_other_tenants_see_no_invoice_and_no_line(invoice):
    client = outsider()

    assert client.get(f"{BASE}/invoices/").json()["results"] == []
    assert client.get(f"{BASE}/invoice-lines/").json()["results"] == []
    for path in ("", "pdf/"):
        assert client.get(f"{BASE}/invoices/{invoice.pk}/{path}").status_code == 404
    for action in ("void", "mark-paid", "mark-uncollectible"):
        assert client.post(f"{BASE}/invoices/{invoice.pk}/{action}/").status_code == 404


def test_the_pdf_downloads_as_a_named_pdf_whatever_accept_says(invoice):
    client = member(invoice.workspace, "viewer")

    response = client.get(f"{BASE}/invoices/{invoice.pk}/pdf/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_an_unknown_invoices_pdf_is_a_json_404(invoice):
    response = member(invoice.workspace, "viewer").get(f"{BASE}/invoices/999999/pdf/",
                                                       HTTP_ACCEPT="application/pdf")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner"])
def test_workspace_roles_cannot_void_mark_paid_or_write_off(invoice, role):
    client = member(invoice.workspace, role)

    for action in ("void", "mark-paid", "mark-uncollectible"):
        response = client.post(f"{BASE}/invoices/{invoice.pk}/{action}/")
        assert response.status_code == 403, action
        assert response.json()["code"] == "permission_denied"
    assert Invoice.objects.get(pk=invoice.pk).status == S.OPEN


def test_staff_mark_paid_then_a_void_is_409(invoice):
    client = staff(superuser=True)

    paid = client.post(f"{BASE}/invoices/{invoice.pk}/mark-paid/",
                       {"reference": "TRF-1"}, format="json")
    voided = client.post(f"{BASE}/invoices/{invoice.pk}/void/")

    assert paid.status_code == 200
    assert (paid.json()["status"], paid.json()["amount_paid"]) == ("paid", 3600)
    assert voided.status_code == 409
    assert voided.json()["code"] == "invalid_state"
    assert Invoice.objects.get(pk=invoice.pk).status == S.PAID


def test_staff_with_the_permission_act_in_a_workspace_where_they_are_only_members(invoice):
    user = MembershipFactory(workspace=invoice.workspace, role="member",
                             user=UserFactory(is_staff=True)).user
    user.user_permissions.add(Permission.objects.get(codename="change_invoice"))

    response = client_for(user).post(f"{BASE}/invoices/{invoice.pk}/mark-uncollectible/")

    assert response.status_code == 200
    assert response.json()["status"] == "uncollectible"


def test_a_bad_amount_is_a_structured_400(invoice):
    response = staff(superuser=True).post(f"{BASE}/invoices/{invoice.pk}/mark-paid/",
                                          {"amount": "lots"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["amount"]


def test_invoices_are_read_only(invoice):
    client = staff(superuser=True)

    assert client.post(f"{BASE}/invoices/", {}, format="json").status_code == 405
    assert client.patch(f"{BASE}/invoices/{invoice.pk}/", {"total": 1},
                        format="json").status_code == 405
    assert client.delete(f"{BASE}/invoices/{invoice.pk}/").status_code == 405


# --- preview ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_preview_the_next_invoice(invoice, role):
    workspace = invoice.workspace
    Invoice.objects.all().delete()  # the period is not invoiced yet

    response = member(workspace, role).post(f"{BASE}/invoices/preview/",
                                            {"workspace": workspace.pk}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["subtotal"], body["tax"], body["total"]) == (3000, 600, 3600)
    assert [line["kind"] for line in body["lines"]] == ["subscription"]
    assert not Invoice.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_may_not_preview(invoice, role):
    response = member(invoice.workspace, role).post(
        f"{BASE}/invoices/preview/", {"workspace": invoice.workspace_id}, format="json")

    assert response.status_code == 403


def test_another_tenants_workspace_is_no_such_workspace(invoice):
    response = outsider().post(f"{BASE}/invoices/preview/",
                               {"workspace": invoice.workspace_id}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["workspace"]


def test_staff_may_preview_any_workspace(invoice):
    response = staff(perms=("view_invoice",)).post(
        f"{BASE}/invoices/preview/", {"workspace": invoice.workspace_id}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize("body", [{}, {"workspace": "x"}, {"workspace": -1}, [1]])
def test_a_malformed_preview_request_is_400(invoice, body):
    response = member(invoice.workspace, "owner").post(f"{BASE}/invoices/preview/", body,
                                                       format="json")

    assert response.status_code == 400


def test_a_workspace_without_a_subscription_has_nothing_to_preview(db):
    workspace = WorkspaceFactory()

    response = member(workspace, "owner").post(f"{BASE}/invoices/preview/",
                                               {"workspace": workspace.pk}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "no_subscription"
