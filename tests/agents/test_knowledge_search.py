"""Knowledge search over a hand-made corpus (one topic per document), on PostgreSQL full
text and on the portable fallback, and RAG evaluation scored on it."""

import pytest

from agents.knowledge import evaluation
from agents.knowledge import search as search_module
from agents.models import Chunk, Document, EvaluationRun
from agents.services import knowledge as svc
from tests.factories import EvaluationQuestionFactory, KnowledgeBaseFactory

pytestmark = pytest.mark.django_db

CORPUS = {
    "Returns": "You may return an item within 30 days of delivery. Refunds go back to the "
               "original payment method once the returned parcel reaches our warehouse.",
    "Passwords": "To reset your password, open the sign-in page and choose Forgot password. "
                 "We email a reset link that stays valid for one hour.",
    "Shipping": "We ship parcels to Canada, Mexico and Europe. International shipping takes "
                "five to ten business days and customs duties are paid on arrival.",
    "Invoices": "Every invoice shows your VAT number. Download invoices as PDF from the "
                "billing page; corrected invoices replace the old ones.",
    "Subscriptions": "Cancel a subscription at any time from the plan settings. The "
                     "subscription stays active until the end of the paid period.",
    "Gift cards": "A gift card never expires. Check a gift card balance online; a gift "
                  "card can pay for part of an order and the gift card keeps the rest.",
    "Warranty": "The warranty covers repairs of a broken screen or battery for two years. "
                "Send the device to an authorised repair centre.",
    "Security": "Turn on two-factor authentication: after the password, enter the six digit "
                "code from your authenticator app.",
    "Stores": "Our stores open at nine and close at six; on Sunday opening hours are ten "
              "to four.",
    "Loyalty": "Loyalty points are earned on every purchase and expire after one year. "
               "Points can be exchanged for a gift card.",
}


@pytest.fixture(params=["native", "portable"])
def engine(request, monkeypatch):
    """native: the database's own search (PostgreSQL full text, or the fallback on
    SQLite); portable: the fallback forced, whatever the database."""
    if request.param == "portable":
        monkeypatch.setattr(search_module, "_postgres", search_module.portable)
    return request.param


@pytest.fixture
def corpus(django_capture_on_commit_callbacks):
    kb = KnowledgeBaseFactory(language="english", chunk_size=400, chunk_overlap=50)
    with django_capture_on_commit_callbacks(execute=True):
        docs = {title: svc.document_create(knowledge_base=kb, title=title, text=text)
                for title, text in CORPUS.items()}
    for doc in docs.values():
        doc.refresh_from_db()
    return kb, docs


def test_ingestion_indexes_every_document(corpus):
    kb, docs = corpus
    assert {d.status for d in docs.values()} == {Document.Status.READY}
    assert Chunk.objects.filter(knowledge_base=kb).count() == len(CORPUS)
    chunk = Chunk.objects.get(document=docs["Stores"])
    assert chunk.text == CORPUS["Stores"]
    assert (chunk.start_offset, chunk.end_offset) == (0, len(CORPUS["Stores"]))


@pytest.mark.parametrize(("query", "title"), [
    ("How long do I have to return an item?", "Returns"),
    ("reset my password", "Passwords"),
    ("shipping to Canada", "Shipping"),
    ("invoice VAT number", "Invoices"),
    ("cancel my subscription", "Subscriptions"),
    ("gift card balance", "Gift cards"),
    ("broken screen repair", "Warranty"),
    ("two-factor authentication code", "Security"),
    ("Sunday opening hours", "Stores"),
    ("when do loyalty points expire", "Loyalty"),
])
def test_search_returns_the_expected_chunk_first(corpus, engine, query, title):
    kb, docs = corpus
    hits = search_module.search(kb, query, k=3)
    assert hits, query
    assert hits[0].document_id == docs[title].pk
    assert hits[0].document_title == title
    assert hits[0].text == CORPUS[title]
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_search_of_unknown_words_finds_nothing(corpus, engine):
    kb, _ = corpus
    assert search_module.search(kb, "quantum chromodynamics", k=5) == []
    assert search_module.search(kb, "   ", k=5) == []


