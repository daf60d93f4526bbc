"""The test clock: staff move a workspace's billing time forward (API, admin, service)
and every trial end, period end and cancellation due by then runs, period by period;
only staff may, and a clock never goes back."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from billing import clock as billing_clock
from billing.models import Invoice, Subscription, TestClock
from billing.services import subscriptions as services
from billing.services.clock import advance_clock
from core.api.errors import ApiError
from tests import factories as f
from tests.factories import MembershipFactory, PlanFactory

from .subscriptions_support import at, billing_staff, team

pytestmark = pytest.mark.django_db
S = Subscription.Status


def advance_url(clock) -> str:
    return reverse("billing-testclock-advance", args=[clock.pk])


@pytest.fixture
def staff(db, issuer):
    return billing_staff("change_testclock", "view_testclock", "change_subscription",
                         "view_subscription")


def test_billing_time_is_the_clock_where_there_is_one():
    crew, other = team(clock_at=at(2030, 1, 1)), team()
    assert billing_clock.now(crew.workspace.pk) == at(2030, 1, 1)
    assert billing_clock.now(other.workspace.pk) != at(2030, 1, 1)
    assert billing_clock.frozen_workspace_ids() == {crew.workspace.pk}


def test_one_advance_over_several_periods_bills_each_once(staff):
    crew = team(clock_at=at(2026, 1, 15))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(trial_days=14))
    result = advance_clock(crew.workspace, at(2026, 5, 1), by=staff)
    # The trial ends 29 Jan; periods anchored on the 29th: 28 Feb (clamped), 29 Mar,
    # 29 Apr close before 1 May: three invoices, in order.
    periods = list(Invoice.objects.filter(subscription=sub).order_by("period_start")
                   .values_list("period_start", "period_end"))
    assert periods == [(at(2026, 1, 29), at(2026, 2, 28)), (at(2026, 2, 28), at(2026, 3, 29)),
                       (at(2026, 3, 29), at(2026, 4, 29))]
    assert result.subscriptions_advanced == 1 and result.clock.frozen_time == at(2026, 5, 1)
    assert isinstance(result.dunning, dict) and result.notes == []  # dunning ran too
    advance_clock(crew.workspace, at(2026, 5, 1), by=staff)  # a retry changes nothing
    assert Invoice.objects.filter(subscription=sub).count() == 3


def test_advancing_creates_the_clock_when_there_is_none(staff):
    crew = team()
    advance_clock(crew.workspace, at(2031, 1, 1), by=staff)
    assert TestClock.objects.get(workspace=crew.workspace).frozen_time == at(2031, 1, 1)


def test_a_clock_only_moves_forward(staff):
    crew = team(clock_at=at(2026, 6, 1))
    with pytest.raises(ApiError) as refused:
        advance_clock(crew.workspace, at(2026, 5, 1), by=staff)
    assert (refused.value.status_code, refused.value.error_code) == (400, "clock_backwards")
    assert TestClock.objects.get(workspace=crew.workspace).frozen_time == at(2026, 6, 1)


def test_only_staff_with_the_permission_move_a_clock():
    crew = team(clock_at=at(2026, 6, 1))
    for who in (crew.users["owner"], billing_staff("view_testclock")):
        with pytest.raises(ApiError) as refused:
            advance_clock(crew.workspace, at(2026, 7, 1), by=who)
        assert refused.value.status_code == 403
    assert TestClock.objects.get(workspace=crew.workspace).frozen_time == at(2026, 6, 1)


# --- API door ----------------------------------------------------------------------------


def test_staff_advance_through_the_api(staff_client, issuer):
    crew = team(clock_at=at(2026, 4, 1))
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory(trial_days=14))
    clock = TestClock.objects.get(workspace=crew.workspace)
    response = staff_client.post(advance_url(clock), {"to": "2026-04-15T00:00:00Z"},
                                 format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["clock"]["frozen_time"] == "2026-04-15T00:00:00Z"
    assert body["subscriptions_advanced"] == 1
    sub.refresh_from_db()
    assert sub.status == S.ACTIVE


@pytest.mark.parametrize(("body", "code"), [
    ({}, "invalid"), ({"to": "soon"}, "invalid"),
    ({"to": "2026-03-01T00:00:00Z"}, "clock_backwards"),
])
def test_api_refusals_are_structured(staff_client, body, code):
    clock = f.TestClockFactory(frozen_time=at(2026, 4, 1))
    response = staff_client.post(advance_url(clock), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code and "to" in response.json()["errors"]


def test_workspace_owners_may_not_advance_and_strangers_do_not_see_the_clock():
    crew = team(clock_at=at(2026, 4, 1))
    clock = TestClock.objects.get(workspace=crew.workspace)
    response = crew.client("owner").post(advance_url(clock), {"to": "2026-05-01T00:00:00Z"},
                                         format="json")
    assert response.status_code == 403 and response.json()["code"] == "staff_only"
    response = team().client("owner").post(advance_url(clock),
                                           {"to": "2026-05-01T00:00:00Z"}, format="json")
    assert response.status_code == 404
    assert TestClock.objects.get(pk=clock.pk).frozen_time == at(2026, 4, 1)


# --- admin door --------------------------------------------------------------------------


def test_staff_advance_from_the_clocks_admin_page(client, staff):
    crew = team(clock_at=at(2026, 4, 1))
    MembershipFactory(workspace=crew.workspace, user=staff, role="admin")
    sub = services.subscribe(workspace=crew.workspace, plan=PlanFactory())
    clock = TestClock.objects.get(workspace=crew.workspace)
    client.force_login(staff)
    url = reverse("admin:billing_testclock_advance", args=[clock.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"Advance" in page.content

    response = client.post(url, {"to_0": "2026-05-02", "to_1": "00:00:00"}, follow=True)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("1 subscription move" in m for m in said), said
    sub.refresh_from_db()
    assert sub.current_period_start == at(2026, 5, 1)

    response = client.post(url, {"to_0": "2026-01-01", "to_1": "00:00:00"}, follow=True)
    assert response.status_code == 200  # a refusal is a message, not an error page
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("only moves forward" in m for m in said), said


def test_staff_without_the_permission_cannot_open_the_advance_page(client):
    crew = team(clock_at=at(2026, 4, 1))
    viewer = billing_staff("view_testclock")
    MembershipFactory(workspace=crew.workspace, user=viewer, role="admin")
    client.force_login(viewer)
    clock = TestClock.objects.get(workspace=crew.workspace)
    assert client.get(reverse("admin:billing_testclock_advance",
                              args=[clock.pk])).status_code == 403
