"""Celery tasks of knowledge bases: thin, given ids, safe to deliver twice (ingestion
skips an unchanged ready document; a finished evaluation is left as it is)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ..services import knowledge


@shared_task(name="agents.knowledge.ingest", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def ingest_document(document_id: int) -> dict:
    document = knowledge.document_ingest(document_id)
    if document is None:
        return {"document": document_id, "status": "gone"}
    return {"document": document_id, "status": document.status,
            "chunks": document.chunk_count}


@shared_task(name="agents.knowledge.evaluate", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=5,
             retry_jitter=True, max_retries=3)
def evaluate(run_id: int) -> dict:
    run = knowledge.evaluation_run(run_id)
    if run is None:
        return {"run": run_id, "status": "gone"}
    return {"run": run_id, "status": run.status, "hit_rate": run.hit_rate, "mrr": run.mrr}
