"""Delivery: signed per Standard Webhooks, retried on the schedule (a test clock, no
sleeping), exhausted after the last attempt, logged with the signature redacted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories.webhooks import SECRET, WebhookEndpointFactory
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from webhooks.services import delivery, fanout

from .receiver import verified, verifies
from .support import emit, only_delivery

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def test_a_receiver_failing_twice_is_retried_on_the_schedule_and_succeeds(
        hook, endpoint, committed):
    hook.statuses = [500, 503]
    event = committed(emit, endpoint.workspace, "twice")
    first = only_delivery(endpoint)
    assert (first.status, first.attempts) == (Status.FAILED, 1)  # sent at once, failed
    # The second attempt is due about 5 s later (10 % jitter), not before.
    delay = (first.next_attempt_at - first.last_attempt_at).total_seconds()
    assert 4.5 <= delay <= 5.5
    assert committed(delivery.deliver_due, now=first.next_attempt_at - timedelta(seconds=1)) \
        == 0
    assert len(hook.received) == 1

    committed(delivery.deliver_due, now=first.next_attempt_at)
    second = only_delivery(endpoint)
    assert (second.status, second.attempts, second.last_status_code) == (Status.FAILED, 2, 503)
    delay = (second.next_attempt_at - second.last_attempt_at).total_seconds()
    assert 270 <= delay <= 330  # 5 minutes

    committed(delivery.deliver_due, now=second.next_attempt_at)
    done = only_delivery(endpoint)
    assert (done.status, done.attempts, done.next_attempt_at) == (Status.SUCCEEDED, 3, None)
    # The receiver verified every attempt with the library; one message id throughout.
    assert len(hook.received) == 3
    assert hook.ids() == [f"msg_{event.id}"] * 3
    for request in hook.received:
        body = verified(request, SECRET)
        assert body["type"] == "webhooks.test" and body["data"]["message"] == "twice"
    assert [a.succeeded for a in WebhookAttempt.objects.order_by("number")] == \
        [False, False, True]
    endpoint.refresh_from_db()
    assert (endpoint.failure_count, endpoint.first_failure_at) == (0, None)
    assert endpoint.last_success_at is not None


def test_after_the_last_attempt_the_delivery_is_exhausted(hook, endpoint, committed, settings):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0, 60, 600]
    settings.WEBHOOKS_RETRY_JITTER = 0
    hook.statuses = [500] * 10
    committed(emit, endpoint.workspace)
    for _ in range(2):
        due = only_delivery(endpoint).next_attempt_at
        committed(delivery.deliver_due, now=due)
    last = only_delivery(endpoint)
    assert (last.status, last.attempts, last.next_attempt_at) == (Status.EXHAUSTED, 3, None)
    assert last.finished_at is not None and "500" in last.last_error
    assert committed(delivery.deliver_due, now=timezone.now() + timedelta(days=2)) == 0
    assert len(hook.received) == 3


def test_the_log_keeps_the_request_with_the_signature_redacted_and_bodies_truncated(
        hook, db, committed, settings):
    settings.WEBHOOKS_LOG_BODY_CHARS = 50
    hook.answer_body = b"x" * 500
    endpoint = WebhookEndpointFactory(url=hook.url("/hook?token=receiver-secret"))
    committed(emit, endpoint.workspace, "a message long enough to be cut in the log " * 3)
    attempt = WebhookAttempt.objects.get()
    assert attempt.request_headers["webhook-signature"] == "v1,redacted"
    assert attempt.request_headers["webhook-id"] == hook.ids()[0]
    assert hook.received[0]["headers"]["webhook-signature"].startswith("v1,")
    assert SECRET not in str(attempt.request_headers)
    assert len(attempt.request_body) == 50 and len(attempt.response_body) == 50
    assert "receiver-secret" not in attempt.url and attempt.url.endswith("/hook?…")
    assert attempt.response_status == 200 and attempt.succeeded


def test_an_endpoint_pointing_at_a_private_address_is_refused_at_delivery(
        hook, db, committed, settings):
    # Stored before the guard ran (say the name was pointed at 127.0.0.1 afterwards).
    endpoint = WebhookEndpointFactory(url=hook.url())
    settings.WEBHOOKS_ALLOWED_HOSTS = []
    committed(emit, endpoint.workspace)
    refused = only_delivery(endpoint)
    assert refused.status == Status.EXHAUSTED  # retrying cannot help
    assert "loopback" in refused.last_error and "WEBHOOKS_ALLOWED_HOSTS" in refused.last_error
    assert hook.received == []


def test_events_reach_only_enabled_endpoints_that_want_them(hook, db, committed):
    wants_all = WebhookEndpointFactory(url=hook.url("/all"))
    workspace = wants_all.workspace
    wants_it = WebhookEndpointFactory(workspace=workspace, url=hook.url("/it"),
                                      event_types=["webhooks.test"])
    WebhookEndpointFactory(workspace=workspace, url=hook.url("/other"),
                           event_types=["crm.call.completed"])
    WebhookEndpointFactory(workspace=workspace, url=hook.url("/off"), is_enabled=False,
                           disabled_at=timezone.now())
    WebhookEndpointFactory(url=hook.url("/elsewhere"))  # another workspace
    committed(emit, workspace)
    assert sorted(r["path"] for r in hook.received) == ["/all", "/it"]
    assert WebhookMessage.objects.count() == 1
    assert set(WebhookDelivery.objects.values_list("endpoint", flat=True)) == \
        {wants_all.pk, wants_it.pk}


def test_a_workspace_without_endpoints_costs_one_query(db, django_assert_num_queries):
    from core.events import Event
    from tests.factories import WorkspaceFactory

    workspace = WorkspaceFactory()
    event = Event(name="webhooks.test", version=1, workspace_id=workspace.pk,
                  payload={"endpoint": 0, "message": "x"})
    with django_assert_num_queries(1):
        fanout.on_event(event)
    assert not WebhookMessage.objects.exists()


def test_the_same_event_dispatched_twice_is_one_message(hook, endpoint, committed):
    from core.events import Event

    event = Event(name="webhooks.test", version=1, workspace_id=endpoint.workspace_id,
                  payload={"endpoint": 0, "message": "x"})
    committed(fanout.on_event, event)
    committed(fanout.on_event, event)
    assert WebhookDelivery.objects.count() == 1 and len(hook.received) == 1


def test_a_failing_endpoint_is_disabled_after_the_period_and_its_owner_emailed(
        hook, db, committed, mailoutbox):
    from tests.factories import UserFactory

    owner = UserFactory(email="ops@example.com")
    endpoint = WebhookEndpointFactory(url=hook.url(), owner=owner)
    hook.statuses = [500] * 20
    committed(emit, endpoint.workspace)
    endpoint.refresh_from_db()
    started = endpoint.first_failure_at
    assert started is not None and endpoint.failure_count == 1
    # Four days on, still failing but within the period: enabled.
    committed(emit, endpoint.workspace)  # sent now (real time): the streak continues
    four_days = started + timedelta(days=4)
    committed(delivery.deliver_due, now=four_days)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and mailoutbox == []
    # Five days after the first failure, one more failure disables it.
    committed(delivery.deliver_due, now=started + timedelta(days=5, minutes=1))
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert "disabled automatically" in endpoint.disabled_reason
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ops@example.com"] and endpoint.url in mail.subject
    assert endpoint.disabled_reason in mail.body
    # Disabled: nothing more is sent, and new events make no deliveries.
    sent = len(hook.received)
    committed(delivery.deliver_due, now=started + timedelta(days=6))
    committed(emit, endpoint.workspace)
    assert len(hook.received) == sent
    assert len(mailoutbox) == 1


def test_a_success_ends_the_failure_streak(hook, endpoint, committed, settings):
    settings.WEBHOOKS_DISABLE_AFTER_SECONDS = 60
    hook.statuses = [500]
    committed(emit, endpoint.workspace)
    endpoint.refresh_from_db()
    assert endpoint.failure_count == 1
    committed(delivery.deliver_due, now=only_delivery(endpoint).next_attempt_at)
    endpoint.refresh_from_db()
    assert (endpoint.failure_count, endpoint.first_failure_at) == (0, None)
    hook.statuses = [500]
    later = timezone.now() + timedelta(minutes=10)  # past the period, a new streak
    committed(emit, endpoint.workspace)
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.failure_count == 1
    assert endpoint.first_failure_at < later


def test_an_ordered_endpoint_sends_a_message_only_after_the_earlier_ones(
        hook, db, committed):
    endpoint = WebhookEndpointFactory(url=hook.url("/ordered"), ordered=True)
    other = WebhookEndpointFactory(workspace=endpoint.workspace, url=hook.url("/unordered"))
    hook.by_path["/ordered"] = [500]  # message 1 to the ordered endpoint fails once
    first = committed(emit, endpoint.workspace, "one")
    second = committed(emit, endpoint.workspace, "two")
    ordered_ids = [r["headers"]["webhook-id"] for r in hook.received
                   if r["path"] == "/ordered"]
    assert ordered_ids == [f"msg_{first.id}"]  # message 2 waits
    assert [r["headers"]["webhook-id"] for r in hook.received if r["path"] == "/unordered"] \
        == [f"msg_{first.id}", f"msg_{second.id}"]
    waiting = WebhookDelivery.objects.get(endpoint=endpoint, message__event_id=second.id)
    assert waiting.status == Status.PENDING and waiting.attempts == 0
    # Due by its own time, but the beat task leaves it behind the failing one.
    assert delivery.due_ids(timezone.now(), 100) == []
    retry = WebhookDelivery.objects.get(endpoint=endpoint, message__event_id=first.id)
    committed(delivery.deliver_due, now=retry.next_attempt_at)
    ordered_ids = [r["headers"]["webhook-id"] for r in hook.received
                   if r["path"] == "/ordered"]
    assert ordered_ids == [f"msg_{first.id}", f"msg_{first.id}", f"msg_{second.id}"]
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint)
               .values_list("status", flat=True)) == {Status.SUCCEEDED}
    del other


def test_a_lease_stops_two_workers_sending_the_same_attempt(hook, endpoint, committed):
    hook.statuses = [500]
    committed(emit, endpoint.workspace)
    due = only_delivery(endpoint).next_attempt_at
    assert delivery._claim(only_delivery(endpoint).pk, due) is not None
    assert delivery._claim(only_delivery(endpoint).pk, due) is None  # leased meanwhile


def test_the_beat_task_queues_due_deliveries(hook, endpoint, committed):
    from webhooks import tasks

    hook.statuses = [500]
    committed(emit, endpoint.workspace)
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert committed(tasks.deliver_due) == 1
    assert only_delivery(endpoint).status == Status.SUCCEEDED
    assert verifies(hook.received[-1], SECRET)
    assert WebhookEndpoint.objects.get().failure_count == 0