def test_search_stays_in_its_knowledge_base(corpus, engine, django_capture_on_commit_callbacks):
    kb, _ = corpus
    other = KnowledgeBaseFactory(workspace=kb.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        svc.document_create(knowledge_base=other, title="Other", text="Reset the password.")
    assert {h.document_title for h in search_module.search(kb, "password", k=10)} \
        == {"Passwords", "Security"}
    assert [h.document_title for h in search_module.search(other, "password")] == ["Other"]


@pytest.mark.postgres
def test_postgres_fills_the_search_vector_in_the_base_language(corpus):
    kb, docs = corpus
    chunk = Chunk.objects.get(document=docs["Returns"])
    assert chunk.search_vector is not None
    # English stemming: "returned" matches "return"; websearch syntax is honoured.
    hits = search_module.search(kb, '"returned parcel" -coupon', k=3)
    assert [h.document_title for h in hits] == ["Returns"]


def test_evaluation_reports_hit_rate_and_mrr(corpus, engine,
                                             django_capture_on_commit_callbacks):
    kb, docs = corpus

    def ask(question, *titles):
        q = EvaluationQuestionFactory(workspace=kb.workspace, knowledge_base=kb,
                                      question=question)
        q.expected_documents.set([docs[t] for t in titles])

    ask("How long do I have to return an item?", "Returns")       # rank 1
    ask("reset my password", "Passwords", "Security")             # rank 1 (either counts)
    # Both mention gift cards; the gift card article says it four times: Loyalty is 2nd.
    ask("gift card", "Loyalty")                                   # rank 2
    ask("quantum chromodynamics lecture", "Stores")               # nothing found: a miss
    with django_capture_on_commit_callbacks(execute=True):
        run = svc.evaluation_start(knowledge_base=kb, k=3)
    run.refresh_from_db()
    assert run.status == EvaluationRun.Status.SUCCEEDED, run.error
    assert run.questions == 4
    # By hand: ranks 1, 1, 2, none -> hit rate 3/4, MRR (1 + 1 + 1/2 + 0) / 4.
    assert run.hit_rate == pytest.approx(0.75)
    assert run.mrr == pytest.approx(0.625)
    assert [r["rank"] for r in run.results] == [1, 1, 2, None]
    assert run.results[2]["found"][0]["document"] == docs["Gift cards"].pk


def test_evaluation_at_k1_counts_only_the_first_hit(corpus, engine,
                                                    django_capture_on_commit_callbacks):
    kb, docs = corpus
    q = EvaluationQuestionFactory(workspace=kb.workspace, knowledge_base=kb,
                                  question="gift card")
    q.expected_documents.set([docs["Loyalty"]])
    with django_capture_on_commit_callbacks(execute=True):
        run = svc.evaluation_start(knowledge_base=kb, k=1)
    run.refresh_from_db()
    assert (run.hit_rate, run.mrr) == (0.0, 0.0)


def test_evaluation_maths():
    assert evaluation.first_rank([7, 8, 9], {9}, 3) == 3
    assert evaluation.first_rank([7, 8, 9], {9}, 2) is None
    assert evaluation.scores([1, 3, None, 2]) == (0.75, pytest.approx((1 + 1 / 3 + 0.5) / 4))
    assert evaluation.scores([]) == (0.0, 0.0)


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = search_module.fuse([[(1, 9.0), (2, 5.0)], [(2, 0.9), (3, 0.8)]])
    assert [chunk for chunk, _ in fused] == [2, 1, 3]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


@pytest.mark.postgres
def test_postgres_ranks_chunks_with_more_of_the_words_first(django_capture_on_commit_callbacks):
    # No chunk has every word; the one with two of them beats the one that repeats one.
    kb = KnowledgeBaseFactory(language="english")
    with django_capture_on_commit_callbacks(execute=True):
        one = svc.document_create(knowledge_base=kb, title="One word",
                                  text="Refund. Refund, refund: the refund refund.")
        two = svc.document_create(knowledge_base=kb, title="Two words",
                                  text="We send a refund for a damaged parcel.")
        svc.document_create(knowledge_base=kb, title="None", text="Opening hours.")
    hits = search_module.search(kb, "How fast is a refund for a damaged item?", k=5)
    assert [h.document_id for h in hits] == [two.pk, one.pk]


@pytest.mark.postgres
def test_postgres_returns_as_many_hits_as_asked_beyond_the_ranked_candidates(corpus,
                                                                           monkeypatch):
    kb, docs = corpus
    monkeypatch.setattr(search_module, "CANDIDATES", 1)
    hits = search_module.search(kb, "gift card", k=2)
    assert [h.document_id for h in hits] == [docs["Gift cards"].pk, docs["Loyalty"].pk]


def test_search_takes_quotes_and_backslashes_as_text(corpus, engine):
    kb, docs = corpus
    hits = search_module.search(kb, "can't reset my pass\\word' o'clock \\", k=3)
    assert hits[0].document_id == docs["Passwords"].pk
