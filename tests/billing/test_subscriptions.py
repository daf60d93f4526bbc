"""Subscriptions on a test clock: a trial converts to active, a mid-period upgrade leaves
the hand-computed proration lines, cancel/pause/resume follow the state machine, and
every change is on the timeline and announced."""

from datetime import timedelta

import pytest

from billing.models import InvoiceLine, Subscription
from billing.services import subscriptions as services
from billing.services.clock import advance_clock
from core.api.errors import ApiError
from tests.factories import CouponFactory, PlanFactory, SubscriptionFactory

from .subscriptions_support import announced, at, billing_staff, team, timeline

FIXTURES = (announced,)  # used by name
pytestmark = pytest.mark.django_db
S = Subscription.Status


@pytest.fixture
def staff(db):
    return billing_staff("change_testclock", "view_testclock")


def test_a_14_day_trial_converts_to_active_on_the_test_clock(staff, announced):
    t0 = at(2026, 1, 10, 12)
    crew = team(clock_at=t0)
    plan = PlanFactory(code="pro", trial_days=14, price=3000)

    sub = services.subscribe(workspace=crew.workspace, plan=plan, by=crew.users["owner"])
    assert sub.status == S.TRIALING
    assert sub.trial_end == at(2026, 1, 24, 12)
    assert (sub.current_period_start, sub.current_period_end) == (t0, sub.trial_end)

    advance_clock(crew.workspace, at(2026, 1, 24, 11, 59), by=staff)  # a minute early
    sub.refresh_from_db()
    assert sub.status == S.TRIALING

    result = advance_clock(crew.workspace, at(2026, 1, 24, 12), by=staff)
    sub.refresh_from_db()
    assert result.subscriptions_advanced == 1
    assert sub.status == S.ACTIVE
    # The first paid period starts when the trial ends, a month long.
    assert (sub.current_period_start, sub.current_period_end) == \
        (at(2026, 1, 24, 12), at(2026, 2, 24, 12))
    assert timeline(sub) == ["billing.subscription.created", "billing.subscription.activated"]
    assert [(e["status"], e["previous_status"], e["change"]) for e in announced] == \
        [("trialing", "", "created"), ("active", "trialing", "activated")]


def test_a_workspace_gets_one_trial_only():
    crew = team(clock_at=at(2026, 1, 1))
    plan = PlanFactory(trial_days=14)
    first = services.subscribe(workspace=crew.workspace, plan=plan)
    services.cancel(first, at_period_end=False)
    second = services.subscribe(workspace=crew.workspace, plan=plan)
    assert second.status == S.ACTIVE and second.trial_end is None


def test_a_mid_period_upgrade_credits_the_old_plan_and_charges_the_new(staff, announced):
    crew = team(clock_at=at(2026, 4, 1))
    basic = PlanFactory(code="basic", name="Basic", price=1001)
    pro = PlanFactory(code="pro", name="Pro", price=4999)
    sub = services.subscribe(workspace=crew.workspace, plan=basic, by=crew.users["admin"])
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 4, 1),
                                                                  at(2026, 5, 1))
    advance_clock(crew.workspace, at(2026, 4, 16, 10), by=staff)

    services.change_plan(sub, pro, by=crew.users["admin"])

    # By hand: April has 30 days; from 16 April to 1 May 15 are left.
    #   credit  1001 x 15 / 30 = 500.5  -> -501  (half up, away from zero)
    #   charge  4999 x 15 / 30 = 2499.5 -> 2500
    lines = list(InvoiceLine.objects.filter(subscription=sub).order_by("id"))
    assert [(line.kind, line.invoice_id, line.amount) for line in lines] == \
        [("proration", None, -501), ("proration", None, 2500)]
    credit, charge = lines
    assert credit.description == "Unused time on Basic (15 of 30 days)"
    assert charge.description == "Remaining time on Pro (15 of 30 days)"
    assert (credit.quantity, charge.quantity) == (15, 15)
    assert str(charge.unit_amount) == "166.633333"  # 4999 / 30 per day
    assert credit.period_end == charge.period_end == at(2026, 5, 1)
    assert credit.currency == "USD"
    sub.refresh_from_db()
    assert sub.plan == pro and sub.status == S.ACTIVE
    # The period is unchanged: the upgrade does not move the billing date.
    assert sub.current_period_end == at(2026, 5, 1)
    assert timeline(sub)[-1] == "billing.subscription.plan_changed"
    assert announced[-1] == {"subscription": sub.pk, "plan": "pro", "status": "active",
                             "previous_plan": "basic", "previous_status": "active",
                             "change": "plan_changed"}


