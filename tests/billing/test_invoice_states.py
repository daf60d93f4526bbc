"""Invoice states through the services: draft -> open -> paid / void / uncollectible,
409 for a change the state does not allow, staff only for the decisions."""

import pytest
from django.contrib.auth.models import Permission

from billing import events as billing_events
from billing.invoicing import generate_for_period
from billing.models import Invoice
from billing.services import invoices as services
from core.api.errors import ApiError
from tests.billing.invoices_support import FEB, JAN, Heard, subscription
from tests.factories import InvoiceFactory, UserFactory
from workspaces.models import Activity

pytestmark = pytest.mark.django_db
S = Invoice.Status


@pytest.fixture
def staff():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_invoice"))
    return user


@pytest.fixture
def invoice(issuer):
    return generate_for_period(subscription(price=3000), JAN, FEB)


def refused(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_staff_mark_an_open_invoice_paid_with_the_transfer_reference(
        invoice, staff, django_capture_on_commit_callbacks):
    with Heard() as heard, django_capture_on_commit_callbacks(execute=True):
        paid = services.mark_paid(invoice, staff, reference="SEPA 2026-02-03 #88")

    assert (paid.status, paid.amount_paid, paid.paid_at) == (S.PAID, 3000, FEB)
    assert paid.metadata["payment_reference"] == "SEPA 2026-02-03 #88"
    assert heard.names() == [billing_events.INVOICE_PAID]
    entry = Activity.objects.get(verb="billing.invoice.paid", target_id=str(invoice.pk))
    assert entry.actor == staff


def test_a_part_payment_keeps_the_invoice_open_until_the_rest_arrives(invoice, staff):
    part = services.mark_paid(invoice, staff, amount=1000)
    assert (part.status, part.amount_paid) == (S.OPEN, 1000)

    rest = services.mark_paid(invoice, staff)
    assert (rest.status, rest.amount_paid) == (S.PAID, 3000)


def test_paying_more_than_is_due_is_refused(invoice, staff):
    error = refused(services.mark_paid, invoice, staff, amount=3001)
    assert (error.status_code, list(error.errors)) == (400, ["amount"])


def test_an_uncollectible_invoice_can_still_be_paid(invoice, staff):
    assert services.mark_uncollectible(invoice, staff).status == S.UNCOLLECTIBLE
    assert services.mark_paid(invoice, staff).status == S.PAID


@pytest.mark.parametrize("first, then", [
    ("mark_paid", "void"), ("mark_paid", "mark_uncollectible"), ("mark_paid", "mark_paid"),
    ("void", "mark_paid"), ("void", "void"), ("void", "mark_uncollectible"),
    ("mark_uncollectible", "mark_uncollectible"),
])
def test_a_change_the_state_does_not_allow_is_409(invoice, staff, first, then):
    getattr(services, first)(invoice, staff)
    before = Invoice.objects.get(pk=invoice.pk).status

    error = refused(getattr(services, then), invoice, staff)

    assert (error.status_code, error.error_code) == (409, "invalid_state")
    assert error.errors == {"status": [before]}
    assert Invoice.objects.get(pk=invoice.pk).status == before


def test_a_draft_is_finalised_once(issuer):
    draft = InvoiceFactory(issuer=issuer, total=1200, amount_due=1200)

    opened = services.finalize(draft)

    assert (opened.status, opened.number) == (S.OPEN, "INV-000001")
    assert refused(services.finalize, draft).status_code == 409
    assert refused(services.mark_uncollectible, InvoiceFactory(issuer=issuer),
                   None).status_code == 409  # a draft is not written off


@pytest.mark.parametrize("who", ["user", "staff without the permission", "inactive staff"])
def test_only_staff_with_the_permission_decide(invoice, who):
    user = {"user": lambda: UserFactory(),
            "staff without the permission": lambda: UserFactory(is_staff=True),
            "inactive staff": lambda: UserFactory(is_staff=True, is_superuser=True,
                                                  is_active=False)}[who]()

    for action in ("void", "mark_paid", "mark_uncollectible"):
        error = refused(getattr(services, action), invoice, user)
        assert error.status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).status == S.OPEN


def test_a_superuser_may_void(invoice):
    assert services.void(invoice, UserFactory(is_staff=True, is_superuser=True)).status == S.VOID
