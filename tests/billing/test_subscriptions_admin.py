"""Subscriptions in the back office: subscribe from the add page, change plan, cancel,
pause and resume from the subscription's own pages through the same services; the
change page shows the timeline and the invoices; refusals are messages, never errors."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from billing.models import InvoiceLine, Subscription
from billing.services import subscriptions as services
from tests.factories import InvoiceFactory, MembershipFactory, PlanFactory

from .subscriptions_support import at, billing_staff, team

pytestmark = pytest.mark.django_db
S = Subscription.Status
PERMS = ("view_subscription", "change_subscription", "add_subscription")


def url(name: str, *args) -> str:
    return reverse(f"admin:billing_subscription_{name}", args=args)


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def crew():
    return team(clock_at=at(2026, 4, 1))


@pytest.fixture
def sub(crew):
    return services.subscribe(workspace=crew.workspace, plan=PlanFactory(code="basic",
                                                                         name="Basic",
                                                                         price=3000))


def sign_in(client, crew, role="admin", perms=PERMS):
    user = billing_staff(*perms)
    MembershipFactory(workspace=crew.workspace, user=user, role=role)
    client.force_login(user)
    return user


def test_staff_subscribe_a_workspace_from_the_add_page(client, crew):
    user = sign_in(client, crew)
    plan = PlanFactory(trial_days=7)
    response = client.post(url("add"), {"workspace": crew.workspace.pk, "plan": plan.pk,
                                        "coupon_code": ""}, follow=True)
    assert response.status_code == 200
    sub = Subscription.objects.get(workspace=crew.workspace)
    assert (sub.status, sub.created_by) == (S.TRIALING, user)
    assert sub.trial_end == at(2026, 4, 8)


def test_a_refused_subscribe_is_a_message(client, crew, sub):
    sign_in(client, crew)
    response = client.post(url("add"), {"workspace": crew.workspace.pk,
                                        "plan": PlanFactory().pk}, follow=True)
    assert response.status_code == 200
    assert any("already has a live subscription" in m for m in said(response))
    assert Subscription.objects.filter(workspace=crew.workspace).count() == 1


def test_the_change_page_shows_the_timeline_invoices_and_actions(client, crew, sub):
    sign_in(client, crew)
    services.pause(sub)
    services.resume(sub)
    InvoiceFactory(workspace=crew.workspace, subscription=sub, issuer__is_default=False,
                   period_start=at(2026, 3, 1), period_end=at(2026, 4, 1), total=3000)
    page = client.get(url("change", sub.pk)).content.decode()
    assert 'id="subscription-timeline"' in page
    for verb in ("billing.subscription.created", "billing.subscription.paused",
                 "billing.subscription.resumed"):
        assert f'data-verb="{verb}"' in page
    assert "2026-03-01 to 2026-04-01" in page and "30.00 USD" in page
    for name in ("change_plan", "cancel", "pause"):
        assert url(name, sub.pk) in page
    assert url("resume", sub.pk) not in page  # active: nothing to resume


def test_change_plan_from_its_page_prorates(client, crew, sub):
    sign_in(client, crew)
    from billing.models import TestClock

    TestClock.objects.filter(workspace=crew.workspace).update(frozen_time=at(2026, 4, 11))
    pro = PlanFactory(code="pro", name="Pro", price=6000)
    assert client.get(url("change_plan", sub.pk)).status_code == 200
    response = client.post(url("change_plan", sub.pk), {"plan": pro.pk, "prorate": "on"},
                           follow=True)
    assert "Now on Pro." in said(response)
    sub.refresh_from_db()
    assert sub.plan == pro
    # 20 of 30 days left: -3000 x 20/30 = -2000, +6000 x 20/30 = 4000.
    assert sorted(InvoiceLine.objects.filter(subscription=sub)
                  .values_list("amount", flat=True)) == [-2000, 4000]


def test_cancel_pause_resume_from_their_pages(client, crew, sub):
    sign_in(client, crew)
    response = client.post(url("pause", sub.pk), follow=True)
    assert any("paused" in m for m in said(response))
    sub.refresh_from_db()
    assert sub.status == S.PAUSED
    response = client.post(url("pause", sub.pk), follow=True)  # again: refused, a message
    assert response.status_code == 200
    assert any("cannot be paused" in m for m in said(response))
    client.post(url("resume", sub.pk))
    response = client.post(url("cancel", sub.pk), {}, follow=True)  # unticked: at once
    assert any("cancelled" in m for m in said(response))
    sub.refresh_from_db()
    assert sub.status == S.CANCELLED
    page = client.get(url("change", sub.pk)).content.decode()
    assert "the subscription has finished" in page


def test_the_changelist_actions_use_the_same_services(client, crew, sub):
    sign_in(client, crew)
    trial_crew = team(clock_at=at(2026, 4, 1))
    MembershipFactory(workspace=trial_crew.workspace, user=_me(client), role="admin")
    trial = services.subscribe(workspace=trial_crew.workspace,
                               plan=PlanFactory(trial_days=14))
    response = client.post(url("changelist"), {"action": "pause_selected",
                                               "_selected_action": [sub.pk, trial.pk]},
                           follow=True)
    messages = said(response)
    assert any("cannot be paused" in m for m in messages), messages
    sub.refresh_from_db()
    trial.refresh_from_db()
    assert (sub.status, trial.status) == (S.PAUSED, S.TRIALING)


def test_members_are_refused_and_other_workspaces_are_absent(client, crew, sub):
    sign_in(client, crew, role="member")
    assert client.get(url("change_plan", sub.pk)).status_code == 403
    assert client.post(url("pause", sub.pk)).status_code == 403
    sub.refresh_from_db()
    assert sub.status == S.ACTIVE

    stranger = team()
    sign_in(client, stranger, role="admin")
    for name in ("change_plan", "cancel", "pause", "resume", "change"):
        assert client.get(url(name, sub.pk)).status_code == 404, name


def test_staff_without_billing_permissions_cannot_open_the_pages(client, crew, sub):
    sign_in(client, crew, perms=())
    assert client.get(url("cancel", sub.pk)).status_code == 403


def _me(client):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=client.session["_auth_user_id"])
