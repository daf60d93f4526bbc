from core.api.routers import router

from . import views as v

router.register("bi/clients", v.ClientViewSet)
router.register("bi/inventory", v.InventoryRecordViewSet)
router.register("bi/sales", v.SaleRecordViewSet)
router.register("bi/imports", v.ImportJobViewSet)
