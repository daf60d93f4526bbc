"""The credits ledger: top-ups, grants, consumption, holds, refunds, expiry, and credits
paying invoices.  Append-only: every movement is a new ``CreditTransaction`` whose
``balance_after`` is the balance it leaves, so the balance is the latest row's.

Concurrency.  A workspace's ledger writes are serialized by locking its **Workspace row**
(``SELECT ... FOR NO KEY UPDATE``) for the writing transaction.  Why the workspace row
and not the latest ledger row: a workspace's first write has no ledger row to lock (two
first writes would both see "no balance" and both append), and a locked "latest" row
stops being the latest the moment the holder appends, so the next writer would have to
re-read and re-lock in a loop.  The workspace row always exists and is the same row for
every write.  ``NO KEY UPDATE`` (not plain ``UPDATE``) because inserts of any row pointing
at the workspace take ``KEY SHARE`` on it: a plain ``FOR UPDATE`` would make every insert in
the workspace wait for the ledger, while ``NO KEY UPDATE`` only conflicts with other ledger
writers (and updates of the workspace row itself).  The read that follows the lock sees the
previous writer's committed row (READ COMMITTED takes a snapshot per statement), and the
``balance_after >= 0`` check constraint is the last line of defence.

Idempotency.  Every movement that has a ``reference`` is written once per workspace and
reference: a second call with the same reference returns the first transaction (checked
under the lock; the unique constraint backs it).

Expiry.  Additions may carry ``expires_at``; their unused part is tracked in ``remaining``.
Consumption (and holds, and invoice payments) draws from expiring additions first, the
soonest to expire first (FIFO by ``expires_at``), then from credits that never expire.
Expiry removes only an addition's unused part.  An addition past its expiry no longer
counts even before ``expire_due`` writes its expiry row: every ledger write expires due
additions first, and ``balance`` subtracts what is due.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from core.api.errors import ApiError

from .. import clock
from ..models import CreditTransaction, Invoice

Kind = CreditTransaction.Kind
ZERO = Decimal(0)
QUANTUM = Decimal("0.0001")  # the ledger's precision (decimal_places=4)
MAX_AMOUNT = Decimal("99999999999999")  # max_digits=18, decimal_places=4


@dataclass(frozen=True)
class Who:
    """The optional bookkeeping every movement carries."""

    by: object = None
    source_type: str = ""
    source_id: str = ""
    description: str = ""


class InsufficientCredits(ApiError):
    """402: the movement would take the balance below zero."""

    def __init__(self, workspace_id: int, balance: Decimal, requested: Decimal):
        super().__init__(
            402, "insufficient_credits",
            f"Not enough credits: the balance is {_show(balance)} and "
            f"{_show(requested)} {'was' if requested == 1 else 'were'} requested.",
            errors={"workspace": workspace_id, "balance": _show(balance),
                    "requested": _show(requested)})


def _show(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def _amount(value, *, name: str = "amount", allow_zero: bool = False) -> Decimal:
    """A positive Decimal with the ledger's precision, or a 400 naming the problem."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise ApiError(400, "invalid", f"The {name} must be a number.",
                       errors={name: ["A number is required."]}) from None
    if not amount.is_finite():
        raise ApiError(400, "invalid", f"The {name} must be a number.",
                       errors={name: ["A finite number is required."]})
    if amount != amount.quantize(QUANTUM):
        raise ApiError(400, "invalid", f"The {name} has more than 4 decimal places.",
                       errors={name: ["At most 4 decimal places."]})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ApiError(400, "invalid", f"The {name} must be greater than zero.",
                       errors={name: ["Must be greater than zero."]})
    if amount > MAX_AMOUNT:
        raise ApiError(400, "invalid", f"The {name} is too large.",
                       errors={name: [f"At most {MAX_AMOUNT}."]})
    return amount


# --- reading -------------------------------------------------------------------------------


def _latest_balance(workspace_id: int) -> Decimal:
    value = (CreditTransaction.objects.filter(workspace_id=workspace_id).order_by("-id")
             .values_list("balance_after", flat=True).first())
    return value if value is not None else ZERO


def _expiring(workspace_id: int):
    return CreditTransaction.objects.filter(workspace_id=workspace_id, expires_at__isnull=False,
                                            remaining__gt=0)


def balance(workspace_id: int) -> Decimal:
    """Credits available now: the latest balance less additions already past their expiry
    (in case ``expire_due`` has not written their expiry rows yet)."""
    now = clock.now(workspace_id)
    due = (_expiring(workspace_id).filter(expires_at__lte=now)
           .aggregate(total=Sum("remaining"))["total"]) or ZERO
    return max(ZERO, _latest_balance(workspace_id) - due)


