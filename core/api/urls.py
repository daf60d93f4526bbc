from .resources import AuditEntryViewSet
from .routers import router

router.register("audit-entries", AuditEntryViewSet)
