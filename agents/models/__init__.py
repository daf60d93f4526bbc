"""Agents and LLMs: providers and prices, agents and their versions, conversations and
usage, knowledge bases.  One module per subdomain; import models from here."""

from .agents import (
    Agent,
    AgentAccess,
    AgentConfiguration,
    AgentErrorLog,
    AgentHierarchy,
    AgentKnowledgeBase,
    AgentModel,
    AgentQuota,
    AgentTool,
    AgentTrigger,
    AgentUsageMetric,
)
from .conversations import Conversation, LLMUsageLog, Message, MessageFeedback
from .knowledge import Chunk, Document, EvaluationQuestion, EvaluationRun, KnowledgeBase
from .providers import LLMModel, LLMProvider, ModelPrice

__all__ = [
    "Agent", "AgentAccess", "AgentConfiguration", "AgentErrorLog", "AgentHierarchy",
    "AgentKnowledgeBase", "AgentModel", "AgentQuota", "AgentTool", "AgentTrigger",
    "AgentUsageMetric", "Chunk", "Conversation", "Document", "EvaluationQuestion",
    "EvaluationRun", "KnowledgeBase", "LLMModel", "LLMProvider", "LLMUsageLog", "Message",
    "MessageFeedback", "ModelPrice",
]
