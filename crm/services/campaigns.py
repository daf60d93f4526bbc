"""Campaigns: their states, who is enrolled, who is due, calling hours in each contact's
own time zone, and what a finished call means for its contact's place in the campaign.

States.  ``draft`` → start → ``running`` (or ``scheduled`` when ``starts_at`` is still
ahead; the dialer moves it to running when that time comes); ``running``/``scheduled``
→ pause → ``paused`` → resume → ``running``; anything not finished → cancel →
``cancelled``; ``running`` → ``completed`` once no contact is pending, to retry or on a
call (or ``ends_at`` has passed).  A wrong state is a 409 ``invalid_state``.  Starting
and resuming need a voice agent with a voice platform id and an active number in the
pool (400, naming the field).  The dialer pauses a campaign by itself when the credits
run out; why is in ``settings["paused_reason"]`` (and ``settings["paused_code"]``).

Contacts.  ``enroll`` gives every contact of the campaign's lists one ``CampaignContact``
(idempotent: the (campaign, contact) pair is unique); do-not-call contacts and contacts
without a phone are enrolled as ``skipped``.  After a call ends (``crm.call.ended``,
emitted by ``crm.services.calls``) ``outcome`` moves the entry: completed → completed;
no answer, busy, failed → ``retry`` after ``retry_spacing_minutes``, or ``exhausted``
at ``max_attempts``.

Time.  Every "now" is billing's clock (``billing.clock.now``), so a workspace on a test
clock moves its campaigns through the day.  Calling hours are the contact's local wall
time through ``zoneinfo`` (DST-safe: an aware instant converted to the zone); calling
days are the contact's local weekdays (empty: Monday to Friday).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from billing import clock
from core import events
from core.api.errors import ApiError

from .. import events as crm_events
from ..models import Call, Campaign, CampaignContact, Contact, ContactListMembership, PhoneNumber

log = logging.getLogger(__name__)

C = Campaign.Status
St = CampaignContact.State
DUE = (St.PENDING, St.RETRY)
ACTIVE = (St.PENDING, St.RETRY, St.CALLING)
WEEKDAYS = (0, 1, 2, 3, 4)
NOT_CONNECTED = {Call.Status.NO_ANSWER, Call.Status.BUSY, Call.Status.FAILED}
ENROLL_BATCH = 2000


# --- calling hours ---------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # the model validates the name; old rows fall back to UTC


def zone_open(zone_name: str, campaign: Campaign, at: datetime) -> bool:
    """Whether it is calling time at ``at`` (aware) in ``zone_name``'s local wall time."""
    local = at.astimezone(_zone(zone_name))
    days = campaign.calling_days or WEEKDAYS
    if local.weekday() not in days:
        return False
    return campaign.calling_hours_start <= local.time().replace(tzinfo=None) \
        < campaign.calling_hours_end


def in_calling_hours(contact: Contact, campaign: Campaign, at: datetime) -> bool:
    """Whether ``contact`` may be called at ``at``: its own zone, the campaign's hours and
    days (start inclusive, end exclusive)."""
    return zone_open(contact.time_zone, campaign, at)


def open_zones(campaign: Campaign, at: datetime, zones) -> list[str]:
    return [z for z in zones if zone_open(z, campaign, at)]


# --- states ----------------------------------------------------------------------------------


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("agent").get(pk=campaign.pk)


def _synced(original: Campaign, fresh: Campaign) -> Campaign:
    """The caller's instance shows the new state too."""
    original.status, original.settings = fresh.status, fresh.settings
    original.updated_at = fresh.updated_at
    return original


def _state_error(campaign: Campaign, action: str, allowed) -> ApiError:
    names = " or ".join(str(C(s).label).lower() for s in allowed)
    message = (f"The campaign is {campaign.get_status_display().lower()}; only a {names} "
               f"campaign can be {action}.")
    return ApiError(409, "invalid_state", message,
                    errors={"status": [message], "current": campaign.status})


def check_ready(campaign: Campaign) -> None:
    """400 naming the field when the campaign cannot place calls."""
    agent = campaign.agent
    if agent.kind != agent.Kind.VOICE or not agent.voice_provider_agent_id:
        message = (f"The agent {agent} is not a voice agent with a voice platform id "
                   "(kind voice, voice_provider_agent_id).")
        raise ApiError(400, "campaign_not_ready", message, errors={"agent": [message]})
    if not PhoneNumber.objects.filter(campaigns=campaign, is_active=True).exists():
        message = "The campaign's pool has no active phone number to call from."
        raise ApiError(400, "campaign_not_ready", message, errors={"phone_numbers": [message]})


