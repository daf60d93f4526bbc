"""Factories for agents and LLM models; related rows share their workspace and agent."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from agents import models as m

from .workflows import WorkflowFactory
from .workspaces import SAME_WORKSPACE, MembershipFactory, SecretFactory, WorkspaceFactory

SAME_AGENT = factory.SelfAttribute("..agent")


class LLMProviderFactory(DjangoModelFactory):
    class Meta:
        model = m.LLMProvider

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"OpenAI account {n}")
    kind = m.LLMProvider.Kind.OPENAI_COMPATIBLE
    base_url = "https://api.openai.example/v1"
    api_key_secret = factory.SubFactory(SecretFactory, workspace=SAME_WORKSPACE)
    timeout = 30
    max_retries = 2


class LLMModelFactory(DjangoModelFactory):
    class Meta:
        model = m.LLMModel

    workspace = factory.SubFactory(WorkspaceFactory)
    provider = factory.SubFactory(LLMProviderFactory, workspace=SAME_WORKSPACE)
    name = factory.Sequence(lambda n: f"gpt-4o-mini-{n}")
    display_name = "GPT-4o mini"
    kind = m.LLMModel.Kind.CHAT
    context_window = 128_000
    max_output_tokens = 16_384
    capabilities = factory.List(["tools", "json", "streaming"])


class ModelPriceFactory(DjangoModelFactory):
    class Meta:
        model = m.ModelPrice

    workspace = factory.SubFactory(WorkspaceFactory)
    model = factory.SubFactory(LLMModelFactory, workspace=SAME_WORKSPACE)
    input_per_million = Decimal("0.150000")
    output_per_million = Decimal("0.600000")
    cached_input_per_million = Decimal("0.075000")
    currency = "USD"
    effective_from = factory.Sequence(
        lambda n: timezone.now().replace(microsecond=0) - timedelta(days=30, seconds=n))


class AgentFactory(DjangoModelFactory):
    class Meta:
        model = m.Agent
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Support assistant {n}")
    description = "Answers customers' questions about orders and invoices"
    kind = m.Agent.Kind.CHAT
    status = m.Agent.Status.ACTIVE
    capabilities = factory.List(["tools"])
    settings = factory.Dict({"greeting": "Hello! How can I help?"})
    metadata = factory.Dict({"team": "support"})


class AgentConfigurationFactory(DjangoModelFactory):
    """A draft version; ``publish=True`` isn't a factory concern: use the service."""

    class Meta:
        model = m.AgentConfiguration
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    system_prompt = "You are a concise support assistant for ACME."
    model = factory.SubFactory(LLMModelFactory, workspace=SAME_WORKSPACE)
    temperature = Decimal("0.20")
    max_tokens = 512
    max_steps = 4
    note = "Shorter answers"


class AgentModelFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentModel

    workspace = factory.SubFactory(WorkspaceFactory)
    configuration = factory.SubFactory(AgentConfigurationFactory, workspace=SAME_WORKSPACE)
    model = factory.SubFactory(LLMModelFactory, workspace=SAME_WORKSPACE)
    position = 1


class KnowledgeBaseFactory(DjangoModelFactory):
    class Meta:
        model = m.KnowledgeBase

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Help centre {n}")
    description = "Articles on orders, invoices and returns"
    language = "english"
    chunk_size = 800
    chunk_overlap = 100


class AgentKnowledgeBaseFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentKnowledgeBase

    workspace = factory.SubFactory(WorkspaceFactory)
    configuration = factory.SubFactory(AgentConfigurationFactory, workspace=SAME_WORKSPACE)
    knowledge_base = factory.SubFactory(KnowledgeBaseFactory, workspace=SAME_WORKSPACE)
    top_k = 4


class AgentToolFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentTool

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    name = factory.Sequence(lambda n: f"lookup_order_{n}")
    description = "Looks an order up by its number"
    kind = m.AgentTool.Kind.WORKFLOW
    workflow = factory.SubFactory(WorkflowFactory, workspace=SAME_WORKSPACE)
    input_schema = factory.Dict({"type": "object",
                                 "properties": {"order": {"type": "string"}},
                                 "required": ["order"]})
    timeout = 30


class AgentQuotaFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentQuota

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    period = m.AgentQuota.Period.MONTH
    max_tokens = 1_000_000
    max_cost = Decimal("25.000000")
    currency = "USD"


class AgentTriggerFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentTrigger

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    kind = m.AgentTrigger.Kind.WEBHOOK
    name = factory.Sequence(lambda n: f"Inbound ticket {n}")
    enabled = True
    config = factory.Dict({"message_field": "message", "auth": "none",
                           "max_body_bytes": 65536})


class AgentHierarchyFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentHierarchy

    workspace = factory.SubFactory(WorkspaceFactory)
    supervisor = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    sub_agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    description = "Billing questions"


class AgentAccessFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentAccess

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    user = factory.LazyAttribute(lambda o: MembershipFactory(workspace=o.workspace,
                                                             role="viewer").user)
    access = m.AgentAccess.Access.USE


class ConversationFactory(DjangoModelFactory):
    class Meta:
        model = m.Conversation

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    title = factory.Sequence(lambda n: f"Where is order {1000 + n}?")
    status = m.Conversation.Status.OPEN
    metadata = factory.Dict({"locale": "en"})


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = m.Message

    workspace = factory.SubFactory(WorkspaceFactory)
    conversation = factory.SubFactory(ConversationFactory, workspace=SAME_WORKSPACE)
    sequence = factory.Sequence(lambda n: n + 1)
    role = m.Message.Role.ASSISTANT
    content = "Your order 1042 shipped yesterday."
    tokens_in = 120
    tokens_out = 14
    cost = Decimal("0.00002640")
    currency = "USD"
    latency_ms = 640
    finish_reason = "stop"


class MessageFeedbackFactory(DjangoModelFactory):
    class Meta:
        model = m.MessageFeedback

    workspace = factory.SubFactory(WorkspaceFactory)
    message = factory.SubFactory(MessageFactory, workspace=SAME_WORKSPACE)
    rating = m.MessageFeedback.Rating.POSITIVE
    score = 5
    comment = "Exactly what I needed"


class LLMUsageLogFactory(DjangoModelFactory):
    class Meta:
        model = m.LLMUsageLog

    workspace = factory.SubFactory(WorkspaceFactory)
    source = m.LLMUsageLog.Source.CHAT
    model = factory.SubFactory(LLMModelFactory, workspace=SAME_WORKSPACE)
    provider = factory.SelfAttribute("model.provider")
    model_name = factory.SelfAttribute("model.name")
    tokens_in = 120
    tokens_out = 14
    cost = Decimal("0.00002640")
    currency = "USD"
    latency_ms = 640
    request_id = factory.Sequence(lambda n: f"chatcmpl-{n}")


class AgentErrorLogFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentErrorLog

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    kind = m.AgentErrorLog.Kind.PROVIDER
    message = "The provider answered 503 three times."
    detail = factory.Dict({"status": 503})


class AgentUsageMetricFactory(DjangoModelFactory):
    class Meta:
        model = m.AgentUsageMetric

    workspace = factory.SubFactory(WorkspaceFactory)
    agent = factory.SubFactory(AgentFactory, workspace=SAME_WORKSPACE)
    day = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    conversations = 12
    messages = 48
    calls = 30
    tokens_in = 9_000
    tokens_out = 2_100
    cost = Decimal("0.00261000")
    latency_p50_ms = 700
    latency_p95_ms = 1900
    positive_feedback = 5
    negative_feedback = 1


class DocumentFactory(DjangoModelFactory):
    class Meta:
        model = m.Document

    workspace = factory.SubFactory(WorkspaceFactory)
    knowledge_base = factory.SubFactory(KnowledgeBaseFactory, workspace=SAME_WORKSPACE)
    title = factory.Sequence(lambda n: f"Returns policy {n}")
    text = "Items can be returned within 30 days of delivery with the original receipt."


class ChunkFactory(DjangoModelFactory):
    class Meta:
        model = m.Chunk

    workspace = factory.SubFactory(WorkspaceFactory)
    knowledge_base = factory.SubFactory(KnowledgeBaseFactory, workspace=SAME_WORKSPACE)
    document = factory.SubFactory(DocumentFactory, workspace=SAME_WORKSPACE,
                                  knowledge_base=factory.SelfAttribute("..knowledge_base"))
    position = factory.Sequence(lambda n: n)
    start_offset = 0
    end_offset = factory.LazyAttribute(lambda o: len(o.text))
    text = "Items can be returned within 30 days of delivery with the original receipt."


class EvaluationQuestionFactory(DjangoModelFactory):
    class Meta:
        model = m.EvaluationQuestion
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    knowledge_base = factory.SubFactory(KnowledgeBaseFactory, workspace=SAME_WORKSPACE)
    question = "How long do I have to return an item?"

    @factory.post_generation
    def expected_documents(self, create, extracted, **kwargs):
        if not create:
            return
        documents = extracted if extracted is not None else [
            DocumentFactory(workspace=self.workspace, knowledge_base=self.knowledge_base)]
        self.expected_documents.set(documents)


class EvaluationRunFactory(DjangoModelFactory):
    class Meta:
        model = m.EvaluationRun

    workspace = factory.SubFactory(WorkspaceFactory)
    knowledge_base = factory.SubFactory(KnowledgeBaseFactory, workspace=SAME_WORKSPACE)
    k = 5
    status = m.EvaluationRun.Status.SUCCEEDED
    questions = 4
    hit_rate = 0.75
    mrr = 0.625
    results = factory.List([])
    finished_at = factory.LazyFunction(timezone.now)