def test_a_downgrade_credits_more_than_it_charges():
    crew = team(clock_at=at(2026, 4, 1))
    pro, basic = PlanFactory(price=4999), PlanFactory(price=1001)
    sub = services.subscribe(workspace=crew.workspace, plan=pro)
    crew.workspace.billing_test_clock = None
    _move(crew.workspace, at(2026, 4, 21))  # 10 of 30 days left

    services.change_plan(sub, basic)

    amounts = list(InvoiceLine.objects.filter(subscription=sub).order_by("id")
                   .values_list("amount", flat=True))
    # 4999 x 10 / 30 = 1666.33 -> -1666 ; 1001 x 10 / 30 = 333.67 -> 334
    assert amounts == [-1666, 334]


def test_without_proration_or_in_a_trial_no_lines_are_left():
    crew = team(clock_at=at(2026, 4, 1))
    a, b, c = PlanFactory(price=1000), PlanFactory(price=2000), PlanFactory(price=3000)
    sub = services.subscribe(workspace=crew.workspace, plan=a)
    _move(crew.workspace, at(2026, 4, 10))
    services.change_plan(sub, b, prorate=False)
    assert not InvoiceLine.objects.filter(subscription=sub).exists()

    other = team(clock_at=at(2026, 4, 1))
    trial = services.subscribe(workspace=other.workspace, plan=PlanFactory(trial_days=14))
    services.change_plan(trial, c)
    assert trial.plan == c and trial.status == S.TRIALING
    assert not InvoiceLine.objects.filter(subscription=trial).exists()


@pytest.mark.parametrize(("plan_kwargs", "code"), [
    ({"currency": "EUR"}, "currency_mismatch"),
    ({"interval": "year"}, "interval_mismatch"),
    ({"status": "archived"}, "plan_unavailable"),
    ({"is_public": False}, "plan_unavailable"),
])
def test_plan_changes_that_cannot_be_prorated_or_offered_are_refused(plan_kwargs, code):
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    with pytest.raises(ApiError) as refused:
        services.change_plan(sub, PlanFactory(**plan_kwargs), by=crew.users["owner"])
    assert (refused.value.status_code, refused.value.error_code) == (400, code)
    assert "plan" in refused.value.errors
    assert not InvoiceLine.objects.exists()


def test_changing_to_the_same_plan_is_refused():
    crew = team(clock_at=at(2026, 4, 1))
    plan = PlanFactory()
    sub = services.subscribe(workspace=crew.workspace, plan=plan)
    with pytest.raises(ApiError) as refused:
        services.change_plan(sub, plan)
    assert refused.value.error_code == "same_plan"


def test_private_plans_are_assigned_by_staff_only():
    crew = team(clock_at=at(2026, 4, 1))
    private = PlanFactory(is_public=False)
    with pytest.raises(ApiError) as refused:
        services.subscribe(workspace=crew.workspace, plan=private, by=crew.users["owner"])
    assert refused.value.error_code == "plan_unavailable"
    staff = billing_staff("change_subscription")
    sub = services.subscribe(workspace=crew.workspace, plan=private, by=staff)
    assert sub.plan == private and sub.created_by == staff