def expiring(workspace_id: int) -> list[dict]:
    """The unused parts of additions that expire, soonest first (for the API and admin)."""
    now = clock.now(workspace_id)
    return [{"transaction": row["id"], "remaining": row["remaining"],
             "expires_at": row["expires_at"]}
            for row in _expiring(workspace_id).filter(expires_at__gt=now)
            .order_by("expires_at", "id").values("id", "remaining", "expires_at")]


# --- the write path --------------------------------------------------------------------------


def _lock(workspace_id: int) -> None:
    from workspaces.models import Workspace

    found = (Workspace.objects.select_for_update(no_key=True).filter(pk=workspace_id)
             .values_list("pk", flat=True).first())
    if found is None:
        raise ApiError(404, "not_found", f"No workspace {workspace_id}.",
                       errors={"workspace": [f"No workspace {workspace_id}."]})


def _existing(workspace_id: int, reference: str) -> CreditTransaction | None:
    if not reference:
        return None
    return CreditTransaction.objects.filter(workspace_id=workspace_id,
                                            reference=reference).first()


def _append(workspace_id: int, kind: str, amount: Decimal, current: Decimal, *,
            reference: str = "", who: Who = Who(), expires_at=None, hold=None) -> tuple[
                CreditTransaction, Decimal]:
    after = current + amount
    if after < 0:  # callers check first; this is the guard of last resort
        raise InsufficientCredits(workspace_id, current, -amount)
    tx = CreditTransaction.objects.create(
        workspace_id=workspace_id, kind=kind, amount=amount, balance_after=after,
        remaining=amount if (expires_at is not None and amount > 0) else None,
        expires_at=expires_at, reference=reference, hold=hold,
        source_type=who.source_type[:60], source_id=str(who.source_id)[:64],
        description=who.description[:300],
        created_by=who.by if getattr(who.by, "pk", None) else None)
    return tx, after


def _expire_locked(workspace_id: int, now) -> tuple[int, Decimal]:
    """Write the expiry rows of additions past their expiry (caller holds the lock)."""
    current = _latest_balance(workspace_id)
    count = 0
    for addition in (_expiring(workspace_id).filter(expires_at__lte=now)
                     .order_by("expires_at", "id")):
        gone = min(addition.remaining, current)
        addition.remaining = ZERO
        addition.save(update_fields=["remaining"])
        if gone > 0:
            _, current = _append(
                workspace_id, Kind.EXPIRY, -gone, current,
                reference=f"expiry:{addition.pk}", hold=None,
                who=Who(source_type="billing.credittransaction", source_id=str(addition.pk),
                        description=f"Unused part of {addition.get_kind_display().lower()} "
                                    f"#{addition.pk} expired"))
            count += 1
    return count, current


def _draw(workspace_id: int, amount: Decimal, now) -> None:
    """Take ``amount`` from expiring additions, soonest expiry first (the rest comes from
    credits that never expire)."""
    left = amount
    for addition in (_expiring(workspace_id).filter(expires_at__gt=now)
                     .order_by("expires_at", "id")):
        if left <= 0:
            break
        take = min(left, addition.remaining)
        addition.remaining -= take
        addition.save(update_fields=["remaining"])
        left -= take


def _restore(workspace_id: int, amount: Decimal, now) -> None:
    """Give ``amount`` back to the expiring additions that were drawn last (latest expiry
    first, up to each one's original amount); what is left never expires.  Keeps the unused
    expiring credits within the balance, so expiry can never take more than there is."""
    left = amount
    drawn = (CreditTransaction.objects.filter(workspace_id=workspace_id, expires_at__gt=now,
                                              remaining__isnull=False, amount__gt=0)
             .order_by("-expires_at", "-id"))
    for addition in drawn:
        if left <= 0:
            break
        room = addition.amount - addition.remaining
        if room <= 0:
            continue
        give = min(room, left)
        addition.remaining += give
        addition.save(update_fields=["remaining"])
        left -= give


