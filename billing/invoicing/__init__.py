"""Invoices from subscriptions: lines of a period, discounts, gapless numbers, generation
exactly once per subscription and period, a dry-run preview and the PDF.

Public entry points (others call these)::

    lines_for_period(sub, start, end) -> list[InvoiceLine]   # .lines
    generate_for_period(sub, start, end) -> Invoice | None   # .generate
    preview(sub, now=None) -> dict                           # .previews
    numbering.next_number(issuer) -> (sequence, number)      # .numbering

Imported lazily here so ``billing.invoicing.numbering`` stays importable alone.
"""


def lines_for_period(sub, start, end):
    from .lines import lines_for_period as run

    return run(sub, start, end)


def generate_for_period(sub, start, end):
    from .generate import generate_for_period as run

    return run(sub, start, end)


def preview(sub, now=None):
    from .previews import preview as run

    return run(sub, now=now)
