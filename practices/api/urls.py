from rest_framework.routers import SimpleRouter

from .views import PracticeViewSet

app_name = "practices"

router = SimpleRouter(trailing_slash=False)
router.register("practices", PracticeViewSet, basename="practice")

urlpatterns = router.urls
