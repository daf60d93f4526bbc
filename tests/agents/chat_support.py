"""What the chat tests share: an agent answering through the local fake LLM server, the
fake's script in plain words, and the price the expected costs use."""

from decimal import Decimal

import pytest

from agents.models import AgentConfiguration
from core import tenancy
from tests.factories.agents import (
    AgentConfigurationFactory,
    AgentFactory,
    LLMModelFactory,
    ModelPriceFactory,
)
from tests.factories.workspaces import MembershipFactory

PRICE = {"input_per_million": Decimal("3.000000"), "output_per_million": Decimal("15.000000"),
         "cached_input_per_million": Decimal("0.300000")}


# --- the fake server's script, in this module's words ----------------------------------

def text(content: str) -> dict:
    return {"text": content}


def tool_call(name: str, arguments: dict) -> dict:
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


def fail(status: int, body: str = "") -> dict:
    if not body:
        return {"status": status}
    return {"status": status, "body": {"error": {"message": body, "type": "server_error"}}}


def malformed() -> dict:
    return {"raw": "{not json"}


def timeout() -> dict:
    """Slower than the provider's timeout (chat_model's provider waits one second)."""
    return {"delay": 3}


def sent_messages(llm_server, index: int = -1) -> list[tuple[str, str]]:
    """(role, text) of the messages the server received in one request."""
    return [(m["role"], m.get("content") or "")
            for m in llm_server.requests[index]["json"]["messages"]]


def offered(llm_server, index: int) -> dict[str, dict]:
    """The tools one request offered: name -> JSON Schema of its parameters."""
    return {t["function"]["name"]: t["function"]["parameters"]
            for t in llm_server.requests[index]["json"].get("tools") or []}


@pytest.fixture
def chat_model(make_llm_model):
    """An OpenAI-compatible model on the fake server, without retries (one scripted
    answer per call) and with a one-second timeout; priced by ``priced``."""
    return make_llm_model(timeout=1, max_retries=0, price=None)


@pytest.fixture
def other_model(chat_model):
    return LLMModelFactory(workspace=chat_model.workspace, provider=chat_model.provider)


def priced(model, **price):
    ModelPriceFactory(workspace=model.workspace, model=model, **{**PRICE, **price})
    return model


def live_agent(model, **config):
    """An active agent whose published version answers with ``model``."""
    agent = AgentFactory(workspace=model.workspace)
    configuration = AgentConfigurationFactory(
        workspace=model.workspace, agent=agent, model=model, number=1,
        status=AgentConfiguration.Status.PUBLISHED, **config)
    agent.live_configuration = configuration
    agent.save(update_fields=["live_configuration"])
    return agent


def member(workspace, role="member"):
    return tenancy.Principal(user=MembershipFactory(workspace=workspace, role=role).user)


def expected_cost(tokens_in: int, tokens_out: int) -> Decimal:
    cost = (tokens_in * PRICE["input_per_million"]
            + tokens_out * PRICE["output_per_million"]) / Decimal(1_000_000)
    return cost.quantize(Decimal("0.00000001"))


@pytest.fixture
def agent(chat_model):
    return live_agent(priced(chat_model))