def _set_status(campaign: Campaign, status: str, *, reason: str = "", code: str = "") -> None:
    campaign.status = status
    settings = dict(campaign.settings or {})
    if status == C.PAUSED and reason:
        settings["paused_reason"] = reason
        settings["paused_code"] = code or "paused"
    elif status != C.PAUSED:
        settings.pop("paused_reason", None)
        settings.pop("paused_code", None)
    if status == C.COMPLETED and reason:
        settings["completed_reason"] = reason
    campaign.settings = settings
    campaign.save(update_fields=["status", "settings", "updated_at"])


def campaign_start(campaign: Campaign, *, by=None) -> Campaign:
    """Draft → running (scheduled while ``starts_at`` is ahead); enrolls its contacts."""
    original = campaign
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != C.DRAFT:
            raise _state_error(campaign, "started", [C.DRAFT])
        check_ready(campaign)
        enroll(campaign)
        now = clock.now(campaign.workspace_id)
        ahead = campaign.starts_at is not None and campaign.starts_at > now
        _set_status(campaign, C.SCHEDULED if ahead else C.RUNNING)
    return _synced(original, campaign)


def campaign_pause(campaign: Campaign, *, by=None, reason: str = "Paused by hand.") -> Campaign:
    original = campaign
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in (C.RUNNING, C.SCHEDULED):
            raise _state_error(campaign, "paused", [C.RUNNING, C.SCHEDULED])
        _set_status(campaign, C.PAUSED, reason=reason, code="by_hand")
    return _synced(original, campaign)


def campaign_resume(campaign: Campaign, *, by=None) -> Campaign:
    """Paused → running (re-enrolls contacts added to its lists meanwhile)."""
    original = campaign
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != C.PAUSED:
            raise _state_error(campaign, "resumed", [C.PAUSED])
        check_ready(campaign)
        enroll(campaign)
        now = clock.now(campaign.workspace_id)
        ahead = campaign.starts_at is not None and campaign.starts_at > now
        _set_status(campaign, C.SCHEDULED if ahead else C.RUNNING)
    return _synced(original, campaign)


def campaign_cancel(campaign: Campaign, *, by=None) -> Campaign:
    """Stops for good; calls already placed finish and are recorded."""
    original = campaign
    with transaction.atomic():
        campaign = _locked(campaign)
        allowed = [C.DRAFT, C.SCHEDULED, C.RUNNING, C.PAUSED]
        if campaign.status not in allowed:
            raise _state_error(campaign, "cancelled", allowed)
        _set_status(campaign, C.CANCELLED)
    return _synced(original, campaign)


def pause_for(campaign_id: int, code: str, reason: str) -> bool:
    """The dialer's own pause (credits ran out, plan switch off); only a running
    campaign.  Returns whether it paused it."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != C.RUNNING:
            return False
        _set_status(campaign, C.PAUSED, reason=reason, code=code)
    return True


def maybe_complete(campaign_id: int, *, reason: str = "Every contact was called.") -> bool:
    """Running → completed when nobody is left to call (or ``reason`` given by the caller
    for ``ends_at``)."""
    if CampaignContact.objects.filter(campaign_id=campaign_id, state__in=ACTIVE).exists():
        return False
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != C.RUNNING or \
                CampaignContact.objects.filter(campaign_id=campaign_id,
                                               state__in=ACTIVE).exists():
            return False
        _set_status(campaign, C.COMPLETED, reason=reason)
    return True


# --- enrolment and selection ----------------------------------------------------------------


def enroll(campaign: Campaign) -> int:
    """One entry per contact of the campaign's lists; returns how many were added.
    Do-not-call contacts and contacts without a phone come in as ``skipped``."""
    members = (ContactListMembership.objects
               .filter(contact_list__in=campaign.contact_lists.all(),
                       contact__merged_into__isnull=True)
               .exclude(contact__campaign_entries__campaign=campaign)
               .values_list("contact_id", "contact__do_not_call", "contact__phone")
               .distinct())
    added = 0
    batch: list[CampaignContact] = []
    seen: set[int] = set()
    for contact_id, do_not_call, phone in members.iterator(chunk_size=ENROLL_BATCH):
        if contact_id in seen:
            continue
        seen.add(contact_id)
        state, why = St.PENDING, ""
        if do_not_call:
            state, why = St.SKIPPED, "do_not_call"
        elif not phone:
            state, why = St.SKIPPED, "no_phone"
        batch.append(CampaignContact(workspace_id=campaign.workspace_id, campaign=campaign,
                                     contact_id=contact_id, state=state, last_outcome=why))
        if len(batch) >= ENROLL_BATCH:
            added += len(CampaignContact.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    if batch:
        added += len(CampaignContact.objects.bulk_create(batch, ignore_conflicts=True))
    return added


def due_zones(campaign: Campaign, now: datetime) -> list[str]:
    """Time zones of the campaign's due contacts where it is calling time now."""
    zones = (CampaignContact.objects.filter(campaign=campaign, state__in=DUE)
             .order_by().values_list("contact__time_zone", flat=True).distinct())
    return open_zones(campaign, now, list(zones))


