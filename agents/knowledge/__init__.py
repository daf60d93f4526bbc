"""Knowledge bases: extraction, chunking, full-text and vector search, RAG evaluation.

Pure functions over models; the writes (ingestion, evaluation runs) are in
``agents.services.knowledge``."""
