"""The provider adapters against a local server: Bolna's client (timeouts, bounded
retries honouring Retry-After, no second call placement after one that may have rung,
keys never in messages, the outbound guard) and Twilio's numbers and signatures."""

import pytest

from crm.providers import ProviderError, bolna
from crm.providers import twilio as tw
from tests.factories import PhoneNumberFactory

from .voice_server import (  # noqa: F401
    ACCOUNT_SID,
    API_KEY,
    AUTH_TOKEN,
    crm_events_fixture,
    execution,
    server_fixture,
    twilio_signature,
)


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(server, waits):
    return bolna.BolnaClient(sleep=waits.append)


def test_an_execution_is_read_with_status_duration_cost_recording_and_transcript(server, client):
    server.executions["ex-1"] = execution(
        "ex-1", "completed", duration=42.6, cost=7.25, call_sid="CA" + "9" * 32,
        recording_url="https://rec.example/ex-1.mp3",
        transcript="assistant: Hello Ana\nuser: Hi\ncall me tomorrow")
    found = client.fetch_execution("ex-1")
    assert (found.status, found.duration_seconds, str(found.cost)) == ("completed", 43, "7.2500")
    assert found.recording_url == "https://rec.example/ex-1.mp3"
    assert found.provider_call_sid == "CA" + "9" * 32
    assert bolna.transcript_turns(found.transcript) == [
        {"speaker": "agent", "text": "Hello Ana"},
        {"speaker": "contact", "text": "Hi\ncall me tomorrow"}]


@pytest.mark.parametrize(("raw", "duration", "ours"), [
    ("queued", None, "queued"), ("initiated", None, "queued"), ("ringing", None, "ringing"),
    ("in-progress", None, "in_progress"), ("call-disconnected", 30, "in_progress"),
    ("completed", 30, "completed"), ("completed", 0, "no_answer"), ("busy", None, "busy"),
    ("no-answer", None, "no_answer"), ("balance-low", None, "failed"),
    ("canceled", None, "failed"), ("something-new", None, None)])
def test_bolna_statuses_map_to_ours(raw, duration, ours):
    assert bolna.call_status(raw, duration) == ours


def test_reads_are_retried_on_5xx_and_429_honouring_retry_after(server, client, waits):
    server.executions["ex-2"] = execution("ex-2", "ringing")
    server.fail(503, headers={"Retry-After": "0"})
    server.fail(429)
    assert client.fetch_execution("ex-2").status == "ringing"
    assert len(server.requests) == 3
    assert waits[0] == 0  # Retry-After: 0 honoured; the next one is a backoff (capped)
    assert len(waits) == 2


def test_retries_are_bounded(server, client, waits):
    server.fail(502, times=5)
    with pytest.raises(ProviderError) as failed:
        client.fetch_execution("ex-3")
    assert failed.value.code == "server_error" and failed.value.retryable
    assert len(server.requests) == 3  # 1 + CRM_VOICE_API_RETRIES (2)


def test_a_retry_after_longer_than_allowed_ends_the_attempts(server, client, waits):
    server.fail(429, headers={"Retry-After": "120"})
    with pytest.raises(ProviderError) as failed:
        client.fetch_execution("ex-4")
    assert failed.value.code == "rate_limited" and "120" in failed.value.message
    assert len(server.requests) == 1 and waits == []


def test_a_call_placement_that_may_have_reached_bolna_is_never_sent_again(server, client):
    server.drop()  # the connection closes after the request was sent: it may have rung
    with pytest.raises(ProviderError) as failed:
        client.place_call(agent_id="a", recipient="+351912345678")
    assert failed.value.sent is True
    assert len(server.requests) == 1 and server.placed == []


def test_a_call_placement_that_never_connected_is_retried(settings, waits):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CRM_VOICE_ALLOWED_HOSTS = ["127.0.0.1"]
    client = bolna.BolnaClient(base_url=f"http://127.0.0.1:{port}", api_key=API_KEY,
                               max_retries=2, sleep=waits.append)
    with pytest.raises(ProviderError) as failed:
        client.place_call(agent_id="a", recipient="+351912345678")
    assert (failed.value.code, failed.value.sent) == ("unavailable", False)
    assert len(waits) == 2


def test_the_key_never_appears_in_an_error(server, client):
    server.fail(400, message=f"bad request for key {API_KEY}")
    with pytest.raises(ProviderError) as failed:
        client.place_call(agent_id="a", recipient="+351912345678")
    assert API_KEY not in failed.value.message and "[redacted]" in failed.value.message
    wrong = bolna.BolnaClient(api_key="bn-wrong-key-000000")
    with pytest.raises(ProviderError) as refused:
        wrong.fetch_execution("ex")
    assert refused.value.code == "auth" and "bn-wrong" not in refused.value.message


def test_an_internal_base_url_is_refused_by_the_outbound_guard(settings):
    settings.CRM_VOICE_ALLOWED_HOSTS = []
    client = bolna.BolnaClient(base_url="http://127.0.0.1:9", api_key=API_KEY)
    with pytest.raises(ProviderError) as refused:
        client.fetch_execution("ex")
    assert (refused.value.code, refused.value.sent) == ("refused", False)
    assert "CRM_VOICE_ALLOWED_HOSTS" in refused.value.message


def test_without_a_key_nothing_is_sent(server, settings):
    settings.CRM_VOICE_API_KEY = ""
    with pytest.raises(ProviderError) as refused:
        bolna.client().place_call(agent_id="a", recipient="+351912345678")
    assert refused.value.code == "not_configured" and server.requests == []


# --- Twilio ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_number_is_synced_from_twilio(server):
    server.add_number("PN" + "1" * 32, "+14155550100", sms=True, name="Main line")
    number = PhoneNumberFactory(number="+14155550100", provider_sid="", friendly_name="",
                                capabilities=[])
    tw.sync_number(number)
    number.refresh_from_db()
    assert (number.provider_sid, number.capabilities, number.friendly_name) == (
        "PN" + "1" * 32, ["sms", "voice"], "Main line")
    info = tw.fetch_number("PN" + "1" * 32)
    assert info.phone_number == "+14155550100"
    with pytest.raises(ProviderError) as missing:
        tw.fetch_number("PN" + "2" * 32)
    assert missing.value.code == "not_found"


def test_twilio_refusing_the_credentials_says_so_without_the_token(server, settings):
    settings.TWILIO_AUTH_TOKEN = "0" * 32
    with pytest.raises(ProviderError) as refused:
        tw.fetch_number("PN" + "1" * 32)
    assert refused.value.code == "auth" and "0" * 32 not in refused.value.message


def test_twilio_signatures_are_checked_with_the_auth_token(server):
    url = "https://crm.example.com/api/v1/crm/webhooks/twilio/status/"
    params = {"CallSid": "CA1", "CallStatus": "ringing", "SequenceNumber": "0"}
    good = twilio_signature(url, params)
    assert tw.valid_signature(url, params, good)
    assert not tw.valid_signature(url + "?x=1", params, good)
    assert not tw.valid_signature(url, {**params, "CallStatus": "completed"}, good)
    assert not tw.valid_signature(url, params, twilio_signature(url, params, token="1" * 32))
    assert not tw.valid_signature(url, params, "")
