from django.urls import path

from .pages import appointments, info, offers, waiting

app_name = "booking-pages"

urlpatterns = [
    path("", appointments.home, name="home"),
    path("accessibility", info.accessibility, name="accessibility"),
    path("privacy", info.privacy, name="privacy"),
    path("book", appointments.choose_practice, name="choose-practice"),
    path("book/<str:ods_code>", appointments.find_slot, name="find-slot"),
    path("book/<str:ods_code>/slots/<uuid:slot_id>", appointments.confirm, name="confirm"),
    path("appointments", appointments.appointments, name="appointments"),
    path("appointments/<uuid:appointment_id>", appointments.appointment, name="appointment"),
    path(
        "appointments/<uuid:appointment_id>/reschedule",
        appointments.reschedule,
        name="reschedule",
    ),
    path(
        "appointments/<uuid:appointment_id>/reschedule/<uuid:slot_id>",
        appointments.reschedule_confirm,
        name="reschedule-confirm",
    ),
    path("appointments/<uuid:appointment_id>/cancel", appointments.cancel, name="cancel"),
    path("waiting-list", waiting.entries, name="waiting-list"),
    path("waiting-list/join", waiting.join, name="join-waiting-list"),
    path("waiting-list/<uuid:entry_id>/leave", waiting.leave, name="leave-waiting-list"),
    # booking.notifications.offers.CLAIM_PATH names this path in the links it sends.
    path("waiting-list/offers/<uuid:offer_id>", offers.offer_page, name="offer"),
]
