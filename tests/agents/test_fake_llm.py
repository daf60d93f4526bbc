"""The fake server as ``make run`` starts it: a process answering the OpenAI SDK, labelled
as a fake."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_module_entry_serves_the_openai_sdk():
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "agents.fake_llm", "--port", str(port)],
                               cwd=Path(__file__).resolve().parents[2],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the fake server did not start"
                assert process.poll() is None, process.stdout.read().decode()
                time.sleep(0.05)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused",
                               max_retries=0, http_client=httpx.Client(trust_env=False))
        answer = client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "hello"}])
        assert answer.choices[0].message.content == "Fake LLM reply: hello"
        assert "fake" in answer.model and answer.usage.prompt_tokens > 0
        models = client.models.list()
        assert all("fake" in m.id for m in models.data)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert b"Fake LLM server" in process.stdout.read()


def test_kept_alive_calls_answer_without_waiting_for_delayed_acks():
    # Headers and body go out in two writes; with Nagle's algorithm on the body waited for
    # the client's delayed ACK, 40 ms or more per call on Linux.
    from agents.fake_llm import FakeLLMServer

    with FakeLLMServer() as server, httpx.Client(trust_env=False) as http:
        client = openai.OpenAI(base_url=server.url("/v1"), api_key="unused", max_retries=0,
                               http_client=http)
        times = []
        for _ in range(12):
            started = time.perf_counter()
            client.chat.completions.create(model="demo",
                                           messages=[{"role": "user", "content": "hi"}])
            times.append(time.perf_counter() - started)
    times.sort()
    assert times[len(times) // 2] < 0.030
