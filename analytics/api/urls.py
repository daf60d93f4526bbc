from core.api.routers import router

from . import dashboards, events
from . import views as v

router.register("bi/clients", v.ClientViewSet)
router.register("bi/inventory", v.InventoryRecordViewSet)
router.register("bi/sales", v.SaleRecordViewSet)
router.register("bi/imports", v.ImportJobViewSet)

# Product analytics: each module registers its resources and lists its plain views.
urlpatterns = [*events.urlpatterns, *dashboards.urlpatterns]
