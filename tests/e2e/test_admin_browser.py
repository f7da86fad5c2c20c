"""A practice administrator runs the day in a real browser: Debian's Chromium, driven by
Playwright, against a live test server."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from accounts.admin_site import STAFF_TIMEZONE
from booking import services
from booking.models import Appointment
from booking.services import Actor
from practices.models import Slot
from tests.e2e.conftest import CHROMIUM
from tests.factories import DEFAULT_PASSWORD, ClinicianFactory, free_slot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


def todays_appointment(patient, practice, clinician, at: dt.time):
    start = dt.datetime.combine(
        timezone.localdate(timezone=STAFF_TIMEZONE), at, tzinfo=STAFF_TIMEZONE
    )
    slot = free_slot(practice, start=start, clinician=clinician)
    # Booked "three hours earlier" so the setup works at any time of day; the browser part
    # below runs against the real clock.
    return services.book_appointment(
        actor=Actor(user=patient), slot_id=slot.pk, now=start - dt.timedelta(hours=3)
    )


def test_a_practice_admin_filters_today_marks_one_arrived_and_cancels_another(
    browser_page, live_server, dave, alice, bob, riverside
):
    clinician = ClinicianFactory(practice=riverside, display_name="Dr A Khan")
    arriving = todays_appointment(alice, riverside, clinician, dt.time(12, 0))
    cancelling = todays_appointment(bob, riverside, clinician, dt.time(12, 30))
    page = browser_page

    page.goto(f"{live_server.url}/admin/login/?next=/admin/booking/appointment/")
    page.fill("#id_username", dave.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.get_by_role("link", name="Today", exact=True).click()
    page.wait_for_url("**day=*")
    page.get_by_role("link", name=arriving.reference).wait_for()
    page.get_by_role("link", name=cancelling.reference).wait_for()

    page.check(f"input[name=_selected_action][value='{arriving.pk}']")
    page.select_option("select[name=action]", "mark_arrived")
    page.click("button[name=index]")
    page.get_by_text("Marked 1 as arrived.").wait_for()

    page.get_by_role("link", name=cancelling.reference).click()
    page.get_by_role("link", name="Cancel").click()
    page.fill("textarea[name=reason]", "Clinician called away")
    page.click("input[type=submit]")
    page.get_by_text(f"Cancelled {cancelling.reference}; its slot is free again.").wait_for()

    page.goto(f"{live_server.url}/admin/booking/appointment/{cancelling.pk}/change/")
    slot_row = page.locator(".field-slot_status")
    assert "Free" in slot_row.inner_text()

    assert Appointment.objects.get(pk=arriving.pk).status == "arrived"
    assert Appointment.objects.get(pk=cancelling.pk).cancellation_reason == "Clinician called away"
    assert Slot.objects.get(pk=cancelling.slot_id).status == "free"
