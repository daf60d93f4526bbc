"""The invoice PDF (fpdf2, no system libraries): a real PDF naming the invoice and its
parties, whatever characters the names use."""

import re
import zlib

import pytest

from billing.invoicing import generate_for_period
from billing.models import PaymentCustomer
from billing.services import invoices as services
from tests.billing.invoices_support import FEB, JAN, subscription
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db


def page_text(pdf: bytes) -> bytes:
    """The PDF's content streams, inflated (fpdf2 compresses them)."""
    out = b""
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out += zlib.decompress(stream)
        except zlib.error:
            out += stream
    return out


def test_the_pdf_is_a_pdf_with_the_number_parties_and_totals(issuer):
    issuer.bank_details = "IBAN PT50 0000 0000 0000 0000 0000 0"
    issuer.save()
    sub = subscription(price=3000, tax_rate="23",
                       coupon=CouponFactory(code="welcome", percent_off=10))
    invoice = generate_for_period(sub, JAN, FEB)

    pdf = services.pdf_bytes(invoice)

    assert pdf.startswith(b"%PDF-")
    assert invoice.number.encode() in pdf  # the document's title
    text = page_text(pdf)
    for shown in (invoice.number, "Acme Lda", issuer.legal_name, "Coupon welcome",
                  "USD 30.00", "USD -3.00", "23%", "USD 6.21", "USD 33.21",
                  "IBAN PT50", "2026-02-01"):
        assert shown.encode() in text, shown


def test_names_outside_latin_1_still_render(issuer):
    sub = subscription(price=1000, tax_rate="0")
    PaymentCustomer.objects.filter(workspace=sub.workspace).update(
        name="\u014csaka Trading \u2013 \u5927\u962a \u201cLtd\u201d")
    invoice = generate_for_period(sub, JAN, FEB)

    pdf = services.pdf_bytes(invoice)

    assert pdf.startswith(b"%PDF-")
    assert b'Osaka Trading - ?? "Ltd"' in page_text(pdf)


def test_the_file_is_named_after_the_number(issuer):
    invoice = generate_for_period(subscription(price=1000), JAN, FEB)

    assert services.pdf_filename(invoice) == "INV-000001.pdf"
