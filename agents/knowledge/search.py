"""Knowledge search: full text, fused with vectors when the base has an embedding model.

PostgreSQL: ``search_vector @@ websearch_to_tsquery(language, q)`` ranked by
``ts_rank_cd`` (GIN-indexed).  ``websearch_to_tsquery`` ANDs the words, which misses
questions phrased unlike the text, so chunks matching all words come first and chunks
matching some of them follow (the same words joined by ``or``) unless the query uses
the websearch syntax (quotes, ``-word``, ``or``).  Other databases (SQLite
in development): a portable scan — LIKE pre-filter, BM25 scoring in Python — with the
same "all words first" order.  With embeddings, the two rankings are combined by
reciprocal-rank fusion (score = sum of 1 / (60 + rank)).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import F, Q

log = logging.getLogger(__name__)

#: Reciprocal-rank fusion constant (Cormack et al. 2009).
RRF_K = 60
MAX_QUERY = 1000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
#: websearch syntax (phrases, exclusions, or): the user said what they want, take it as is.
_OPERATORS = re.compile(r'"|(?:^|\s)-\w|\bor\b', re.IGNORECASE)
_STOP = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from",
    "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no",
    "not", "of", "on", "or", "our", "so", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "to", "was", "we", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your"])


@dataclass
class Hit:
    chunk_id: int
    document_id: int
    document_title: str
    position: int
    text: str
    score: float
    rank: int
    start_offset: int = 0
    end_offset: int = 0

    def as_dict(self) -> dict:
        return {"chunk": self.chunk_id, "document": self.document_id,
                "document_title": self.document_title, "position": self.position,
                "start_offset": self.start_offset, "end_offset": self.end_offset,
                "text": self.text, "score": self.score, "rank": self.rank}


def search(knowledge_base, query: str, *, k: int = 5) -> list[Hit]:
    query = (query or "").strip()[:MAX_QUERY]
    if not query or k <= 0:
        return []
    pool = max(k * 4, 20) if knowledge_base.embedding_model_id else k
    ranked = full_text(knowledge_base, query, limit=pool)
    if knowledge_base.embedding_model_id:
        vector = _query_vector(knowledge_base, query)
        if vector is not None:
            from .vectors import nearest

            ranked = fuse([ranked, nearest(knowledge_base, vector, pool)])
    return _hits(ranked[:k])


def full_text(knowledge_base, query: str, *, limit: int) -> list[tuple[int, float]]:
    """``(chunk id, score)`` best first."""
    if connection.vendor == "postgresql":
        return _postgres(knowledge_base, query, limit)
    return portable(knowledge_base, query, limit)


def fuse(rankings: list[list[tuple[int, float]]]) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _score) in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def _postgres(knowledge_base, query: str, limit: int) -> list[tuple[int, float]]:
    from django.contrib.postgres.search import SearchQuery, SearchRank

    from agents.models import Chunk

    chunks = Chunk.objects.filter(knowledge_base=knowledge_base)
    found: list[tuple[int, float]] = []
    words = [w for w in _WORD.findall(query.lower()) if w != "or"]
    queries = [SearchQuery(query, config=knowledge_base.language, search_type="websearch")]
    if len(words) > 1 and not _OPERATORS.search(query):
        queries.append(SearchQuery(" or ".join(words), config=knowledge_base.language,
                                   search_type="websearch"))
    for tsquery in queries:
        if len(found) >= limit:
            break
        rows = (chunks.filter(search_vector=tsquery)
                .exclude(pk__in=[chunk_id for chunk_id, _ in found])
                .annotate(score=SearchRank(F("search_vector"), tsquery, cover_density=True))
                .order_by("-score", "document_id", "position")
                .values_list("id", "score")[:limit - len(found)])
        found.extend((chunk_id, float(score)) for chunk_id, score in rows)
    return found


def terms(query: str) -> list[str]:
    words = [w for w in _WORD.findall(query.lower()) if len(w) > 1 and w not in _STOP]
    return list(dict.fromkeys(_stem(w) for w in words))


def _stem(word: str) -> str:
    # Prefix matching does the rest: "invoice" finds "invoices" and "invoiced".
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def portable(knowledge_base, query: str, limit: int) -> list[tuple[int, float]]:
    """BM25 over the chunks containing a query word; any database."""
    from agents.models import Chunk

    words = terms(query)
    if not words:
        return []
    chunks = Chunk.objects.filter(knowledge_base=knowledge_base)
    total = chunks.count()
    candidates = list(chunks.filter(reduce(or_, (Q(text__icontains=w) for w in words)))
                      .values_list("id", "text"))
    if not candidates:
        return []
    patterns = {w: re.compile(r"\b" + re.escape(w), re.IGNORECASE) for w in words}
    counts = [(chunk_id, len(text), {w: len(p.findall(text)) for w, p in patterns.items()})
              for chunk_id, text in candidates]
    average = sum(length for _, length, _ in counts) / len(counts) or 1.0
    frequency = {w: sum(1 for _, _, c in counts if c[w]) for w in words}
    idf = {w: math.log(1 + (total - frequency[w] + 0.5) / (frequency[w] + 0.5)) for w in words}
    scored = []
    for chunk_id, length, tf in counts:
        matched = sum(1 for w in words if tf[w])
        if not matched:
            continue  # LIKE matched inside a word only
        norm = 1.2 * (0.25 + 0.75 * length / average)
        score = sum(idf[w] * tf[w] * 2.2 / (tf[w] + norm) for w in words if tf[w])
        scored.append((matched == len(words), score, chunk_id))
    scored.sort(key=lambda row: (not row[0], -row[1], row[2]))
    return [(chunk_id, score) for _, score, chunk_id in scored[:limit]]


def _query_vector(knowledge_base, query: str) -> list[float] | None:
    """The query's embedding; ``None`` (full text only) when the provider fails, so a
    provider outage degrades search instead of breaking every chat turn."""
    from agents.providers.base import ProviderError
    from agents.services import calls

    try:
        result = calls.embed_texts(model=knowledge_base.embedding_model, texts=[query],
                                   workspace_id=knowledge_base.workspace_id,
                                   source="embedding")
    except ProviderError as exc:
        log.warning("knowledge search %s: embeddings unavailable (%s); full text only",
                    knowledge_base.pk, exc.code)
        return None
    return result.vectors[0] if result.vectors else None


def _hits(ranked: list[tuple[int, float]]) -> list[Hit]:
    from agents.models import Chunk

    rows = {c.pk: c for c in Chunk.objects.filter(pk__in=[i for i, _ in ranked])
            .select_related("document").only("id", "document_id", "document__title",
                                             "position", "text", "start_offset", "end_offset")}
    hits = []
    for chunk_id, score in ranked:
        chunk = rows.get(chunk_id)
        if chunk is not None:
            hits.append(Hit(chunk.pk, chunk.document_id, chunk.document.title, chunk.position,
                            chunk.text, round(score, 6), len(hits) + 1, chunk.start_offset,
                            chunk.end_offset))
    return hits
