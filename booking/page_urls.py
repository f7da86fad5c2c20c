from django.urls import path

from . import pages

app_name = "booking-pages"

# booking.notifications.offers.CLAIM_PATH names this path in the links it sends.
urlpatterns = [
    path("offers/<uuid:offer_id>", pages.offer_page, name="offer"),
]
