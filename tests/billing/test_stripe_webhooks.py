"""POST /api/v1/billing/webhooks/stripe/: signed as Stripe signs, each event applied
once.  The same webhook event delivered twice, or out of order, changes state once; a bad
signature gets 400 and changes nothing."""

import time

import pytest
from rest_framework.test import APIClient

from billing.models import BillingEvent, Invoice, Subscription
from workspaces.models import Activity

from .h4_support import billed_workspace, stripe_api, stripe_provider, stripe_settings
from .stripe_server import intent_event, sign

FIXTURES = (stripe_api, stripe_provider, stripe_settings)
pytestmark = pytest.mark.django_db
URL = "/api/v1/billing/webhooks/stripe/"


def deliver(payload: str, signature: str | None = None):
    headers = {"HTTP_STRIPE_SIGNATURE": sign(payload) if signature is None else signature}
    return APIClient().post(URL, payload, content_type="application/json", **headers)


@pytest.fixture
def billed(stripe_provider):
    return billed_workspace(stripe_provider)


def state(invoice, sub):
    invoice.refresh_from_db()
    sub.refresh_from_db()
    return (invoice.status, invoice.amount_paid, invoice.payment_attempts, sub.status,
            Activity.objects.filter(workspace=invoice.workspace).count())


def test_a_signed_success_pays_the_invoice(billed):
    *_, _sub, invoice = billed
    now = int(time.time())
    response = deliver(intent_event("succeeded", invoice=invoice, event_id="evt_1",
                                    created=now, intent_id="pi_1"))
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "event": "evt_1", "status": "processed",
                               "duplicate": False}
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == 3000
    assert invoice.external_id == "pi_1"
    event = BillingEvent.objects.get(event_id="evt_1")
    assert event.workspace_id == invoice.workspace_id and event.processed_at is not None


def test_the_same_event_twice_changes_state_once(billed):
    *_, sub, invoice = billed
    payload = intent_event("payment_failed", invoice=invoice, event_id="evt_f",
                           created=int(time.time()), intent_id="pi_f")
    assert deliver(payload).json()["status"] == "processed"
    after_first = state(invoice, sub)
    assert after_first[2] == 1 and after_first[3] == Subscription.Status.PAST_DUE
    again = deliver(payload)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert state(invoice, sub) == after_first
    assert BillingEvent.objects.filter(event_id="evt_f").count() == 1


def test_a_bad_signature_is_refused_and_changes_nothing(billed, stripe_settings):
    *_, sub, invoice = billed
    payload = intent_event("succeeded", invoice=invoice, event_id="evt_bad",
                           created=int(time.time()))
    before = state(invoice, sub)
    for signature in ("", "t=1,v1=deadbeef", sign(payload, secret="whsec_other"),
                      sign(payload, timestamp=int(time.time()) - 3600)):
        response = deliver(payload, signature=signature)
        assert response.status_code == 400, signature
        assert response.json()["code"] == "invalid_signature"
    tampered = payload.replace('"amount": 3000', '"amount": 1')
    response = deliver(tampered, signature=sign(payload))
    assert response.status_code == 400
    assert state(invoice, sub) == before
    assert not BillingEvent.objects.exists()


def test_a_failure_delivered_after_the_success_never_unpays(billed):
    *_, sub, invoice = billed
    now = int(time.time())
    success = intent_event("succeeded", invoice=invoice, event_id="evt_ok", created=now,
                           intent_id="pi_2")
    failure = intent_event("payment_failed", invoice=invoice, event_id="evt_ko",
                           created=now - 60, intent_id="pi_1")
    assert deliver(success).json()["status"] == "processed"
    paid = state(invoice, sub)
    answer = deliver(failure)
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    assert state(invoice, sub) == paid
    assert paid[0] == Invoice.Status.PAID and paid[3] == Subscription.Status.ACTIVE


def test_an_older_failure_arriving_late_is_ignored(billed):
    *_, sub, invoice = billed
    now = int(time.time())
    newer = intent_event("payment_failed", invoice=invoice, event_id="evt_2", created=now,
                         intent_id="pi_b", message="Insufficient funds.")
    older = intent_event("payment_failed", invoice=invoice, event_id="evt_1", created=now - 600,
                         intent_id="pi_a", message="Old news.")
    deliver(newer)
    after = state(invoice, sub)
    assert deliver(older).json()["status"] == "ignored"
    assert state(invoice, sub) == after
    invoice.refresh_from_db()
    assert invoice.last_payment_error == "Insufficient funds."


def test_success_after_a_failure_pays_and_recovers(billed):
    *_, sub, invoice = billed
    now = int(time.time())
    deliver(intent_event("payment_failed", invoice=invoice, event_id="evt_a", created=now - 60,
                         intent_id="pi_a"))
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.PAST_DUE
    deliver(intent_event("succeeded", invoice=invoice, event_id="evt_b", created=now,
                         intent_id="pi_b"))
    status, amount_paid, _, sub_status, _ = state(invoice, sub)
    assert (status, amount_paid, sub_status) == (Invoice.Status.PAID, 3000,
                                                 Subscription.Status.ACTIVE)


def test_events_billing_does_not_act_on_are_stored_and_ignored(billed):
    *_, invoice = billed
    payload = ('{"id": "evt_c", "object": "event", "type": "customer.updated", '
               f'"created": {int(time.time())}, "data": {{"object": {{"id": "cus_1"}}}}}}')
    response = deliver(payload)
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    nameless = intent_event("succeeded", invoice=invoice, event_id="evt_n",
                            created=int(time.time())).replace(
        f'"invoice_id": "{invoice.pk}"', '"invoice_id": "nope"')
    assert deliver(nameless).json()["status"] == "ignored"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


def test_garbage_is_a_400_not_a_500(billed):
    for body in ("not json", "[]", '{"no": "id"}'):
        assert deliver(body).status_code == 400


def test_without_a_webhook_secret_nothing_is_accepted(billed, stripe_settings):
    *_, invoice = billed
    stripe_settings.STRIPE_WEBHOOK_SECRET = ""
    payload = intent_event("succeeded", invoice=invoice, event_id="evt_s",
                           created=int(time.time()))
    response = deliver(payload)
    assert response.status_code == 503 and response.json()["code"] == "not_configured"
    assert not BillingEvent.objects.exists()
