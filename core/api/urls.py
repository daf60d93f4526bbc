from .events import urlpatterns  # noqa: F401  (plain views, collected by config.urls)
from .live import FeatureFlagViewSet, FlagOverrideViewSet, SystemSettingViewSet
from .resources import AuditEntryViewSet
from .routers import router

router.register("audit-entries", AuditEntryViewSet)
router.register("system-settings", SystemSettingViewSet)
router.register("feature-flags", FeatureFlagViewSet)
router.register("feature-flag-overrides", FlagOverrideViewSet)