def test_one_live_subscription_per_workspace():
    crew = team(clock_at=at(2026, 4, 1))
    services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    with pytest.raises(ApiError) as refused:
        services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    assert (refused.value.status_code, refused.value.error_code) == (409, "subscription_exists")


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_may_not_change_the_subscription(role):
    crew = team(clock_at=at(2026, 4, 1))
    plan = PlanFactory()
    with pytest.raises(ApiError) as refused:
        services.subscribe(workspace=crew.workspace, plan=plan, by=crew.users[role])
    assert refused.value.status_code == 403
    sub = services.subscribe(workspace=crew.workspace, plan=plan, by=crew.users["owner"])
    for call in (lambda: services.cancel(sub, by=crew.users[role]),
                 lambda: services.pause(sub, by=crew.users[role]),
                 lambda: services.change_plan(sub, PlanFactory(), by=crew.users[role]),
                 lambda: services.redeem_coupon(sub, CouponFactory().code, by=crew.users[role])):
        with pytest.raises(ApiError) as refused:
            call()
        assert refused.value.status_code == 403
    sub.refresh_from_db()
    assert (sub.status, sub.plan, sub.cancel_at_period_end, sub.coupon) == \
        (S.ACTIVE, plan, False, None)


def test_someone_of_another_workspace_gets_404():
    crew, stranger = team(), team()
    sub = SubscriptionFactory(workspace=crew.workspace)
    with pytest.raises(ApiError) as refused:
        services.pause(sub, by=stranger.users["owner"])
    assert refused.value.status_code == 404


def test_cancel_at_period_end_bills_to_the_end_then_ends(staff, announced):
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    _move(crew.workspace, at(2026, 4, 20))
    services.cancel(sub, at_period_end=True, by=crew.users["owner"])
    services.cancel(sub, at_period_end=True, by=crew.users["owner"])  # asking twice: once
    sub.refresh_from_db()
    assert sub.status == S.ACTIVE and sub.cancel_at_period_end
    assert sub.cancelled_at == at(2026, 4, 20)

    advance_clock(crew.workspace, at(2026, 6, 15), by=staff)
    sub.refresh_from_db()
    assert sub.status == S.ENDED
    assert sub.ended_at == at(2026, 5, 1)  # the period's end, not the clock's time
    assert timeline(sub) == ["billing.subscription.created",
                             "billing.subscription.cancel_scheduled",
                             "billing.subscription.ended"]
    assert announced[-1]["status"] == "ended"
    assert services.live_subscription(crew.workspace.pk) is None


def test_cancel_now_stops_at_once_and_frees_the_workspace():
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    _move(crew.workspace, at(2026, 4, 3))
    services.cancel(sub, at_period_end=False, by=crew.users["admin"])
    assert sub.status == S.CANCELLED and sub.ended_at == at(2026, 4, 3)
    with pytest.raises(ApiError) as refused:
        services.cancel(sub, at_period_end=False)
    assert (refused.value.status_code, refused.value.error_code) == (409, "invalid_state")
    assert services.subscribe(workspace=crew.workspace, plan=PlanFactory()).status == S.ACTIVE


def test_a_trial_cancelled_at_period_end_ends_with_the_trial(staff):
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(trial_days=7))
    services.cancel(sub)
    advance_clock(crew.workspace, at(2026, 4, 30), by=staff)
    sub.refresh_from_db()
    assert sub.status == S.ENDED and sub.ended_at == at(2026, 4, 8)


def test_pause_holds_the_period_and_resume_restarts_a_lapsed_one(staff):
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    _move(crew.workspace, at(2026, 4, 10))
    services.pause(sub, by=crew.users["owner"])
    assert sub.status == S.PAUSED and sub.paused_at == at(2026, 4, 10)
    with pytest.raises(ApiError) as refused:
        services.pause(sub)
    assert refused.value.error_code == "invalid_state"

    advance_clock(crew.workspace, at(2026, 6, 2), by=staff)  # two period ends pass
    sub.refresh_from_db()
    assert sub.status == S.PAUSED
    assert sub.current_period_end == at(2026, 5, 1)  # not renewed while paused

    services.resume(sub, by=crew.users["owner"])
    assert sub.status == S.ACTIVE and sub.paused_at is None
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 6, 2),
                                                                  at(2026, 7, 2))
    assert sub.metadata["anchor_day"] == 2


def test_resume_inside_the_period_keeps_it():
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    services.pause(sub)
    _move(crew.workspace, at(2026, 4, 5))
    services.resume(sub)
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 4, 1),
                                                                  at(2026, 5, 1))


