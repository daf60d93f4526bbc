"""An invoice as a PDF, drawn with fpdf2 (pure Python: no system libraries).

The built-in Helvetica covers Latin-1; other characters are transliterated (dashes to
``-``, ``€`` to ``EUR``, accents of other scripts dropped) or shown as ``?``, so any
customer name renders.  The invoice number is also the document's title (metadata).
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from fpdf import FPDF

from ..models import Invoice, InvoiceLine
from ..money import format_money

_REPLACE = {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u2018": "'",
            "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u20ac": "EUR", "\u2022": "*",
            "\u00a0": " ", "\u202f": " "}


def latin1(text) -> str:
    out = []
    for char in str(text or ""):
        char = _REPLACE.get(char, char)
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode(
                "latin-1")
            char = base or "?"
        out.append(char)
    return "".join(out)


def _date(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "-"


def _qty(value) -> str:
    value = Decimal(value).normalize()
    return f"{value:,f}" if value == value.to_integral() else f"{value:f}"


class _Doc(FPDF):
    def __init__(self, invoice: Invoice):
        super().__init__(format="A4")
        self.invoice = invoice
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def text_line(self, text, *, size=10, bold=False, height=5, align="L", width=0):
        self.set_font("Helvetica", "B" if bold else "", size)
        self.cell(width, height, latin1(text), align=align,
                  new_x="LMARGIN" if not width else "RIGHT",
                  new_y="NEXT" if not width else "TOP")

    def block(self, text, *, size=9, height=4.5):
        self.set_font("Helvetica", "", size)
        self.multi_cell(0, height, latin1(text), new_x="LMARGIN", new_y="NEXT")

    def footer(self):
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 5, latin1(f"{self.invoice.number or 'Draft'} - page {self.page_no()}"),
                  align="C")


def _parties(doc: _Doc, invoice: Invoice) -> None:
    issuer, customer = invoice.issuer, invoice.customer
    doc.text_line(issuer.legal_name or issuer.name, size=14, bold=True, height=7)
    seller = [issuer.address, f"Tax id: {issuer.tax_id}" if issuer.tax_id else "",
              issuer.email]
    doc.block("\n".join(x for x in seller if x))
    doc.ln(4)
    title = "INVOICE" if invoice.number else "DRAFT INVOICE"
    doc.text_line(f"{title} {invoice.number}".strip(), size=16, bold=True, height=9)
    doc.text_line(f"Status: {invoice.get_status_display()}", size=9)
    doc.text_line(f"Issued: {_date(invoice.issued_at)}    Due: {_date(invoice.due_at)}",
                  size=9)
    if invoice.period_start:
        doc.text_line(f"Period: {_date(invoice.period_start)} to {_date(invoice.period_end)}",
                      size=9)
    doc.ln(3)
    doc.text_line("Bill to", bold=True)
    if customer is not None:
        buyer = [customer.name, customer.address,
                 f"Tax id: {customer.tax_id}" if customer.tax_id else "", customer.email]
    else:
        buyer = [invoice.workspace.name]
    doc.block("\n".join(x for x in buyer if x))
    doc.ln(4)


def _lines(doc: _Doc, invoice: Invoice, lines: list[InvoiceLine]) -> None:
    currency = invoice.currency
    doc.set_font("Helvetica", "", 9)
    with doc.table(col_widths=(95, 20, 30, 30), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=5.5, first_row_as_headings=True) as table:
        table.row(["Description", "Quantity", "Unit (minor)", "Amount"])
        for line in lines:
            table.row([latin1(line.description), _qty(line.quantity),
                       _qty(line.unit_amount), latin1(format_money(line.amount, currency))])
    doc.ln(3)


def _totals(doc: _Doc, invoice: Invoice) -> None:
    currency = invoice.currency
    rows = [("Subtotal", invoice.subtotal)]
    if invoice.discount:
        rows.append(("Discount", -invoice.discount))
    rows.append((f"Tax ({Decimal(invoice.tax_rate).normalize():f}%)", invoice.tax))
    rows.append(("Total", invoice.total))
    if invoice.credits_applied:
        rows.append(("Credits applied", -invoice.credits_applied))
    if invoice.amount_paid:
        rows.append(("Paid", -invoice.amount_paid))
    rows.append(("Amount due", invoice.amount_due - invoice.amount_paid
                 if invoice.status != Invoice.Status.PAID else 0))
    for label, amount in rows:
        bold = label in ("Total", "Amount due")
        doc.set_x(doc.l_margin + 95)
        doc.text_line(label, bold=bold, width=50, height=6)
        doc.text_line(format_money(amount, currency), bold=bold, width=30, height=6,
                      align="R")
        doc.ln(6)


def _instructions(doc: _Doc, invoice: Invoice) -> None:
    doc.ln(4)
    doc.text_line("Payment", bold=True)
    status = invoice.status
    if status == Invoice.Status.PAID:
        doc.block(f"Paid on {_date(invoice.paid_at)}. Thank you.")
    elif status == Invoice.Status.VOID:
        doc.block("This invoice is void: nothing is to be paid.")
    elif invoice.issuer.bank_details:
        doc.block(f"Please pay {format_money(invoice.amount_due, invoice.currency)} by "
                  f"{_date(invoice.due_at)}, quoting {invoice.number or 'the invoice number'}"
                  f", to:\n{invoice.issuer.bank_details}")
    else:
        doc.block(f"Please pay {format_money(invoice.amount_due, invoice.currency)} by "
                  f"{_date(invoice.due_at)}, quoting {invoice.number or 'the invoice number'}.")
    if invoice.memo:
        doc.ln(2)
        doc.block(invoice.memo)


def render(invoice: Invoice) -> bytes:
    """The invoice's PDF (``%PDF-...``)."""
    kind = InvoiceLine.Kind
    lines = sorted(invoice.lines.order_by("id"),  # the fee first, discounts last
                   key=lambda line: (line.kind != kind.SUBSCRIPTION, line.kind == kind.DISCOUNT))
    doc = _Doc(invoice)
    doc.set_title(latin1(f"Invoice {invoice.number or invoice.pk}"))
    doc.set_author(latin1(invoice.issuer.name))
    doc.set_subject(latin1(invoice.number or f"Draft invoice {invoice.pk}"))
    doc.set_creator("Synapscale")
    doc.add_page()
    _parties(doc, invoice)
    _lines(doc, invoice, lines)
    _totals(doc, invoice)
    _instructions(doc, invoice)
    return bytes(doc.output())


def filename(invoice: Invoice) -> str:
    return f"{invoice.number or f'draft-invoice-{invoice.pk}'}.pdf"
