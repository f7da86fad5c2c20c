from rest_framework.routers import SimpleRouter

from .views import AppointmentViewSet, WaitingListOfferViewSet, WaitingListViewSet

app_name = "booking"

router = SimpleRouter(trailing_slash=False)
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("waiting-list/offers", WaitingListOfferViewSet, basename="waiting-list-offer")
router.register("waiting-list", WaitingListViewSet, basename="waiting-list")

urlpatterns = router.urls
