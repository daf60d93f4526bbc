"""The campaign dialer: one tick of one campaign (``dial``), run by beat every minute
through ``crm.tasks_campaigns`` and on demand (API, admin "dial now").

A tick, in two steps:

1. **Decide, locked.**  The campaign's row is locked (``FOR UPDATE SKIP LOCKED`` where
   the database has it: a second tick at the same moment skips the campaign instead of
   queueing; plain ``FOR UPDATE`` elsewhere), so two ticks never decide for one campaign
   at once.  Free slots = ``concurrency`` less the entries already ``calling`` (or the
   campaign's open calls, whichever is more), capped by
   ``rate_per_minute`` less the attempts of the last 60 s.  Do-not-call contacts still
   pending are skipped; the due entries whose contact is in its calling hours (its own
   zone), has a phone and is not on a call are claimed: ``calling``, attempts + 1.
   COMMIT.  An entry counts against concurrency from the moment it is claimed, before
   its call row exists, so the next tick cannot over-dial.
2. **Place, unlocked.**  ``crm.services.calls.place_call`` for each claimed entry,
   outside any transaction (it asks the voice platform over the network).  It still
   refuses a do-not-call contact and a contact on a call (under the contact's row
   lock), so a contact never gets two calls at once even against a manual call or
   another campaign.  Refusals: 402 (credits, plan) pauses the campaign with its reason
   in ``settings["paused_reason"]`` and puts the unplaced entries back as they were;
   ``do_not_call``/``no_phone`` → skipped; ``call_in_progress`` → back, tried again
   after ``BUSY_RETRY``; a campaign that is not ready (agent, pool) pauses too.  A
   provider failure is a failed call: its ``crm.call.ended`` event moves the entry
   (``crm.services.campaigns.outcome``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F

from billing import clock
from core.api.errors import ApiError

from .models import Campaign, CampaignContact
from .services import calls
from .services import campaigns as service

log = logging.getLogger(__name__)

C = Campaign.Status
St = CampaignContact.State
BUSY_RETRY = timedelta(minutes=5)
#: A claimed entry whose call never appeared after this long (a worker died between the
#: commit and the placement) is put back.
CLAIM_TIMEOUT = timedelta(minutes=10)
PAUSING = {"insufficient_credits", "feature_not_in_plan", "limit_reached", "agent_not_voice",
           "no_phone_number", "campaign_not_ready"}


@dataclass
class DialResult:
    campaign: int
    status: str = ""
    locked: bool = False  # another tick held the campaign: nothing done
    claimed: int = 0
    placed: list[int] = field(default_factory=list)  # call ids
    refused: dict[str, int] = field(default_factory=dict)  # error code -> count
    skipped: int = 0  # do-not-call found at dial time
    in_progress: int = 0
    free: int = 0
    paused_reason: str = ""

    def as_dict(self) -> dict:
        return {"campaign": self.campaign, "status": self.status, "locked": self.locked,
                "claimed": self.claimed, "placed": self.placed, "refused": self.refused,
                "skipped": self.skipped, "in_progress": self.in_progress, "free": self.free,
                "paused_reason": self.paused_reason}


@dataclass
class _Claim:
    entry_id: int
    contact: object
    state: str
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None


def _lock(campaign_id: int):
    queryset = Campaign.objects.select_related("agent", "workspace")
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",)).filter(
            pk=campaign_id).first()
    return queryset.select_for_update().filter(pk=campaign_id).first()


def _release_stale_claims(campaign: Campaign, now: datetime) -> None:
    """Entries claimed long ago whose call never came (the worker died before placing):
    back to due; entries whose call ended without moving them (a lost event): moved."""
    stale = (CampaignContact.objects.filter(campaign=campaign, state=St.CALLING,
                                            last_attempt_at__lt=now - CLAIM_TIMEOUT)
             .select_related("contact")[:200])
    for entry in stale:
        call = (calls.Call.objects.filter(campaign=campaign, contact_id=entry.contact_id,
                                          started_at__gte=entry.last_attempt_at)
                .order_by("-pk").first())
        if call is None:
            CampaignContact.objects.filter(pk=entry.pk, state=St.CALLING).update(
                state=St.RETRY if entry.attempts > 1 else St.PENDING,
                attempts=F("attempts") - 1, next_attempt_at=now)
        elif call.status in calls.FINAL:
            service.outcome(entry, call)


def _decide(campaign_id: int, now: datetime | None, result: DialResult):
    """Step 1 (one transaction): returns (campaign, claims) or (campaign, [])."""
    with transaction.atomic():
        campaign = _lock(campaign_id)
        if campaign is None:
            result.locked = Campaign.objects.filter(pk=campaign_id).exists()
            return None, []
        now = now or clock.now(campaign.workspace_id)
        if campaign.status == C.SCHEDULED and (campaign.starts_at is None
                                               or campaign.starts_at <= now):
            service._set_status(campaign, C.RUNNING)
        result.status = campaign.status
        if campaign.status != C.RUNNING:
            return campaign, []
        if campaign.ends_at is not None and now >= campaign.ends_at:
            service._set_status(campaign, C.COMPLETED, reason="The campaign's end time passed.")
            result.status = campaign.status
            return campaign, []
        if campaign.starts_at is not None and now < campaign.starts_at:
            return campaign, []
        _release_stale_claims(campaign, now)
        entries = CampaignContact.objects.filter(campaign=campaign)
        result.skipped = entries.filter(state__in=service.DUE, contact__do_not_call=True).update(
            state=St.SKIPPED, last_outcome="do_not_call", next_attempt_at=None)
        # Claimed entries count from the claim (their call may not exist yet); calls of
        # the campaign still open count too (an entry moved while its call goes on).
        open_calls = (calls.Call.objects.filter(campaign=campaign,
                                                started_at__gte=now - calls.ACTIVE_WINDOW)
                      .exclude(status__in=calls.FINAL).count())
        result.in_progress = max(entries.filter(state=St.CALLING).count(), open_calls)
        recent = service.placed_since(campaign, now - timedelta(seconds=60))
        free = min(campaign.concurrency - result.in_progress,
                   campaign.rate_per_minute - recent)
        result.free = max(0, free)
        if free <= 0:
            return campaign, []
        picked = list(service.due_contacts(campaign, now, free))
        claims = [_Claim(e.pk, e.contact, e.state, e.attempts, e.last_attempt_at,
                         e.next_attempt_at) for e in picked]
        if claims:
            CampaignContact.objects.filter(pk__in=[c.entry_id for c in claims]).update(
                state=St.CALLING, attempts=F("attempts") + 1, last_attempt_at=now,
                next_attempt_at=None)
        result.claimed = len(claims)
    if not claims and not entries.filter(state__in=service.ACTIVE).exists():
        service.maybe_complete(campaign.pk)
        campaign.refresh_from_db(fields=["status", "settings"])
        result.status = campaign.status
    return campaign, claims


def _put_back(claim: _Claim, *, later: datetime | None = None) -> None:
    """The claim as it was before this tick (only if nothing moved it meanwhile)."""
    CampaignContact.objects.filter(pk=claim.entry_id, state=St.CALLING).update(
        state=claim.state, attempts=claim.attempts, last_attempt_at=claim.last_attempt_at,
        next_attempt_at=later or claim.next_attempt_at)


def _skip(claim: _Claim, why: str) -> None:
    CampaignContact.objects.filter(pk=claim.entry_id, state=St.CALLING).update(
        state=St.SKIPPED, attempts=claim.attempts, last_outcome=why, next_attempt_at=None)


def dial(campaign_id: int, now: datetime | None = None, *, provider=None) -> DialResult:
    """One tick of campaign ``campaign_id`` (see the module's docstring).  ``now``: the
    tick's time (default: the workspace's clock); ``provider``: a voice platform client
    for ``place_call`` (tests, benchmark).  Call it outside any transaction: the
    claims must commit before the calls are placed."""
    result = DialResult(campaign=campaign_id)
    campaign, claims = _decide(campaign_id, now, result)
    if campaign is None or not claims:
        return result
    tick = now or clock.now(campaign.workspace_id)
    for index, claim in enumerate(claims):
        try:
            call = calls.place_call(workspace=campaign.workspace, agent=campaign.agent,
                                    contact=claim.contact, campaign=campaign,
                                    provider=provider)
        except calls.CallPlacementFailed as error:
            # A failed call: its crm.call.ended event already moved the entry (retry).
            result.refused[error.error_code] = result.refused.get(error.error_code, 0) + 1
            continue
        except ApiError as error:
            code = error.error_code
            result.refused[code] = result.refused.get(code, 0) + 1
            if code in PAUSING:
                for left in claims[index:]:
                    _put_back(left)
                reason = f"Paused by the dialer: {error.message}"
                service.pause_for(campaign.pk, code, reason)
                result.status, result.paused_reason = C.PAUSED, reason
                break
            if code in ("do_not_call", "no_phone"):
                _skip(claim, code)
            elif code == "call_in_progress":
                _put_back(claim, later=tick + BUSY_RETRY)
            else:
                log.warning("Campaign %s: call to contact %s refused: %s", campaign.pk,
                            claim.contact.pk, error.message)
                _put_back(claim, later=tick + BUSY_RETRY)
            continue
        result.placed.append(call.pk)
    return result