def test_a_trial_cannot_be_paused_and_an_active_one_not_resumed():
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(trial_days=14))
    with pytest.raises(ApiError) as refused:
        services.pause(sub)
    assert (refused.value.status_code, refused.value.errors) == (409, {"status": ["trialing"]})
    with pytest.raises(ApiError):
        services.resume(sub)


def test_renewals_walk_every_period_and_keep_the_anchor_day(staff):
    crew = team(clock_at=at(2026, 1, 31, 9))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    result = advance_clock(crew.workspace, at(2026, 5, 1), by=staff)
    sub.refresh_from_db()
    assert result.subscriptions_advanced == 1
    # 31 Jan -> 28 Feb -> 31 Mar -> 30 Apr -> (31 May, after the clock's time)
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 4, 30, 9),
                                                                  at(2026, 5, 31, 9))
    assert timeline(sub).count("billing.subscription.renewed") == 3


def test_process_due_is_idempotent_and_leaves_other_clocks_alone():
    crew, other = team(clock_at=at(2026, 4, 1)), team(clock_at=at(2026, 4, 1))
    mine = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    theirs = services.subscribe(workspace=other.workspace, plan=PlanFactory())
    assert services.process_due(now=at(2026, 5, 2), workspace_id=crew.workspace.pk) == 1
    assert services.process_due(now=at(2026, 5, 2), workspace_id=crew.workspace.pk) == 0
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.current_period_end == at(2026, 6, 1)
    assert theirs.current_period_end == at(2026, 5, 1)
    assert services.advance(mine, at(2026, 5, 2)) == []


def test_the_real_time_run_skips_workspaces_on_a_test_clock():
    from django.utils import timezone

    frozen = team(clock_at=at(2020, 1, 1))
    real = team()
    now = timezone.now()
    on_clock = SubscriptionFactory(workspace=frozen.workspace, started_at=now - timedelta(60),
                                   current_period_end=now - timedelta(days=1))
    live = SubscriptionFactory(workspace=real.workspace, started_at=now - timedelta(60),
                               current_period_end=now - timedelta(days=1))
    from billing.tasks.periods import process_due_subscriptions

    assert process_due_subscriptions() == 1
    on_clock.refresh_from_db()
    live.refresh_from_db()
    assert on_clock.current_period_end == now - timedelta(days=1)
    assert live.current_period_end > now


def test_a_past_due_subscription_renews_within_grace_then_is_held(settings):
    settings.BILLING_GRACE_DAYS = 14
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    sub.mark_past_due()
    sub.past_due_since = at(2026, 4, 25)
    sub.save()
    # The 1 May boundary falls 6 days into the grace period: renewed.
    assert services.advance(sub, at(2026, 5, 2)) == ["renewed"]
    # The 1 June boundary is past the grace (ended 9 May): held on its period.
    assert services.advance(sub, at(2026, 6, 5)) == []
    sub.refresh_from_db()
    assert sub.status == S.PAST_DUE
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 5, 1),
                                                                  at(2026, 6, 1))


def _move(workspace, to):
    """Move the workspace's clock without processing (a plain setter for set-ups)."""
    from billing.models import TestClock

    TestClock.objects.filter(workspace=workspace).update(frozen_time=to)


def test_a_plan_the_workspace_outgrows_is_refused_with_402(features):
    from billing.models import Entitlement, PlanFeature

    crew = team(clock_at=at(2026, 4, 1))  # four members: four seats used
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(code="team"))
    small = PlanFactory(code="small", name="Small")
    PlanFeature.objects.create(plan=small, feature=features["seats"], limit=3)
    with pytest.raises(ApiError) as refused:
        services.change_plan(sub, small, by=crew.users["owner"])
    assert (refused.value.status_code, refused.value.error_code) == (402, "limit_reached")
    assert refused.value.errors == {"feature": "seats", "limit": 3, "used": 4,
                                    "requested": 0, "resets_at": None}
    assert "remove 1 first" in refused.value.message
    sub.refresh_from_db()
    assert sub.plan.code == "team" and not InvoiceLine.objects.exists()
    # A staff override of seats lets the workspace move (the override decides).
    Entitlement.objects.create(workspace=crew.workspace, feature=features["seats"], limit=10)
    assert services.change_plan(sub, small).plan == small
