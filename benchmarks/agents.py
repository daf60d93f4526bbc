"""Agents on PostgreSQL: what the platform adds to a chat turn, knowledge search at
100,000 chunks, and the cost-by-day query over 1,000,000 usage logs.

(a) **Added latency per chat turn**: ``agents.services.chat.run_turn`` (a published
    agent, no tools or knowledge, a new conversation each turn: the quota check, the
    messages, the usage row and the event included) against a direct call with the
    OpenAI SDK to the same local server (``python -m agents.fake_llm``, started as a
    subprocess) with the same system and user messages.  p50 of each and the
    difference.  Target: the difference <= 15 ms at p50.
(b) **Knowledge search**: ``agents.knowledge.search.search`` (k=5) over one knowledge
    base of ``BENCH_AGENTS_CHUNKS`` chunks (default 100,000; 100 documents), made with
    ``generate_series`` with ``search_vector`` filled by ``to_tsvector`` in the same
    statement, then ANALYZE (the planner needs the lexeme statistics to pick the GIN
    index); ``QUERIES`` in turn (see there).  p50/p95.  Target: p95 <= 100 ms.
(c) **Cost by day**: tokens and cost per day of one workspace's last 30 days of
    ``LLMUsageLog`` with ``BENCH_AGENTS_LOGS`` rows (default 1,000,000 over 90 days, made
    with ``generate_series``), with the queries of ``GET /api/v1/agents/cost/?group_by=day``
    (``agents.cost.group`` and ``totals``).  p50, against a budget
    of ``COST_BUDGET_MS`` for an interactive page (ours, not the issue's).

Data is made once per database and reused (its counts are checked).  Times are
printed, never asserted.  Alone: ``python -m benchmarks --agents-only``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .timing import Case, Result, samples_ms

CHUNKS = int(os.environ.get("BENCH_AGENTS_CHUNKS") or 100_000)
LOGS = int(os.environ.get("BENCH_AGENTS_LOGS") or 1_000_000)
TURNS = int(os.environ.get("BENCH_AGENTS_TURNS") or 40)
SEARCHES = int(os.environ.get("BENCH_AGENTS_SEARCHES") or 200)
DOCUMENTS = 100
WORKSPACE = "bench-agents"
TARGET_ADDED_MS = 15.0
TARGET_SEARCH_P95_MS = 100.0
COST_BUDGET_MS = 1000.0
BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "bench"
SYSTEM = "You are a concise support assistant."
QUESTION = "Where is my order 1042? It was due yesterday."
# Support-desk words, the most frequent first (the generator favours the head of the list).
_HEAD = """
the order a to and of is your for in you we it with on be this item delivery can please
customer account shipping return refund payment invoice product days our will time
package tracking number address email support team help issue problem service warehouse
business policy store online card price discount code subscription plan renewal cancel
password login reset security warranty repair battery screen charger cable size colour
exchange damaged missing late express standard courier carrier label parcel box receipt
credit debit bank transfer tax vat currency euro dollar total amount charge fee balance
statement monthly annual contract terms conditions privacy data request export delete
profile settings notification newsletter mobile app browser update version error message
crash slow connection network outage maintenance schedule appointment booking calendar
restaurant hotel flight ticket seat baggage boarding gate passport visa insurance claim
accident vehicle engine tyre brake service centre dealer spare part catalogue stock supply
supplier manufacturer factory quality inspection certificate compliance audit report
"""
WORDS = _HEAD.split() + [f"sku{n}" for n in range(400)] + [f"ref{n}" for n in range(600)]
# What people type: questions with stop words, common and rare words, product codes, and
# words the corpus never uses ("delay", "arrived"), which leave the all-words match short
# and send about half of these through the looser "all words but one ... any word" levels.
QUERIES = [
    "How do I get a refund for a damaged item?", "express shipping delay",
    "Why was I charged a late fee on my invoice?", "cancel my subscription before renewal",
    "reset account password login", "my phone battery is damaged, is the warranty valid?",
    "sku17 out of stock, when will the supplier deliver?", "vat receipt in euro",
    "hotel booking insurance claim", "ref523", "courier label printed twice",
    "order", "change the shipping address of my order", "can I pay by bank transfer",
    "app crash after the last update", "tracking number missing parcel",
    "quality inspection certificate from the manufacturer for a spare part",
    "ref101 sku3", "password reset email never arrived", "quantum chromodynamics",
    # A chat message as it reaches the knowledge search (chat turns pass the user's text).
    "Hello, I placed an order last week with express courier delivery to my home address, "
    "but the tracking number shows the parcel is missing and nobody answered my email; I "
    "want a refund of the shipping fee charged to my credit card and an invoice with vat",
]


def run() -> list[Result]:
    if connection.vendor != "postgresql":
        print("agents benchmark skipped: it needs PostgreSQL", flush=True)
        return []
    workspace = _workspace()
    results = []
    turn = _chat_turn(workspace)
    if turn is not None:
        results.append(turn)
    results.append(_search(workspace))
    results.append(_cost_by_day(workspace))
    return results


def _workspace():
    from workspaces.models import Workspace

    workspace, _ = Workspace.objects.get_or_create(slug=WORKSPACE,
                                                   defaults={"name": "Benchmark agents"})
    return workspace


def _p(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-q * len(ordered) // 100) - 1)]


# --- (a) a chat turn over a direct SDK call -----------------------------------------------


class _FakeServer:
    """``python -m agents.fake_llm --port N`` as a subprocess, as ``make run`` starts it."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = LOG_DIR / "agents-fake-llm.log"

    def __enter__(self) -> _FakeServer:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agents.fake_llm", "--port", str(self.port)],
                cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the fake LLM server exited; see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the fake LLM server did not start; see {self.log}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _agent(workspace, url: str):
    """A published agent on a provider at ``url`` (made fresh: the port changes)."""
    from agents.models import Agent, AgentConfiguration, LLMModel, LLMProvider, ModelPrice

    stamp = time.strftime("%Y%m%d-%H%M%S")
    provider = LLMProvider.objects.create(workspace=workspace, name=f"bench fake {stamp}",
                                          base_url=url, max_retries=0, timeout=30)
    model = LLMModel.objects.create(workspace=workspace, provider=provider,
                                    name="gpt-4o-mini", capabilities=["tools", "json"])
    ModelPrice.objects.create(workspace=workspace, model=model,
                              input_per_million=Decimal("0.15"),
                              output_per_million=Decimal("0.60"))
    agent = Agent.objects.create(workspace=workspace, name=f"bench agent {stamp}")
    configuration = AgentConfiguration.objects.create(
        workspace=workspace, agent=agent, model=model, system_prompt=SYSTEM,
        temperature=Decimal("0.2"), max_tokens=256, max_steps=2, number=1,
        status=AgentConfiguration.Status.PUBLISHED)
    agent.live_configuration = configuration
    agent.save(update_fields=["live_configuration"])
    return agent, model


