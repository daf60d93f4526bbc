"""Gapless invoice numbers per issuing account.

``next_number`` locks the issuer row (``SELECT ... FOR UPDATE``), takes its
``next_number`` and moves it on, in the caller's transaction: the transaction that
finalises the invoice.  If that transaction rolls back, the counter rolls back with
it, so a number is either on a committed invoice or was never used; concurrent
finalisations queue on the row lock, so no two invoices share a number either.
Take this lock last (after the subscription and invoice rows) and commit soon after:
every finalisation of the issuer waits on it.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F

from ..models import IssuingAccount

WIDTH = 6  # INV-000042: numbers sort as text too


def format_number(prefix: str, sequence: int) -> str:
    return f"{prefix}{sequence:0{WIDTH}d}"


def next_number(issuer: IssuingAccount) -> tuple[int, str]:
    """``(sequence, number)`` for the next invoice of ``issuer``; inside a transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_number must run inside the transaction that finalises "
                           "the invoice, or a rollback would leave a gap.")
    row = (IssuingAccount.objects.select_for_update().only("id", "next_number", "number_prefix")
           .get(pk=issuer.pk))
    sequence = row.next_number
    IssuingAccount.objects.filter(pk=row.pk).update(next_number=F("next_number") + 1)
    issuer.next_number = sequence + 1
    return sequence, format_number(row.number_prefix, sequence)



def next_numbers(issuer: IssuingAccount, count: int) -> list[tuple[int, str]]:
    """``count`` consecutive ``(sequence, number)`` at once (a batch of invoices finalised
    in one transaction): one lock and one update for the whole block."""
    if not connection.in_atomic_block:
        raise RuntimeError("next_numbers must run inside the finalising transaction.")
    row = (IssuingAccount.objects.select_for_update().only("id", "next_number", "number_prefix")
           .get(pk=issuer.pk))
    first = row.next_number
    IssuingAccount.objects.filter(pk=row.pk).update(next_number=F("next_number") + count)
    issuer.next_number = first + count
    return [(n, format_number(row.number_prefix, n)) for n in range(first, first + count)]
