"""Knowledge search: full text, fused with vectors when the base has an embedding model.

PostgreSQL: ``search_vector @@ websearch_to_tsquery(language, q)`` ranked by
``ts_rank_cd`` (GIN-indexed).  ``websearch_to_tsquery`` ANDs the words, which misses
questions phrased unlike the text, so chunks matching all words come first, then those
matching all but one, and so on down to any word, unless the query uses the websearch
syntax (quotes, ``-word``, ``or``).  Each step ranks a bounded number of its matches, so
a common word costs the same as a rare one.  Other databases (SQLite
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
from itertools import combinations
from operator import or_

from django.db import connection
from django.db.models import Q

log = logging.getLogger(__name__)

#: Reciprocal-rank fusion constant (Cormack et al. 2009).
RRF_K = 60
MAX_QUERY = 1000
#: Chunks ranked per level of the PostgreSQL search for a query of up to 4 words; fewer
#: for longer ones, as ranking costs about the same per word and chunk (see ``_RANKED``).
CANDIDATES = 2000
#: "At least m of the n words" levels of more words than this in all are skipped: GIN
#: checks every match against the whole expression (a long question would take seconds).
MAX_OPERANDS = 64
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
    found: list[tuple[int, float]] = []
    with connection.cursor() as cursor:
        levels, words = _levels(cursor, knowledge_base.language, query)
        candidates = max(CANDIDATES * 4 // max(words, 4), limit)
        for match, rank in levels:
            if len(found) >= limit:
                break
            cursor.execute(_RANKED.format(table=_chunk_table()), {
                "kb": knowledge_base.pk, "match": match, "rank": rank,
                "found": [i for i, _ in found], "candidates": candidates,
                "limit": limit - len(found)})
            found.extend((chunk_id, float(score)) for chunk_id, score in cursor.fetchall())
    return found


# Ranking reads every candidate's tsvector, so it is what grows with the corpus (a common
# word matches a fifth of the bench's 100,000 chunks: 150-250 ms to rank them all), while
# the GIN match stays cheap.  So each level ranks a bounded number of its matches (or the
# number asked for, if more), taken in the order the index hands them over: past that
# many matches the query's words are common ones and the order among them says little.
_RANKED = """
    SELECT id, ts_rank_cd(search_vector, %(rank)s::tsquery) AS score
    FROM (SELECT id, search_vector, document_id, position FROM {table}
          WHERE knowledge_base_id = %(kb)s AND search_vector @@ %(match)s::tsquery
                AND NOT (id = ANY(%(found)s::bigint[]))
          LIMIT %(candidates)s) AS candidates
    ORDER BY score DESC, document_id, position
    LIMIT %(limit)s
"""


def _levels(cursor, language: str, query: str) -> tuple[list[tuple[str, str]], int]:
    """``(tsquery to match, tsquery to rank by)`` from the strictest: the query as typed
    (websearch syntax: all words), then all words but one, but two, ... down to any word,
    so a chunk with more of the words comes before one with fewer; and the number of
    words.  "At least m of n" is an OR of C(n, m) ANDs; levels of more than MAX_OPERANDS
    words in all are skipped (any word is always tried).  The looser levels rank by any
    word: cover density over an OR of ANDs costs several times more per chunk."""
    cursor.execute("SELECT websearch_to_tsquery(%(c)s::regconfig, %(q)s)::text, "
                   "array(SELECT lexeme FROM unnest(to_tsvector(%(c)s::regconfig, %(q)s)) "
                   "      ORDER BY positions[1])", {"c": language, "q": query})
    typed, lexemes = cursor.fetchone()
    if not typed:
        return [], 0  # only stop words
    levels = [(typed, typed)]
    n = len(lexemes)
    if _OPERATORS.search(query):
        return levels, n  # the user's own syntax: taken as is
    lexemes = [_quote(lexeme) for lexeme in lexemes]
    anyword = " | ".join(lexemes)
    for m in range(n - 1, 0, -1):
        if m == 1 or math.comb(n, m) * m <= MAX_OPERANDS:
            levels.append((" | ".join("(" + " & ".join(words) + ")"
                                      for words in combinations(lexemes, m)), anyword))
    return levels, n


def _quote(lexeme: str) -> str:
    """A lexeme as a tsquery operand, taken verbatim (it is already normalised)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _chunk_table() -> str:
    from agents.models import Chunk

    return connection.ops.quote_name(Chunk._meta.db_table)


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