def _write(workspace_id: int, kind: str, amount: Decimal, *, reference: str,
           who: Who = Who(), expires_at=None, hold=None,
           restore: bool = False) -> CreditTransaction:
    """One movement under the workspace's ledger lock; additions are positive, uses
    negative.  Idempotent by ``reference``."""
    with transaction.atomic():
        _lock(workspace_id)
        existing = _existing(workspace_id, reference)
        if existing is not None:
            return existing
        now = clock.now(workspace_id)
        _, current = _expire_locked(workspace_id, now)
        if amount < 0:
            if current + amount < 0:
                raise InsufficientCredits(workspace_id, current, -amount)
            _draw(workspace_id, -amount, now)
        elif restore and amount > 0:
            _restore(workspace_id, amount, now)
        try:
            with transaction.atomic():
                tx, _ = _append(workspace_id, kind, amount, current, reference=reference,
                                who=who, expires_at=expires_at, hold=hold)
        except IntegrityError:
            # Only possible without the lock's protection (e.g. SQLite): same reference.
            existing = _existing(workspace_id, reference)
            if existing is None:
                raise
            return existing
        return tx


# --- the interface -----------------------------------------------------------------------------


def grant(workspace_id: int, amount, *, reason: str, expires_at=None, by=None,
          reference: str = "") -> CreditTransaction:
    """Free credits from staff (a welcome bonus, a goodwill gesture), optionally expiring."""
    amount = _amount(amount)
    if expires_at is not None and expires_at <= clock.now(workspace_id):
        raise ApiError(400, "invalid", "The expiry must be in the future.",
                       errors={"expires_at": ["Must be in the future."]})
    if not (reason or "").strip():
        raise ApiError(400, "invalid", "A grant needs a reason.",
                       errors={"reason": ["This field is required."]})
    return _write(workspace_id, Kind.GRANT, amount, reference=reference, expires_at=expires_at,
                  who=Who(by=by, description=reason.strip()))


def topup(workspace_id: int, amount, *, reference: str, by=None, expires_at=None,
          description: str = "") -> CreditTransaction:
    """Credits bought (the payment's id as ``reference``: a replayed top-up adds once)."""
    amount = _amount(amount)
    if not reference:
        raise ApiError(400, "invalid", "A top-up needs a reference (the payment's id).",
                       errors={"reference": ["This field is required."]})
    return _write(workspace_id, Kind.TOPUP, amount, reference=reference, expires_at=expires_at,
                  who=Who(by=by, description=description or "Top-up"))


def consume(workspace_id: int, amount, *, reference: str, source_type: str = "",
            source_id: str = "", description: str = "") -> CreditTransaction:
    """Use credits (a call, LLM tokens, an execution).  402 ``insufficient_credits`` when
    the balance does not cover ``amount``; nothing is taken then."""
    amount = _amount(amount)
    return _write(workspace_id, Kind.CONSUMPTION, -amount, reference=reference,
                  who=Who(source_type=source_type, source_id=source_id,
                          description=description))


def hold(workspace_id: int, amount, *, reference: str, source_type: str = "",
         source_id: str = "", description: str = "") -> CreditTransaction:
    """Reserve ``amount`` for work in progress (a call whose cost is known at its end):
    the balance drops now, so parallel work cannot spend the same credits; ``settle``
    swaps it for the real cost."""
    amount = _amount(amount)
    if not reference:
        raise ApiError(400, "invalid", "A hold needs a reference.",
                       errors={"reference": ["This field is required."]})
    return _write(workspace_id, Kind.HOLD, -amount, reference=reference,
                  who=Who(source_type=source_type, source_id=source_id,
                          description=description or "Reserved"))


def settle(hold_tx: CreditTransaction, actual_amount) -> CreditTransaction:
    """Close a hold at the real cost: the unused part comes back (a ``release`` row, zero
    when all of it was used); a cost above the hold takes the difference as a consumption,
    as far as the balance allows (it never goes below zero).  Settling twice returns the
    first settlement."""
    if hold_tx.kind != Kind.HOLD:
        raise ApiError(409, "invalid_state", "Only a hold can be settled.",
                       errors={"hold": [f"Transaction {hold_tx.pk} is a {hold_tx.kind}."]})
    actual = _amount(actual_amount, name="actual_amount", allow_zero=True)
    held = -hold_tx.amount
    base = hold_tx.reference or f"hold:{hold_tx.pk}"
    who = Who(source_type=hold_tx.source_type, source_id=hold_tx.source_id)
    workspace_id = hold_tx.workspace_id
    if actual <= held:
        return _write(workspace_id, Kind.RELEASE, held - actual, reference=f"{base}:settle",
                      hold=hold_tx, restore=True,
                      who=Who(source_type=who.source_type, source_id=who.source_id,
                              description=f"Hold settled at {_show(actual)}"))
    with transaction.atomic():
        _lock(workspace_id)
        existing = _existing(workspace_id, f"{base}:settle")
        if existing is not None:
            return existing
        extra = min(actual - held, balance(workspace_id))
        return _write(workspace_id, Kind.CONSUMPTION, -extra, reference=f"{base}:settle",
                      hold=hold_tx,
                      who=Who(source_type=who.source_type, source_id=who.source_id,
                              description=f"Hold settled at {_show(actual)} "
                                          f"({_show(actual - held - extra)} not covered)"))


