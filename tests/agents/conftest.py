"""Fixtures for agents tests: the fake LLM server (agents.fake_llm, a local HTTP server
speaking OpenAI Chat Completions and Anthropic Messages) and models pointing at it.

    def test_x(llm_server, llm_model):          # OpenAI-compatible model on the fake
        llm_server.script([{"text": "hi", "usage": {"input": 5, "output": 1}}])
    def test_y(make_llm_model):
        model = make_llm_model(workspace, kind="anthropic", max_retries=2, price=None)
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.fake_llm import FakeLLMServer
from tests.factories.agents import LLMModelFactory, LLMProviderFactory, ModelPriceFactory
from tests.factories.workspaces import SecretFactory, WorkspaceFactory
from workspaces.services import vault

#: The key the fixtures' providers send (tests prove it never shows in an error).
TEST_API_KEY = "sk-test-FAKEKEY-0123456789abcdef"

#: The default price: $1 in, $2 out, $0.50 cached per million tokens (easy maths).
DEFAULT_PRICE = {"input_per_million": Decimal("1.000000"),
                 "output_per_million": Decimal("2.000000"),
                 "cached_input_per_million": Decimal("0.500000")}


@pytest.fixture(scope="session")
def _llm_server_session():
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_server(_llm_server_session):
    """The fake server, with its script, recorded requests and required key cleared."""
    _llm_server_session.reset()
    yield _llm_server_session
    _llm_server_session.reset()


def provider_base_url(server: FakeLLMServer, kind: str) -> str:
    # The OpenAI SDK appends /chat/completions to a base ending in /v1; the Anthropic
    # SDK appends /v1/messages to the root.
    return server.url("/v1") if kind == "openai_compatible" else server.url("")


@pytest.fixture
def make_llm_model(db, llm_server):
    """``make_llm_model(workspace=None, *, kind="openai_compatible", name=None,
    api_key=TEST_API_KEY, timeout=5, max_retries=0, price=DEFAULT_PRICE,
    capabilities=("tools", "json", "streaming"), model_kind="chat")``: a provider on the
    fake server, its model, and a price effective from 30 days ago (``price=None``: none)."""

    def make(workspace=None, *, kind="openai_compatible", name=None, api_key=TEST_API_KEY,
             timeout=5, max_retries=0, price=DEFAULT_PRICE,
             capabilities=("tools", "json", "streaming"), model_kind="chat"):
        workspace = workspace or WorkspaceFactory()
        secret = (SecretFactory(workspace=workspace, ciphertext=vault.encrypt(api_key))
                  if api_key else None)
        provider = LLMProviderFactory(workspace=workspace, kind=kind,
                                      base_url=provider_base_url(llm_server, kind),
                                      api_key_secret=secret, timeout=timeout,
                                      max_retries=max_retries)
        extra = {"name": name} if name else {}
        model = LLMModelFactory(workspace=workspace, provider=provider, kind=model_kind,
                                capabilities=list(capabilities), **extra)
        if price is not None:
            ModelPriceFactory(workspace=workspace, model=model,
                              effective_from=timezone.now() - timedelta(days=30), **price)
        return model

    return make


@pytest.fixture
def llm_model(make_llm_model):
    """An OpenAI-compatible chat model on the fake server (own workspace, priced)."""
    return make_llm_model()


@pytest.fixture
def anthropic_model(make_llm_model):
    """An Anthropic chat model on the fake server (own workspace, priced)."""
    return make_llm_model(kind="anthropic")


@pytest.fixture(params=["openai_compatible", "anthropic"])
def any_llm_model(request, make_llm_model):
    """Each wire format in turn."""
    return make_llm_model(kind=request.param)
