from core.api.routers import router

from . import views as v

router.register("reports/definitions", v.ReportDefinitionViewSet)
router.register("reports/runs", v.ReportRunViewSet)
router.register("reports/deliveries", v.ReportDeliveryViewSet)
