"""Invoices in the back office: read-only pages with lines and the PDF; staff with the
permission void, mark paid or write off (a refusal is a message, not a 500); staff of
other workspaces get 404."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from billing.invoicing import generate_for_period
from billing.models import Invoice
from tests.billing.invoices_support import FEB, JAN, subscription
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Invoice.Status


def url(name: str, *args) -> str:
    return reverse(f"admin:billing_{name}", args=args)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def invoice(issuer):
    return generate_for_period(subscription(price=3000), JAN, FEB)


def staff_in(client, workspace, *, role="member", perms=("view_invoice", "change_invoice",
                                                          "view_invoiceline")):
    user = UserFactory(is_staff=True)
    if workspace is not None:
        MembershipFactory(workspace=workspace, user=user, role=role)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="billing",
                                                         codename__in=perms))
    client.force_login(user)
    return user


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


def test_the_invoice_page_shows_lines_pdf_link_and_actions(root, invoice):
    page = root.get(url("invoice_change", invoice.pk))

    assert page.status_code == 200
    html = page.content.decode()
    assert "INV-000001.pdf" in html and url("invoice_pdf", invoice.pk) in html
    assert url("invoice_void", invoice.pk) in html
    assert url("invoice_mark_paid", invoice.pk) in html
    assert "USD 30.00" in html  # the fee line
    assert root.get(url("invoice_changelist")).status_code == 200
    assert root.get(url("invoiceline_changelist")).status_code == 200


def test_the_pdf_downloads(root, invoice):
    response = root.get(url("invoice_pdf", invoice.pk))

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_mark_paid_from_the_page_records_the_reference(root, invoice):
    response = root.post(url("invoice_mark_paid", invoice.pk),
                         {"payment_reference": "TRF 42"}, follow=True)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.metadata["payment_reference"]) == (S.PAID, "TRF 42")
    assert "Invoice INV-000001 marked paid." in said(response)


def test_a_change_the_state_refuses_is_a_message(root, invoice):
    root.post(url("invoice_mark_paid", invoice.pk))

    response = root.post(url("invoice_void", invoice.pk), follow=True)

    assert response.status_code == 200
    assert Invoice.objects.get(pk=invoice.pk).status == S.PAID
    assert any("cannot be voided" in m for m in said(response))


def test_an_action_page_asks_for_confirmation_and_changes_nothing(root, invoice):
    response = root.get(url("invoice_void", invoice.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Cancel the invoice: nothing is owed." in html
    assert 'type="submit" value="Void"' in html
    assert Invoice.objects.get(pk=invoice.pk).status == S.OPEN


def test_an_action_the_state_forbids_says_so_without_a_form(root, invoice):
    root.post(url("invoice_mark_paid", invoice.pk))

    html = root.get(url("invoice_void", invoice.pk)).content.decode()

    assert "This invoice is paid: it cannot be voided." in html
    assert 'value="Void"' not in html


def test_staff_without_the_permission_are_told_no(client, invoice):
    staff_in(client, invoice.workspace, perms=("view_invoice",))

    response = client.post(url("invoice_void", invoice.pk), follow=True)

    assert Invoice.objects.get(pk=invoice.pk).status == S.OPEN
    assert any("Only staff with the permission" in m for m in said(response))


def test_staff_with_the_permission_act_whatever_their_workspace_role(client, invoice):
    staff_in(client, invoice.workspace, role="viewer")

    client.post(url("invoice_mark_uncollectible", invoice.pk))

    assert Invoice.objects.get(pk=invoice.pk).status == S.UNCOLLECTIBLE


def test_staff_of_another_workspace_get_404(client, invoice):
    staff_in(client, None)

    for name in ("invoice_change", "invoice_pdf"):
        assert client.get(url(name, invoice.pk)).status_code == 404
    assert client.post(url("invoice_void", invoice.pk)).status_code == 404
    assert Invoice.objects.get(pk=invoice.pk).status == S.OPEN


def test_changelist_actions_go_through_the_services(root, issuer):
    invoices = [generate_for_period(subscription(price=1000), JAN, FEB) for _ in range(2)]
    root.post(url("invoice_mark_paid", invoices[0].pk))

    response = root.post(url("invoice_changelist"),
                         {"action": "mark_uncollectible_selected",
                          "_selected_action": [i.pk for i in invoices]}, follow=True)

    statuses = [Invoice.objects.get(pk=i.pk).status for i in invoices]
    assert statuses == [S.PAID, S.UNCOLLECTIBLE]
    messages = said(response)
    assert any("cannot be marked uncollectible" in m for m in messages)
    assert "Marked uncollectible: INV-000002." in messages


def test_invoices_cannot_be_added_edited_or_deleted_in_the_admin(root, invoice):
    assert root.get(url("invoice_add")).status_code == 403
    assert root.post(url("invoice_delete", invoice.pk), {"post": "yes"}).status_code == 403
    root.post(url("invoice_change", invoice.pk), {"memo": "changed"})
    assert Invoice.objects.get(pk=invoice.pk).memo == ""
