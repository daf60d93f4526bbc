"""RAG evaluation maths: a question hits when one of its expected documents is among the
top ``k`` chunks found; its reciprocal rank is 1/rank of the first such chunk (0 when
none is in the top k).  Hit rate@k and MRR@k are the means over the questions."""

from __future__ import annotations


def first_rank(found_documents: list[int], expected: set[int], k: int) -> int | None:
    """1-based rank of the first chunk (in search order) from an expected document."""
    for rank, document_id in enumerate(found_documents[:k], start=1):
        if document_id in expected:
            return rank
    return None


def scores(ranks: list[int | None]) -> tuple[float, float]:
    """(hit rate, MRR) of the questions' first ranks; (0, 0) for no questions."""
    if not ranks:
        return 0.0, 0.0
    hits = sum(1 for r in ranks if r is not None)
    reciprocal = sum(1.0 / r for r in ranks if r is not None)
    return hits / len(ranks), reciprocal / len(ranks)
