"""Extraction (PDF, HTML, Markdown, text; clear errors for the rest), chunking (overlap,
exact offsets, boundaries) and ingestion of uploaded files."""

import itertools

import pytest
from django.core.files.base import ContentFile

from agents.knowledge import extract
from agents.knowledge.chunking import chunk_text
from agents.models import Chunk, Document
from agents.services import knowledge as svc
from tests.factories import FileFactory, KnowledgeBaseFactory


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF written by hand (Helvetica text), with a correct xref table."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    for line in lines:
        ops.append(f"({line}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_is_extracted():
    data = minimal_pdf(["Refunds are paid within five days.", "Keep the receipt."])
    text = extract.extract(data, "pdf")
    assert "Refunds are paid within five days." in text
    assert "Keep the receipt." in text


def test_unreadable_pdf_is_a_clear_error():
    with pytest.raises(extract.ExtractionError, match="PDF"):
        extract.extract(b"%PDF-1.4 this is not really a pdf", "pdf")


def test_html_drops_scripts_and_styles_and_keeps_paragraphs():
    html = (b"<html><head><title>T</title><style>p{color:red}</style></head><body>"
            b"<h1>Returns</h1><p>Send it back&nbsp;in 30 days.</p>"
            b"<script>alert('secret')</script><p>Keep the <b>receipt</b>.</p></body></html>")
    text = extract.extract(html, "html")
    assert text == "Returns\n\nSend it back in 30 days.\n\nKeep the receipt."
    assert "alert" not in text and "color" not in text


def test_markdown_markup_is_stripped():
    md = (b"# Shipping\n\nWe ship **fast** to [Canada](https://example.com/ca).\n\n"
          b"- five days\n- `tracked`\n")
    assert extract.extract(md, "markdown") == \
        "Shipping\n\nWe ship fast to Canada.\n\nfive days\ntracked"


def test_plain_text_decodes_and_refuses_binary():
    assert extract.extract("caf\u00e9 ol\u00e9".encode("cp1252"), "text") == "café olé"
    with pytest.raises(extract.ExtractionError, match="binary"):
        extract.extract(b"\x89PNG\r\n\x1a\n\x00\x00", "text")


@pytest.mark.parametrize(("content_type", "name", "kind"), [
    ("application/pdf", "x", "pdf"), ("text/html; charset=utf-8", "", "html"),
    ("", "notes.MD", "markdown"), ("application/octet-stream", "a.txt", "text"),
])
def test_kind_by_content_type_then_extension(content_type, name, kind):
    assert extract.kind_of(content_type, name) == kind


def test_unsupported_kind_names_what_is_accepted():
    with pytest.raises(extract.ExtractionError, match=r"image/png.*PDF, HTML, Markdown"):
        extract.kind_of("image/png", "photo.png")


TEXT = ("Orders ship in two days. Returns are free for thirty days.\n\n"
        "Invoices are emailed after payment. A corrected invoice replaces the first one. "
        "Gift cards never expire and can pay for part of an order.\n\n"
        "Our stores open at nine. On Sundays they open at ten and close at four. "
        "Loyalty points expire after a year.")


@pytest.mark.parametrize(("size", "overlap"), [(60, 15), (100, 30), (150, 0), (40, 39)])
def test_chunks_have_exact_offsets_and_overlap(size, overlap):
    pieces = chunk_text(TEXT, size=size, overlap=overlap)
    assert len(pieces) > 1
    for piece in pieces:
        assert TEXT[piece.start:piece.end] == piece.text
        assert 0 < len(piece.text) <= size
        assert piece.text == piece.text.strip()
    for before, after in itertools.pairwise(pieces):
        assert after.start > before.start
        shared = before.end - after.start
        assert shared <= overlap
        if overlap >= 15:
            assert shared > 0, (before, after)  # neighbours share text
    # Nothing is lost: every word of the text is in some chunk at its place.
    covered = set()
    for piece in pieces:
        covered.update(range(piece.start, piece.end))
    assert all(i in covered for i, ch in enumerate(TEXT) if not ch.isspace())


def test_chunks_prefer_paragraph_then_sentence_ends():
    pieces = chunk_text(TEXT, size=100, overlap=0)
    assert pieces[0].text == "Orders ship in two days. Returns are free for thirty days."
    assert pieces[1].text.startswith("Invoices are emailed after payment.")
    assert pieces[1].text.endswith(".")


def test_short_text_is_one_chunk_and_bad_settings_refused():
    assert [(p.start, p.end) for p in chunk_text("  Hello.  ", size=100, overlap=10)] \
        == [(2, 8)]
    assert chunk_text("", size=100, overlap=10) == []
    with pytest.raises(ValueError):
        chunk_text("x", size=100, overlap=100)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content_type", "data", "expected"), [
    ("guide.pdf", "application/pdf", minimal_pdf(["Warranty covers screens."]),
     "Warranty covers screens."),
    ("page.html", "text/html", b"<p>Warranty <i>covers</i> screens.</p><script>x()</script>",
     "Warranty covers screens."),
    ("notes.md", "", b"## Warranty\n\ncovers *screens*.", "Warranty\n\ncovers screens."),
])
def test_uploaded_files_are_ingested(django_capture_on_commit_callbacks, name, content_type,
                                     data, expected):
    kb = KnowledgeBaseFactory()
    upload = FileFactory(workspace=kb.workspace, name=name, content_type=content_type,
                         file=ContentFile(data, name=name))
    with django_capture_on_commit_callbacks(execute=True):
        document = svc.document_create(knowledge_base=kb, title="Warranty", file=upload)
    document.refresh_from_db()
    assert document.status == Document.Status.READY, document.error
    assert document.characters == len(expected)
    assert len(document.checksum) == 64
    assert [c.text for c in Chunk.objects.filter(document=document)] == [expected]