def due_contacts(campaign: Campaign, now: datetime, limit: int, *, zones=None):
    """Entries to call now, at most ``limit``: pending or due for retry, the contact in
    its calling hours, not do-not-call, with a phone, not on a call (any campaign's or a
    manual one); never-tried first, then by when they became due."""
    if limit <= 0:
        return CampaignContact.objects.none()
    if zones is None:
        zones = due_zones(campaign, now)
    if not zones:
        return CampaignContact.objects.none()
    from .calls import ACTIVE_WINDOW

    on_a_call = Call.objects.filter(contact_id=OuterRef("contact_id"),
                                    started_at__gte=now - ACTIVE_WINDOW).exclude(
        status__in=Call.FINAL)
    return (CampaignContact.objects
            .filter(campaign=campaign, state__in=DUE, contact__do_not_call=False,
                    contact__time_zone__in=zones)
            .exclude(contact__phone="")
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(~Exists(on_a_call))
            .select_related("contact")
            .order_by("attempts", "next_attempt_at", "id")[:limit])


# --- after a call -------------------------------------------------------------------------


def outcome(campaign_contact: CampaignContact, call: Call) -> CampaignContact:
    """Move the entry after ``call`` (final) ended; once only (the entry must be
    ``calling``).  Completes the campaign when nobody is left."""
    if call.status not in Call.FINAL:
        return campaign_contact
    with transaction.atomic():
        entry = (CampaignContact.objects.select_for_update().select_related("campaign")
                 .get(pk=campaign_contact.pk))
        if entry.state != St.CALLING:
            return entry
        campaign = entry.campaign
        now = clock.now(entry.workspace_id)
        entry.last_outcome = (call.outcome or call.status)[:60]
        if call.status == Call.Status.COMPLETED:
            entry.state = St.COMPLETED
            entry.next_attempt_at = None
        elif entry.attempts >= campaign.max_attempts:
            entry.state = St.EXHAUSTED
            entry.next_attempt_at = None
        else:
            entry.state = St.RETRY
            entry.next_attempt_at = now + timedelta(minutes=campaign.retry_spacing_minutes)
        entry.save(update_fields=["state", "last_outcome", "next_attempt_at", "updated_at"])
    maybe_complete(entry.campaign_id)
    return entry


def on_call_ended(event) -> None:
    """core.events handler: a campaign's call reached its final status."""
    if event.name != crm_events.CALL_ENDED:
        return
    payload = event.payload or {}
    if not payload.get("campaign") or not payload.get("contact"):
        return
    call = Call.objects.filter(pk=payload.get("call")).first()
    entry = CampaignContact.objects.filter(campaign_id=payload["campaign"],
                                           contact_id=payload["contact"]).first()
    if call is None or entry is None:
        return
    outcome(entry, call)


def register() -> None:
    """Subscribe ``on_call_ended`` (``CrmConfig.ready()``; again is a no-op)."""
    events.subscribe(on_call_ended)


# --- progress ------------------------------------------------------------------------------


def progress(campaign: Campaign, now: datetime | None = None) -> dict:
    """Live counts: entries by state, calls in progress, placed in the last minute,
    credits held by its unsettled calls."""
    from django.db.models import Count, Sum

    from billing.models import CreditTransaction

    from .calls import SOURCE_TYPE

    now = now or clock.now(campaign.workspace_id)
    by_state = dict.fromkeys(St.values, 0)
    for row in (CampaignContact.objects.filter(campaign=campaign).values("state")
                .annotate(n=Count("id"))):
        by_state[row["state"]] = row["n"]
    open_calls = Call.objects.filter(campaign=campaign).exclude(status__in=Call.FINAL)
    open_ids = [str(pk) for pk in open_calls.values_list("pk", flat=True)[:10_000]]
    held = (CreditTransaction.objects.filter(
        workspace_id=campaign.workspace_id, kind=CreditTransaction.Kind.HOLD,
        source_type=SOURCE_TYPE, source_id__in=open_ids).aggregate(t=Sum("amount"))["t"]) or 0
    return {"campaign": campaign.pk, "status": campaign.status,
            "paused_reason": (campaign.settings or {}).get("paused_reason", ""),
            "contacts": by_state, "total": sum(by_state.values()),
            "calls_in_progress": by_state[St.CALLING],
            "placed_last_minute": placed_since(campaign, now - timedelta(seconds=60)),
            "credits_held": f"{abs(held):f}", "at": now.isoformat()}


def placed_since(campaign: Campaign, since: datetime) -> int:
    """Calls placed (or being placed) since ``since``: the larger of the calls started
    and the entries whose attempt started then (an attempt is counted from the moment
    the dialer claims it, before its call row exists)."""
    calls = Call.objects.filter(campaign=campaign, started_at__gt=since).count()
    claimed = CampaignContact.objects.filter(campaign=campaign,
                                             last_attempt_at__gt=since).count()
    return max(calls, claimed)