def refund(workspace_id: int, amount, *, reference: str, by=None, source_type: str = "",
           source_id: str = "", description: str = "") -> CreditTransaction:
    """Give credits back (a failed call, a complaint); they return to the expiring
    additions they were drawn from as far as those are still valid.  An amount finer than
    the ledger's 4 decimal places (minor units / the credit value) is rounded to them."""
    with contextlib.suppress(InvalidOperation, TypeError, ValueError):  # _amount says why
        amount = Decimal(str(amount)).quantize(QUANTUM, rounding=ROUND_HALF_UP)
    amount = _amount(amount)
    if not reference:
        raise ApiError(400, "invalid", "A refund needs a reference.",
                       errors={"reference": ["This field is required."]})
    return _write(workspace_id, Kind.REFUND, amount, reference=reference, restore=True,
                  who=Who(by=by, source_type=source_type, source_id=source_id,
                          description=description or "Refund"))


def expire_due(now=None, workspace_id: int | None = None) -> int:
    """Write the expiry rows of every addition past its expiry; returns how many.  Each
    workspace at its own billing clock unless ``now`` is given."""
    due = CreditTransaction.objects.filter(expires_at__isnull=False, remaining__gt=0)
    if workspace_id is not None:
        due = due.filter(workspace_id=workspace_id)
    candidates = sorted(set(due.values_list("workspace_id", flat=True)))
    count = 0
    for ws in candidates:
        at = now or clock.now(ws)
        if not due.filter(workspace_id=ws, expires_at__lte=at).exists():
            continue
        with transaction.atomic():
            _lock(ws)
            written, _ = _expire_locked(ws, at)
            count += written
    return count


def credit_value_minor() -> int:
    return int(getattr(settings, "BILLING_CREDIT_VALUE_MINOR", 1) or 1)


def apply_to_invoice(invoice: Invoice) -> int:
    """Pay as much of ``invoice.total`` as the balance covers; returns the minor units
    applied (BILLING_CREDIT_VALUE_MINOR per credit).  Whole minor units only: the credits
    taken are the minor units / the value.  Idempotent per invoice (a second call returns
    what the first applied).  The invoice is not changed here: the caller (invoice
    generation) sets ``credits_applied`` and ``amount_due``."""
    value = credit_value_minor()
    reference = f"invoice:{invoice.pk}"
    with transaction.atomic():
        _lock(invoice.workspace_id)
        existing = _existing(invoice.workspace_id, reference)
        if existing is not None:
            return int((-existing.amount * value).to_integral_value(ROUND_DOWN))
        if invoice.total <= 0:
            return 0
        available = balance(invoice.workspace_id)
        minor = min(int(invoice.total),
                    int((available * value).to_integral_value(ROUND_DOWN)))
        if minor <= 0:
            return 0
        credits = (Decimal(minor) / value).quantize(QUANTUM, rounding=ROUND_DOWN)
        if credits * value < minor:  # a value that does not divide: take a bit more
            credits += QUANTUM
            if credits > available:
                credits -= QUANTUM
                minor = int((credits * value).to_integral_value(ROUND_DOWN))
        _write(invoice.workspace_id, Kind.INVOICE, -credits, reference=reference,
               who=Who(source_type="billing.invoice", source_id=str(invoice.pk),
                       description=f"Applied to invoice {invoice.number or invoice.pk}"))
        return minor


def running_balance_rows(workspace_id: int):
    """The ledger of a workspace, oldest first, with each row's running balance (the
    admin's column; ``balance_after`` is that balance, recomputed here as a check)."""
    total = ZERO
    for row in (CreditTransaction.objects.filter(workspace_id=workspace_id).order_by("id")
                .values("id", "amount", "balance_after")):
        total += row["amount"]
        yield {**row, "running": total, "consistent": total == row["balance_after"]}


__all__ = ["InsufficientCredits", "apply_to_invoice", "balance", "consume", "expire_due",
           "expiring", "grant", "hold", "refund", "settle", "topup"]
