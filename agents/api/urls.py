"""Agents API routes: resources on the kernel's router, plain views in ``urlpatterns``.

The parts register before ``agents`` itself so ``agents/tools/`` is never read as an
agent id (agent ids are digits only anyway).
"""

from core.api.routers import router

from . import chat, cost, hooks, knowledge, playground  # noqa: F401  (knowledge registers)
from . import views as v

router.register("agents/providers", v.LLMProviderViewSet)
router.register("agents/models", v.LLMModelViewSet)
router.register("agents/prices", v.ModelPriceViewSet)
router.register("agents/configurations", v.AgentConfigurationViewSet)
router.register("agents/fallbacks", v.AgentModelViewSet)
router.register("agents/knowledge-links", v.AgentKnowledgeBaseViewSet)
router.register("agents/tools", v.AgentToolViewSet)
router.register("agents/quotas", v.AgentQuotaViewSet)
router.register("agents/triggers", v.AgentTriggerViewSet)
router.register("agents/hierarchy", v.AgentHierarchyViewSet)
router.register("agents/access", v.AgentAccessViewSet)
router.register("agents/errors", v.AgentErrorLogViewSet)
router.register("agents/usage-metrics", v.AgentUsageMetricViewSet)
router.register("agents/conversations", v.ConversationViewSet)
router.register("agents/messages", v.MessageViewSet)
router.register("agents/feedback", v.MessageFeedbackViewSet)
router.register("agents/usage-logs", v.LLMUsageLogViewSet)
router.register("agents", v.AgentViewSet)

urlpatterns = [*chat.urlpatterns, *cost.urlpatterns, *playground.urlpatterns,
               *hooks.urlpatterns]
