"""The vector store: one function, so pgvector (an ``embedding <=> %s`` ORDER BY) can
replace this scan where the extension exists without touching its callers."""

from __future__ import annotations

import heapq
import math


def nearest(knowledge_base, vector: list[float], k: int) -> list[tuple[int, float]]:
    """The ``k`` chunks of the base most similar to ``vector``: ``(chunk id, cosine)``,
    best first.  Chunks without an embedding, or of another dimension, are skipped."""
    from agents.models import Chunk

    norm = math.sqrt(sum(x * x for x in vector))
    if k <= 0 or not norm:
        return []
    rows = (Chunk.objects.filter(knowledge_base=knowledge_base, embedding__isnull=False)
            .values_list("id", "embedding").iterator(chunk_size=2000))

    def scored():
        for chunk_id, embedding in rows:
            if not isinstance(embedding, list) or len(embedding) != len(vector):
                continue
            other = math.sqrt(sum(x * x for x in embedding))
            if other:
                yield sum(a * b for a, b in zip(vector, embedding, strict=True)) / (norm * other), \
                    -chunk_id

    return [(-negated, score) for score, negated in heapq.nlargest(k, scored())]
