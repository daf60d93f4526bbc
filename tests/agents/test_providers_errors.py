"""Failures against the fake server, both wire formats: retries honouring Retry-After,
server errors, timeouts, malformed answers, bad keys (never echoed), refused base URLs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from agents import providers
from agents.models import LLMUsageLog
from agents.providers import retry
from agents.providers.base import ChatMessage, ProviderError
from agents.services import usage
from tests.agents.conftest import TEST_API_KEY

pytestmark = pytest.mark.django_db

HELLO = [ChatMessage("user", "hello")]


@pytest.fixture
def sleeps(monkeypatch):
    """The waits retry.py asked for (not slept, to keep the suite fast)."""
    waits: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", waits.append)
    return waits


@pytest.mark.parametrize("kind", ["openai_compatible", "anthropic"])
def test_429_with_retry_after_is_retried_after_the_wait(make_llm_model, llm_server, kind):
    model = make_llm_model(kind=kind, max_retries=2)
    llm_server.script([{"status": 429, "headers": {"Retry-After": "1"}},
                       {"text": "finally", "usage": {"input": 3, "output": 1}}])
    started = time.monotonic()
    result = providers.chat(model, HELLO)
    assert time.monotonic() - started >= 1.0  # really waited the second asked for
    assert result.content == "finally"
    assert len(llm_server.requests) == 2


def test_retry_after_seconds_and_http_dates_are_honoured(any_llm_model, llm_server, sleeps):
    any_llm_model.provider.max_retries = 3
    any_llm_model.provider.save()
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    llm_server.script([{"status": 429, "headers": {"Retry-After": "1.5"}},
                       {"status": 503, "headers": {"Retry-After": "0"}},
                       {"status": 429, "headers": {"Retry-After": later}}])
    with override_settings(LLM_RETRY_MAX_WAIT=60):
        result = providers.chat(any_llm_model, HELLO)
    assert result.content == "Fake LLM reply: hello"
    assert sleeps[:2] == [1.5, 0.0]
    assert 28 <= sleeps[2] <= 30


def test_too_long_retry_after_gives_rate_limited_without_sleeping(any_llm_model, llm_server,
                                                                 sleeps):
    any_llm_model.provider.max_retries = 3
    any_llm_model.provider.save()
    llm_server.script([{"status": 429, "headers": {"Retry-After": "120"}}])
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    error = caught.value
    assert (error.code, error.status, error.retry_after) == ("rate_limited", 429, 120.0)
    assert "120" in error.message and "LLM_RETRY_MAX_WAIT" in error.message
    assert sleeps == []
    assert len(llm_server.requests) == 1


def test_429_without_retry_after_backs_off_exponentially(any_llm_model, llm_server, sleeps):
    any_llm_model.provider.max_retries = 2
    any_llm_model.provider.save()
    llm_server.script([{"status": 429}, {"status": 429}, {"status": 429}])
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "rate_limited"
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] < 0.75 and 1.0 <= sleeps[1] < 1.25
    assert len(llm_server.requests) == 3


def test_500_is_retried_then_an_error(any_llm_model, llm_server, sleeps):
    any_llm_model.provider.max_retries = 2
    any_llm_model.provider.save()
    llm_server.script([{"status": 500}] * 3)
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert (caught.value.code, caught.value.status) == ("server_error", 500)
    assert "Fake error 500" in caught.value.message
    assert len(llm_server.requests) == 3 and len(sleeps) == 2


def test_500_then_success(any_llm_model, llm_server, sleeps):
    any_llm_model.provider.max_retries = 1
    any_llm_model.provider.save()
    llm_server.script([{"status": 502}, {"text": "recovered"}])
    assert providers.chat(any_llm_model, HELLO).content == "recovered"
    assert len(sleeps) == 1


def test_400_is_not_retried(any_llm_model, llm_server, sleeps):
    any_llm_model.provider.max_retries = 3
    any_llm_model.provider.save()
    llm_server.script([{"status": 400}])
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "bad_request"
    assert sleeps == [] and len(llm_server.requests) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_timeout(any_llm_model, llm_server, stream):
    any_llm_model.provider.timeout = 1
    any_llm_model.provider.save()
    llm_server.script([{"delay": 4}])
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO, on_token=(lambda t: None) if stream else None)
    assert caught.value.code == "timeout"
    assert "1 s" in caught.value.message
    assert time.monotonic() - started < 3.5


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_json_is_bad_response(any_llm_model, llm_server, sleeps, stream):
    any_llm_model.provider.max_retries = 2
    any_llm_model.provider.save()
    body = "data: {not json\n\n" if stream else '{"id": "x", "choices": [ {not json'
    llm_server.script([{"raw": body, "content_type": "text/event-stream" if stream
                        else "application/json"}])
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO, on_token=(lambda t: None) if stream else None)
    assert caught.value.code == "bad_response"
    assert sleeps == []  # the same answer would come again


def test_json_of_the_wrong_shape_is_bad_response(any_llm_model, llm_server):
    llm_server.script([{"body": {"unexpected": True}}])
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "bad_response"


def test_wrong_key_is_auth_and_the_key_never_shows(any_llm_model, llm_server):
    llm_server.api_key = "sk-the-right-one-000000"
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    error = caught.value
    assert (error.code, error.status) == ("auth", 401)
    # The fake echoes the key it received, as some providers do; we must not.
    assert "Incorrect API key" in error.message
    for text in (error.message, str(error), repr(error.args)):
        assert TEST_API_KEY not in text
        assert "sk-test" not in text
    row = usage.record_call(workspace_id=any_llm_model.workspace_id, model=any_llm_model,
                            source=LLMUsageLog.Source.PLAYGROUND, started_at=timezone.now(),
                            error=error)
    assert TEST_API_KEY not in row.error and row.error.startswith("[auth]")


@pytest.mark.parametrize("base_url", ["http://10.1.2.3/v1", "http://192.168.0.10:8000/v1"])
def test_internal_base_url_is_refused_before_any_request(any_llm_model, llm_server, base_url):
    any_llm_model.provider.base_url = base_url
    any_llm_model.provider.save()
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "refused"
    assert "LLM_ALLOWED_HOSTS" in caught.value.message
    assert llm_server.requests == []


def test_the_fake_server_is_refused_when_not_allowed(any_llm_model, llm_server):
    with override_settings(LLM_ALLOWED_HOSTS=[]), pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "refused"
    assert llm_server.requests == []


def test_connection_refused_is_unavailable(any_llm_model, llm_server, sleeps):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    any_llm_model.provider.base_url = f"http://127.0.0.1:{port}/v1"
    any_llm_model.provider.max_retries = 1
    any_llm_model.provider.save()
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "unavailable"
    assert len(sleeps) == 1


def test_inactive_provider(any_llm_model, llm_server):
    any_llm_model.provider.is_active = False
    any_llm_model.provider.save()
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "unavailable"
    assert llm_server.requests == []


def test_parse_retry_after_forms():
    assert retry.parse_retry_after({"retry-after": "7"}) == 7.0
    assert retry.parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry.parse_retry_after({"retry-after": "soon"}) is None
    assert retry.parse_retry_after({}) is None
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert retry.parse_retry_after({"retry-after": past}) == 0.0


def test_undecryptable_key_is_an_auth_error(any_llm_model, llm_server):
    secret = any_llm_model.provider.api_key_secret
    secret.ciphertext = "not-a-fernet-token"
    secret.save()
    with pytest.raises(ProviderError) as caught:
        providers.chat(any_llm_model, HELLO)
    assert caught.value.code == "auth"
    assert llm_server.requests == []