@pytest.mark.django_db
def test_unsupported_upload_refused_and_unreadable_one_fails_clearly(
        django_capture_on_commit_callbacks):
    kb = KnowledgeBaseFactory()
    image = FileFactory(workspace=kb.workspace, name="photo.png", content_type="image/png",
                        file=ContentFile(b"\x89PNG", name="photo.png"))
    with pytest.raises(svc.ValidationError) as refused:
        svc.document_create(knowledge_base=kb, title="Photo", file=image)
    assert "Unsupported file type" in str(refused.value.message_dict["file"])
    broken = FileFactory(workspace=kb.workspace, name="broken.pdf",
                         content_type="application/pdf",
                         file=ContentFile(b"not a pdf at all", name="broken.pdf"))
    with django_capture_on_commit_callbacks(execute=True):
        document = svc.document_create(knowledge_base=kb, title="Broken", file=broken)
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "The PDF cannot be read" in document.error
    assert not Chunk.objects.filter(document=document).exists()


@pytest.mark.django_db
def test_reingestion_replaces_chunks_and_redelivery_is_a_no_op(
        django_capture_on_commit_callbacks):
    kb = KnowledgeBaseFactory(chunk_size=100, chunk_overlap=20)
    with django_capture_on_commit_callbacks(execute=True):
        document = svc.document_create(knowledge_base=kb, title="Policy", text=TEXT)
    first = list(Chunk.objects.filter(document=document).values_list("id", flat=True))
    assert len(first) > 2
    svc.document_ingest(document.pk)  # a redelivered task: same content, nothing redone
    assert list(Chunk.objects.filter(document=document).values_list("id", flat=True)) == first
    with django_capture_on_commit_callbacks(execute=True):
        svc.document_update(document, text="Only one short sentence now.")
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert list(Chunk.objects.filter(document=document).values_list("text", flat=True)) \
        == ["Only one short sentence now."]
    assert document.chunk_count == 1
