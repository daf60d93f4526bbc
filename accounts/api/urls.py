from core.api.routers import router

from .views import UserViewSet

router.register("users", UserViewSet)
