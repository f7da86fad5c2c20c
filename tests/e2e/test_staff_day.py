"""Reception and the practice manager run the day in the admin, in Debian's Chromium: the
appointment book opens on today, outcomes are one click (by mouse or keyboard), dates read the
UK way, the list fits a reception desk's screen, and the report shows how the practice is
doing. Every page is checked for console errors and missing assets (``strict_page``)."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from accounts.admin_site import STAFF_TIMEZONE
from booking import services
from booking.models import Appointment
from booking.services import Actor
from practices.models import SlotType
from tests.e2e.conftest import chromium_missing, screenshot, sign_in
from tests.factories import DEFAULT_PASSWORD, ClinicianFactory, PatientFactory, free_slot

pytestmark = [pytest.mark.django_db(transaction=True), chromium_missing]

UK_DATETIME = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$"
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def local_today_at(hour: int, minute: int = 0, *, days: int = 0) -> dt.datetime:
    day = timezone.localdate(timezone=STAFF_TIMEZONE) + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=STAFF_TIMEZONE)


def booked(patient, practice, clinician, start: dt.datetime, **slot_fields) -> Appointment:
    slot = free_slot(practice, start=start, clinician=clinician, **slot_fields)
    # Booked the day before, so the setup works at any time of day.
    return services.book_appointment(
        actor=Actor(user=patient), slot_id=slot.pk, now=start - dt.timedelta(days=1)
    )


def started_an_hour_ago(patient, practice, clinician) -> Appointment:
    """An appointment today that has already started (the outcome buttons need that)."""
    now = timezone.localtime(timezone=STAFF_TIMEZONE).replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=60)
    if start.date() != now.date():
        pytest.skip("too close to midnight for an appointment earlier today")
    return booked(patient, practice, clinician, start)


@pytest.fixture
def khan(riverside):
    return ClinicianFactory(practice=riverside, display_name="Dr A Khan")


def test_the_appointment_book_opens_on_today_in_time_order_and_links_the_patient(
    strict_page, live_server, dave, alice, bob, riverside, khan
):
    later = booked(alice, riverside, khan, local_today_at(23, 30))
    earlier = booked(bob, riverside, khan, local_today_at(23, 0))
    tomorrows = booked(alice, riverside, khan, local_today_at(10, 0, days=1))
    page = strict_page

    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)
    page.get_by_role("link", name="Appointments").first.click()

    assert "Today" in page.locator("h1").inner_text()
    references = page.locator("#result_list tbody tr .field-reference").all_inner_texts()
    assert references == [earlier.reference, later.reference]
    screenshot(page, "staff-day-today")

    page.get_by_role("link", name="Next day").click()
    page.get_by_role("link", name=tomorrows.reference).wait_for()
    assert "Tomorrow" in page.locator("h1").inner_text()
    page.get_by_role("link", name="Yesterday").wait_for()  # one click back, in the filter

    page.get_by_role("link", name="Alice Smith").click()
    assert page.locator("h1").inner_text() == "Alice Smith"
    screenshot(page, "staff-day-patient")


def test_outcomes_are_one_click_on_the_row_and_on_the_appointment_page(
    strict_page, live_server, dave, alice, riverside, khan
):
    appointment = started_an_hour_ago(alice, riverside, khan)
    page = strict_page
    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/admin/booking/appointment/")

    row = page.locator("#result_list tbody tr", has_text=appointment.reference)
    row.get_by_role("button", name=re.compile("^Arrived")).click()
    page.get_by_text(f"({appointment.reference}, ").wait_for()
    assert (
        "Arrived"
        in page.locator("#result_list tbody tr", has_text=appointment.reference).inner_text()
    )

    page.get_by_role("link", name=appointment.reference).click()
    page.select_option("#id_outcome_mode", "telephone")
    screenshot(page, "staff-day-appointment")
    page.get_by_role("button", name=re.compile("^Completed")).click()
    page.get_by_text("completed.").wait_for()

    appointment.refresh_from_db()
    assert (appointment.status, appointment.mode) == ("completed", "telephone")
    statuses = [h.to_status for h in appointment.history.all()]
    assert statuses == ["booked", "arrived", "completed"]


def test_the_day_list_works_by_keyboard_alone_with_visible_focus(
    strict_page, live_server, dave, alice, riverside, khan
):
    appointment = started_an_hour_ago(alice, riverside, khan)
    page = strict_page
    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/admin/booking/appointment/")

    for _ in range(80):
        page.keyboard.press("Tab")
        label = page.evaluate("document.activeElement.getAttribute('aria-label') || ''")
        if label.startswith("Did not attend: Alice Smith"):
            break
    else:
        pytest.fail("Tab never reached the row's Did not attend button")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # the focus is visible
    page.keyboard.press("Enter")
    page.get_by_text("did not attend.").wait_for()

    assert Appointment.objects.get(pk=appointment.pk).status == "did_not_attend"


@pytest.mark.parametrize("width", [1024, 800])
def test_the_day_list_fits_a_reception_screen(
    strict_page, live_server, dave, alice, riverside, khan, width
):
    booked(alice, riverside, khan, local_today_at(23, 0), slot_type="follow_up")
    page = strict_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/admin/booking/appointment/")

    for column in ("patient_link", "status", "outcome_buttons", "reference"):
        box = page.locator(f"#result_list tbody tr .field-{column}").first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, column
    screenshot(page, f"staff-day-{width}px")


def test_dates_types_and_history_read_the_uk_way_without_codes_or_ids(
    strict_page, live_server, dave, alice, riverside, khan
):
    appointment = booked(alice, riverside, khan, local_today_at(23, 0), slot_type="follow_up")
    page = strict_page
    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}/admin/booking/appointment/{appointment.pk}/change/")

    assert UK_DATETIME.match(page.locator(".field-local_start .readonly").inner_text())
    assert UK_DATETIME.match(page.locator(".field-booked .readonly").inner_text())
    assert page.locator(".field-kind_and_channel .readonly").inner_text() == (
        "Follow-up appointment, in person"
    )
    history = page.locator(".inline-group").first.inner_text()
    assert "Booked" in history and not UUID.search(history)


def test_the_patient_list_is_sorted_by_family_name_and_books_for_a_patient(
    strict_page, live_server, dave, riverside, khan
):
    PatientFactory(given_name="Zoe", family_name="Adams", profile__registered_practice=riverside)
    PatientFactory(given_name="Yan", family_name="Brown", profile__registered_practice=riverside)
    slot = free_slot(riverside, hours_ahead=30, clinician=khan)
    page = strict_page
    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}/admin/booking/patientproxy/")
    assert page.locator("h1").inner_text() == "Patients"
    assert page.locator("#result_list tbody .field-family_name").all_inner_texts()[:2] == [
        "Adams",
        "Brown",
    ]
    page.get_by_role("link", name="Book an appointment for Yan Brown").click()

    assert "Brown, Yan" in page.locator("#id_patient option:checked").inner_text()
    page.select_option("#id_slot", str(slot.pk))
    page.click("input[type=submit]")
    page.get_by_text("Booked ").first.wait_for()
    assert Appointment.objects.get(slot=slot).patient.family_name == "Brown"


def test_the_manager_sees_unmapped_types_and_the_report_with_charts_and_csv(
    strict_page, live_server, dave, alice, riverside, khan
):
    SlotType.objects.create(practice=riverside, code="baby_clinic", name="Baby clinic")
    past = booked(alice, riverside, khan, local_today_at(9, 0, days=-3))
    Appointment.objects.filter(pk=past.pk).update(status="completed")
    page = strict_page
    sign_in(page, live_server.url, dave.email, DEFAULT_PASSWORD)

    flag = page.get_by_role("region", name="Slot types without a national category")
    assert "Baby clinic" in flag.inner_text()
    page.get_by_role("link", name=re.compile("How the practice is doing")).click()

    assert page.locator("svg.chart").count() == 3
    figures = page.get_by_label("The period at a glance").inner_text()
    assert "Booked\n1" in figures and "Attended\n1" in figures
    screenshot(page, "staff-report")
    page.select_option("#id_group", "category")
    page.get_by_role("button", name="Show").click()
    assert (
        "General Consultation Routine" in page.locator(".report-section table").first.inner_text()
    )

    href = page.get_by_role("link", name=re.compile("GPAD")).get_attribute("href")
    csv = page.request.get(page.url.split("?")[0] + href)
    assert csv.status == 200
    assert "A81001" in csv.text() and "General Consultation Routine" in csv.text()
