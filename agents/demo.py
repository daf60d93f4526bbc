"""The demo agent in the demo workspace: a provider, a chat model with its price, a small
help-centre knowledge base and a support agent whose first version is published.

With ``LLM_FAKE=1`` (``make run LLM_FAKE=1``) the provider is the local fake server
(``python -m agents.fake_llm``, started by ``make run`` on ``LLM_FAKE_PORT``), named
"Fake LLM (offline demo)": the agent answers with no internet and no key.  Without it
the provider is OpenAI's public API with its key read from the vault secret
``OPENAI_API_KEY``, made here with a placeholder value: set the real key on that
secret and the same agent answers from OpenAI.

Idempotent: an agent that exists by name is left as it is (so is the rest).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from analytics.demo import DEMO_WORKSPACE
from workspaces.models import Workspace

AGENT = "Demo support assistant"
FAKE_PROVIDER = "Fake LLM (offline demo)"
OPENAI_PROVIDER = "OpenAI"
KEY_SECRET = "OPENAI_API_KEY"
MODEL = "gpt-4o-mini"
KNOWLEDGE_BASE = "Demo help centre"
SYSTEM_PROMPT = ("You are the support assistant of ACME's online shop. Answer in two or "
                 "three sentences, using the help-centre articles when they apply; say so "
                 "when you do not know.")
DOCUMENTS = [
    ("Returns policy",
     "Items can be returned within 30 days of delivery for a full refund, in their "
     "original packaging and with the receipt. Refunds reach the original payment method "
     "within 5 business days of the return arriving at our warehouse. Sale items can be "
     "exchanged but not refunded."),
    ("Shipping times",
     "Orders placed before 14:00 ship the same business day. Standard delivery takes 2 to "
     "4 business days; express delivery arrives the next business day. Every shipment has "
     "a tracking number, emailed when the parcel leaves the warehouse."),
]


def fake_base_url() -> str:
    return f"http://127.0.0.1:{settings.LLM_FAKE_PORT}/v1"


def seed(out) -> None:
    from agents.models import Agent

    workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE).first()
    if workspace is None or Agent.objects.filter(workspace=workspace, name=AGENT).exists():
        return
    owner = _owner()
    model = _model(workspace, owner)
    knowledge_base = _knowledge_base(workspace, owner)
    agent, version = _agent(workspace, owner, model, knowledge_base)
    where = (f"the fake server at {model.provider.base_url}" if settings.LLM_FAKE else
             f"OpenAI (set the vault secret {KEY_SECRET}; or run with LLM_FAKE=1)")
    out.write(f"Demo agent \"{agent.name}\" in {DEMO_WORKSPACE}: version {version.number} "
              f"published, model {model.name} on {where}, knowledge base "
              f"\"{knowledge_base.name}\" ({len(DOCUMENTS)} documents).\n")


def _owner():
    from accounts.models import User

    return User.objects.filter(email=f"owner@{DEMO_WORKSPACE}.local").first()


def _model(workspace, owner):
    from agents.models import LLMModel, LLMProvider, ModelPrice
    from workspaces.services.vault import secret_create

    if settings.LLM_FAKE:
        fields = {"name": FAKE_PROVIDER, "base_url": fake_base_url(), "api_key_secret": None,
                  "max_retries": 0, "timeout": 30,
                  "metadata": {"fake": True, "note": "agents.fake_llm: canned answers for "
                                                     "offline demos, not a real model."}}
    else:
        from workspaces.models import Secret

        secret = Secret.objects.filter(workspace=workspace, name=KEY_SECRET).first() or \
            secret_create(workspace=workspace, name=KEY_SECRET, by=owner,
                          value="replace-me-with-your-openai-key",
                          description="The OpenAI API key of the demo agent's provider.")
        fields = {"name": OPENAI_PROVIDER, "base_url": "", "api_key_secret": secret}
    provider = LLMProvider.objects.filter(workspace=workspace, name=fields["name"]).first()
    if provider is None:
        provider = LLMProvider(workspace=workspace, kind=LLMProvider.Kind.OPENAI_COMPATIBLE,
                               **fields)
        provider.full_clean()
        provider.save()
    model = LLMModel.objects.filter(provider=provider, name=MODEL).first()
    if model is None:
        model = LLMModel(workspace=workspace, provider=provider, name=MODEL,
                         display_name="GPT-4o mini" + (" (fake)" if settings.LLM_FAKE else ""),
                         kind=LLMModel.Kind.CHAT, context_window=128_000,
                         max_output_tokens=16_384, capabilities=["tools", "json", "streaming"])
        model.full_clean()
        model.save()
    if not model.prices.exists():
        # OpenAI's list price for gpt-4o-mini, USD per million tokens.
        ModelPrice.objects.create(workspace=workspace, model=model,
                                  input_per_million=Decimal("0.15"),
                                  output_per_million=Decimal("0.60"),
                                  cached_input_per_million=Decimal("0.075"), currency="USD")
    return model


def _knowledge_base(workspace, owner):
    from agents.models import KnowledgeBase
    from agents.services.knowledge import document_create

    knowledge_base, created = KnowledgeBase.objects.get_or_create(
        workspace=workspace, name=KNOWLEDGE_BASE,
        defaults={"description": "Returns and shipping articles the demo agent searches.",
                  "language": "english", "chunk_size": 800, "chunk_overlap": 100})
    if created:
        for title, text in DOCUMENTS:  # indexed on commit by the worker
            document_create(knowledge_base=knowledge_base, title=title, text=text, by=owner)
    return knowledge_base


def _agent(workspace, owner, model, knowledge_base):
    from agents.models import AgentKnowledgeBase
    from agents.services import agents as agent_services

    agent = agent_services.agent_create(
        workspace=workspace, by=owner, name=AGENT, capabilities=["tools"],
        description="Answers shoppers' questions about returns and shipping.",
        metadata={"demo": True})
    draft = agent_services.configuration_create(
        agent=agent, by=owner, system_prompt=SYSTEM_PROMPT, model=model,
        temperature=Decimal("0.20"), max_tokens=400, max_steps=4, note="Demo")
    AgentKnowledgeBase.objects.create(workspace=workspace, configuration=draft,
                                      knowledge_base=knowledge_base, top_k=3)
    version = agent_services.configuration_publish(draft, by=owner, note="First version")
    return agent, version