def _chat_turn(workspace) -> Result | None:
    try:
        import httpx
        import openai

        import agents.fake_llm  # noqa: F401  (the server this benchmark starts)
        from agents.services import chat
    except ImportError as exc:
        print(f"chat turn benchmark skipped: {exc}", flush=True)
        return None
    with _FakeServer() as server:
        settings.LLM_ALLOWED_HOSTS = [*settings.LLM_ALLOWED_HOSTS, f"127.0.0.1:{server.port}"]
        agent, model = _agent(workspace, server.url)
        client = openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0,
                               http_client=httpx.Client(trust_env=False))
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": QUESTION}]

        def direct(_):
            client.chat.completions.create(model=model.name, messages=messages,
                                           temperature=0.2, max_tokens=256)

        def turn(_):
            chat.run_turn(agent=agent, text=QUESTION, principal=None)

        sdk, platform = samples_ms(Case(direct), Case(turn), rounds=4, warmup=3,
                                   repeat=max(1, TURNS // 4))
        # After the timing (capturing costs time): what one turn asks of the database.
        with CaptureQueriesContext(connection) as captured:
            turn(None)
    sdk_p50, turn_p50 = statistics.median(sdk), statistics.median(platform)
    added = turn_p50 - sdk_p50
    figures = (f"run_turn p50 {turn_p50:.1f} ms (p95 {_p(platform, 95):.1f}), direct SDK "
               f"p50 {sdk_p50:.1f} ms: added {added:.1f} ms at p50 (target <= "
               f"{TARGET_ADDED_MS:g} ms), {len(platform)} turns, "
               f"{len(captured.captured_queries)} SQL statements a turn")
    # As one ratio to the direct call: turn <= direct + 15 ms.
    return Result("agents: chat turn / direct SDK call", figures, turn_p50 / sdk_p50,
                  round((sdk_p50 + TARGET_ADDED_MS) / sdk_p50, 2))


# --- (b) knowledge search -----------------------------------------------------------------


def _knowledge_base(workspace):
    from agents.models import Chunk, Document, KnowledgeBase

    kb, _ = KnowledgeBase.objects.get_or_create(
        workspace=workspace, name=f"bench {CHUNKS} chunks",
        defaults={"language": "english", "chunk_size": 800, "chunk_overlap": 100})
    if Chunk.objects.filter(knowledge_base=kb).count() == CHUNKS:
        return kb
    started = time.perf_counter()
    Document.objects.filter(knowledge_base=kb).delete()
    documents = Document.objects.bulk_create(
        Document(workspace=workspace, knowledge_base=kb, title=f"Support article {n}",
                 text="(generated for the benchmark)", status=Document.Status.READY,
                 chunk_count=CHUNKS // DOCUMENTS) for n in range(DOCUMENTS))
    # Each chunk: 80 words drawn from WORDS, favouring its head (a Zipf-like mix: common
    # words match many chunks, "skuN"/"refN" few), the tsvector computed by PostgreSQL.
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO agents_chunk (workspace_id, knowledge_base_id, document_id, position,
                                      start_offset, end_offset, text, search_vector)
            SELECT %(ws)s, %(kb)s, (%(docs)s::bigint[])[1 + g %% %(n_docs)s],
                   g / %(n_docs)s, 0, length(t), t, to_tsvector(%(lang)s::regconfig, t)
            FROM (
                SELECT g, (SELECT string_agg(
                              (%(words)s::text[])[1 + floor(%(n_words)s * power(
                                  (hashtext(g::text || '-' || i) & 1048575) / 1048576.0, 2)
                              )::int], ' ')
                           FROM generate_series(1, 80) i) AS t
                FROM generate_series(0, %(last)s) g
            ) generated
        """, {"ws": workspace.pk, "kb": kb.pk, "docs": [d.pk for d in documents],
              "n_docs": DOCUMENTS, "lang": kb.language, "words": WORDS,
              "n_words": len(WORDS), "last": CHUNKS - 1})
        cursor.execute("ANALYZE agents_chunk")
    print(f"agents: {CHUNKS:,} chunks made in {time.perf_counter() - started:.1f}s",
          flush=True)
    return kb


def _search(workspace) -> Result:
    from agents.knowledge.search import search

    kb = _knowledge_base(workspace)
    queries = iter(QUERIES * (SEARCHES // len(QUERIES) + 1))
    [times] = samples_ms(Case(lambda q: search(kb, q, k=5), prepare=lambda: next(queries)),
                         rounds=1, warmup=len(QUERIES), repeat=SEARCHES - len(QUERIES))
    p50, p95 = _p(times, 50), _p(times, 95)
    figures = (f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms over "
               f"{len(times)} searches (k=5) of {CHUNKS:,} chunks (target p95 <= "
               f"{TARGET_SEARCH_P95_MS:g} ms)")
    return Result("agents: knowledge search p95 / 100 ms", figures, p95 / TARGET_SEARCH_P95_MS,
                  1.0)


# --- (c) cost by day ----------------------------------------------------------------------


def _usage_logs(workspace) -> None:
    from agents.models import Agent, LLMModel, LLMProvider, LLMUsageLog

    if LLMUsageLog.objects.filter(workspace=workspace).count() >= LOGS:
        return
    started = time.perf_counter()
    LLMUsageLog.objects.filter(workspace=workspace).delete()
    provider, _ = LLMProvider.objects.get_or_create(
        workspace=workspace, name="bench usage provider",
        defaults={"base_url": "https://api.openai.example/v1"})
    models = [LLMModel.objects.get_or_create(workspace=workspace, provider=provider,
                                             name=name)[0]
              for name in ("gpt-4o-mini", "gpt-4o")]
    agents = [Agent.objects.get_or_create(workspace=workspace, name=f"bench usage agent {n}")[0]
              for n in range(5)]
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO agents_llmusagelog (
                workspace_id, created_at, source, status, provider_id, model_id, model_name,
                agent_id, node_key, tokens_in, tokens_out, cached_tokens, cost, currency,
                latency_ms, request_id, error)
            SELECT %(ws)s, now() - (g %% (90 * 1440)) * interval '1 minute',
                   'chat', CASE WHEN g %% 50 = 0 THEN 'error' ELSE 'ok' END, %(provider)s,
                   (%(models)s::bigint[])[1 + g %% 2], (%(names)s::text[])[1 + g %% 2],
                   (%(agents)s::bigint[])[1 + g %% 5], '', 200 + g %% 1800, 20 + g %% 400,
                   0, ((200 + g %% 1800) * 0.15 + (20 + g %% 400) * 0.6) / 1000000.0, 'USD',
                   300 + g %% 2000, 'bench-' || g, ''
            FROM generate_series(1, %(n)s) g
        """, {"ws": workspace.pk, "provider": provider.pk, "models": [m.pk for m in models],
              "names": [m.name for m in models], "agents": [a.pk for a in agents], "n": LOGS})
        cursor.execute("ANALYZE agents_llmusagelog")
    print(f"agents: {LOGS:,} usage logs made in {time.perf_counter() - started:.1f}s",
          flush=True)


def cost_by_day(workspace_id: int) -> tuple[list[dict], list[dict]]:
    """What ``GET /api/v1/agents/cost/?group_by=day`` computes for one workspace (its
    default window, the last 30 days): the rows per day and currency, and the totals
    (``agents.cost``; the caller's workspace scoping left out)."""
    from datetime import timedelta

    from django.utils import timezone

    from agents import cost
    from agents.models import LLMUsageLog

    f = cost.CostFilter(workspace_id=workspace_id)
    start, end = f.window(timezone.localdate())
    logs = cost.scoped(LLMUsageLog.objects.all(), f).filter(
        created_at__gte=cost.day_start(start),
        created_at__lt=cost.day_start(end + timedelta(days=1)))
    return cost.group(logs, "day"), cost.totals(logs)


def _cost_by_day(workspace) -> Result:
    _usage_logs(workspace)
    [times] = samples_ms(Case(lambda _: cost_by_day(workspace.pk)), rounds=1, warmup=2,
                         repeat=10)
    rows, totals = cost_by_day(workspace.pk)
    p50 = statistics.median(times)
    figures = (f"p50 {p50:.0f} ms, max {max(times):.0f} ms for {len(rows)} days of "
               f"{sum(t['calls'] for t in totals):,} calls ({LOGS:,} logs in the workspace; "
               f"budget {COST_BUDGET_MS:g} ms)")
    return Result("agents: cost by day (30 of 90 days) / budget", figures,
                  p50 / COST_BUDGET_MS, 1.0)
