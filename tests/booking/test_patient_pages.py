"""The patient's booking pages, driven as a browser without JavaScript would: every form is
posted back with its CSRF token, and every answer is checked for what a patient would see
and what the database then holds.

Personas: alice is a verified patient at Riverside; bob another patient there; dave
Riverside's practice administrator.
"""

import datetime as dt
import re
import uuid
from html import unescape
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from booking import services
from booking.models import Appointment, AppointmentHistory, AppointmentStatus, WaitingListEntry
from booking.services import Actor
from practices.models import Gender, SlotStatus
from tests.factories import DEFAULT_PASSWORD, ClinicianFactory, free_slot
from tests.security.test_limits import with_rates

pytestmark = pytest.mark.django_db

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def signed_in(browser, alice):
    answer = submit(
        browser,
        reverse("account-pages:sign-in"),
        {"email": alice.email, "password": DEFAULT_PASSWORD},
    )
    assert answer.status_code == 302
    return browser


def submit(browser, url, fields):
    """Open the page, then POST its form back with ``fields``, as a browser does."""
    page = browser.get(url)
    assert page.status_code == 200, page.content[:500]
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}
    return browser.post(url, {**hidden, **fields})


def confirm_url(slot):
    return reverse(
        "booking-pages:confirm", kwargs={"ods_code": slot.practice.ods_code, "slot_id": slot.pk}
    )


def appointment_url(appointment, suffix=""):
    name = f"booking-pages:{suffix or 'appointment'}"
    return reverse(name, kwargs={"appointment_id": appointment.pk})


def booked_for(patient, slot):
    return services.book_appointment(actor=Actor(user=patient), slot_id=slot.pk)


# The front door ----------------------------------------------------------------------------


def test_the_front_door_offers_a_visitor_sign_in_and_registration(browser):
    page = browser.get("/")

    assert page.status_code == 200
    assert 'href="/sign-in"' in page.text
    assert 'href="/register"' in page.text


def test_a_signed_in_patient_sees_their_next_appointment_on_the_front_door(
    signed_in, alice, riverside
):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))

    page = signed_in.get("/")

    assert appointment_url(appointment) in page.text


def test_a_visitor_is_sent_to_sign_in_and_back(browser):
    answer = browser.get("/appointments")

    assert answer.status_code == 302
    assert answer["Location"] == "/sign-in?next=%2Fappointments"


def test_staff_are_sent_to_the_admin_with_a_403(browser, dave):
    browser.force_login(dave)

    page = browser.get("/appointments")

    assert page.status_code == 403
    assert "practice admin" in page.text


# Finding a slot ----------------------------------------------------------------------------


def test_the_search_lists_free_slots_earliest_first(signed_in, riverside):
    later = free_slot(riverside, hours_ahead=50)
    sooner = free_slot(riverside, hours_ahead=26)

    page = signed_in.get(reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}))

    assert page.status_code == 200
    assert page.text.index(confirm_url(sooner)) < page.text.index(confirm_url(later))


def test_the_search_narrows_to_a_clinicians_gender(signed_in, riverside):
    with_her = free_slot(
        riverside,
        hours_ahead=26,
        clinician=ClinicianFactory(practice=riverside, gender=Gender.FEMALE),
    )
    with_him = free_slot(
        riverside,
        hours_ahead=27,
        clinician=ClinicianFactory(practice=riverside, gender=Gender.MALE),
    )

    page = signed_in.get(
        reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}), {"gender": "female"}
    )

    assert confirm_url(with_her) in page.text
    assert confirm_url(with_him) not in page.text


def test_the_search_narrows_to_one_day(signed_in, riverside):
    tomorrow = free_slot(riverside, hours_ahead=24)
    day_after = free_slot(riverside, hours_ahead=48)
    day = practice_today(riverside) + dt.timedelta(days=1)
    if tomorrow.start.astimezone(riverside.tz).date() != day:
        pytest.skip("the slot a day ahead falls on the day after tomorrow at this hour")

    page = signed_in.get(
        reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}),
        {"day_0": day.day, "day_1": day.month, "day_2": day.year},
    )

    assert confirm_url(tomorrow) in page.text
    assert confirm_url(day_after) not in page.text


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (("31", "2", "2030"), "Enter a real date"),
        (("1", "1", "2020"), "date in the future"),
        (("1", "", ""), "Enter the day, month and year"),
    ],
)
def test_a_day_that_cannot_be_searched_is_an_error_on_the_field(signed_in, riverside, day, message):
    page = signed_in.get(
        reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}),
        {"day_0": day[0], "day_1": day[1], "day_2": day[2]},
    )

    assert page.status_code == 400
    assert "<title>Error: " in page.text
    assert 'href="#id_day_0"' in page.text  # the error summary links to the first box
    assert message in unescape(page.text)


def test_an_unknown_practice_is_a_404_page(signed_in):
    page = signed_in.get(reverse("booking-pages:find-slot", kwargs={"ods_code": "ZZZ99"}))

    assert page.status_code == 404
    assert "text/html" in page["Content-Type"]


# Booking ----------------------------------------------------------------------------------


def test_confirming_books_the_slot_and_shows_the_reference(signed_in, alice, riverside):
    slot = free_slot(riverside, hours_ahead=30)

    answer = submit(signed_in, confirm_url(slot), {"description": "A sore knee"})

    appointment = Appointment.objects.get(patient=alice)
    assert answer.status_code == 302
    assert answer["Location"] == appointment_url(appointment) + "?booked"
    assert appointment.slot_id == slot.pk
    assert appointment.description == "A sore knee"
    assert AppointmentHistory.objects.get(appointment=appointment).source == "page"
    shown = signed_in.get(answer["Location"])
    assert appointment.reference in shown.text
    assert "Appointment booked" in shown.text


def test_a_slot_taken_in_another_tab_shows_the_conflict_page_with_others(
    signed_in, alice, bob, riverside
):
    slot = free_slot(riverside, hours_ahead=30)
    other = free_slot(riverside, hours_ahead=31)
    page = signed_in.get(confirm_url(slot))
    booked_for(bob, slot)  # between "choose" and "confirm"
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}

    answer = signed_in.post(confirm_url(slot), {**hidden, "description": ""})

    assert answer.status_code == 409
    assert "no longer available" in answer.text
    assert confirm_url(other) in answer.text
    assert not Appointment.objects.filter(patient=alice).exists()
    assert Appointment.objects.filter(slot=slot).count() == 1


def test_pressing_book_twice_books_once_and_shows_the_booking(signed_in, alice, riverside):
    slot = free_slot(riverside, hours_ahead=30)
    page = signed_in.get(confirm_url(slot))
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}

    first = signed_in.post(confirm_url(slot), hidden)
    second = signed_in.post(confirm_url(slot), hidden)

    appointment = Appointment.objects.get(patient=alice)
    assert first.status_code == second.status_code == 302
    assert second["Location"] == appointment_url(appointment)


def test_a_description_over_100_characters_is_refused_and_nothing_is_booked(
    signed_in, alice, riverside
):
    slot = free_slot(riverside, hours_ahead=30)

    answer = submit(signed_in, confirm_url(slot), {"description": "x" * 101})

    assert answer.status_code == 400
    assert 'href="#id_description"' in answer.text
    assert not Appointment.objects.filter(patient=alice).exists()
    assert slot.__class__.objects.get(pk=slot.pk).status == SlotStatus.FREE


def test_a_rule_refusal_is_shown_with_the_services_words(signed_in, alice, riverside):
    riverside.max_future_appointments = 1
    riverside.save()
    booked_for(alice, free_slot(riverside, hours_ahead=26))
    slot = free_slot(riverside, hours_ahead=30)

    answer = submit(signed_in, confirm_url(slot), {})

    assert answer.status_code == 422
    assert "You already have 1 upcoming appointments" in unescape(answer.text)
    assert Appointment.objects.filter(patient=alice).count() == 1


def test_pages_count_against_the_patients_api_rate(signed_in, settings):
    with_rates(settings, user="2/min")

    answers = [signed_in.get(reverse("booking-pages:appointments")) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[-1]["Retry-After"]


def test_a_request_without_the_csrf_token_is_refused(signed_in, riverside):
    slot = free_slot(riverside, hours_ahead=30)

    answer = signed_in.post(confirm_url(slot), {})

    assert answer.status_code == 403
    assert not Appointment.objects.exists()


# Seeing, moving and cancelling -------------------------------------------------------------


def test_my_appointments_lists_upcoming_and_past_and_audits_the_read(signed_in, alice, riverside):
    upcoming = booked_for(alice, free_slot(riverside, hours_ahead=30))
    cancelled = booked_for(alice, free_slot(riverside, hours_ahead=40))
    services.cancel_appointment(actor=Actor(user=alice), appointment_id=cancelled.pk, reason="")

    page = signed_in.get(reverse("booking-pages:appointments"))

    upcoming_part, past_part = page.text.split("<h2>Past and cancelled</h2>")
    assert appointment_url(upcoming) in upcoming_part
    assert appointment_url(cancelled) in past_part
    assert AuditEvent.objects.filter(action="page.appointment.list", patient=alice).exists()


def test_another_patients_appointment_is_not_found(signed_in, bob, riverside):
    bobs = booked_for(bob, free_slot(riverside, hours_ahead=30))

    for suffix in ("", "cancel", "reschedule"):
        assert signed_in.get(appointment_url(bobs, suffix)).status_code == 404


def test_cancelling_with_a_reason_frees_the_slot(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))

    answer = submit(signed_in, appointment_url(appointment, "cancel"), {"reason": "Feeling better"})

    appointment.refresh_from_db()
    assert answer["Location"] == appointment_url(appointment) + "?cancelled"
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancellation_reason == "Feeling better"
    assert appointment.slot.status == SlotStatus.FREE


def test_a_cancel_form_opened_before_another_change_is_refused(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))
    page = signed_in.get(appointment_url(appointment, "cancel"))
    services.amend_notes(
        actor=Actor(user=alice), appointment_id=appointment.pk, changes={"description": "Changed"}
    )
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}

    answer = signed_in.post(appointment_url(appointment, "cancel"), {**hidden, "reason": ""})

    appointment.refresh_from_db()
    assert answer.status_code == 409
    assert "has changed since you read it" in answer.text
    assert appointment.status == AppointmentStatus.BOOKED


def test_moving_an_appointment_takes_the_new_slot_and_frees_the_old(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))
    old_slot = appointment.slot
    new_slot = free_slot(riverside, hours_ahead=50)
    search = signed_in.get(appointment_url(appointment, "reschedule"))
    target = reverse(
        "booking-pages:reschedule-confirm",
        kwargs={"appointment_id": appointment.pk, "slot_id": new_slot.pk},
    )
    assert target in search.text

    answer = submit(signed_in, target, {})

    appointment.refresh_from_db()
    old_slot.refresh_from_db()
    assert answer["Location"] == appointment_url(appointment) + "?moved"
    assert appointment.slot_id == new_slot.pk
    assert old_slot.status == SlotStatus.FREE


def test_a_move_to_a_slot_gone_meanwhile_keeps_the_appointment(signed_in, alice, bob, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))
    new_slot = free_slot(riverside, hours_ahead=50)
    target = reverse(
        "booking-pages:reschedule-confirm",
        kwargs={"appointment_id": appointment.pk, "slot_id": new_slot.pk},
    )
    page = signed_in.get(target)
    booked_for(bob, new_slot)
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}

    answer = signed_in.post(target, hidden)

    appointment.refresh_from_db()
    assert answer.status_code == 409
    assert appointment.status == AppointmentStatus.BOOKED
    assert appointment.slot_id != new_slot.pk


def test_too_late_to_change_online_shows_no_buttons(signed_in, alice, riverside):
    riverside.cancellation_cutoff_minutes = 48 * 60
    riverside.save()
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))

    page = signed_in.get(appointment_url(appointment))

    assert appointment_url(appointment, "cancel") not in page.text
    assert "too late to change or cancel" in page.text


def test_an_appointment_booked_by_nhs_111_says_so(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside))
    Appointment.objects.filter(pk=appointment.pk).update(
        booking_organisation_ods="RYA", booking_organisation_name="NHS 111 North West"
    )

    page = signed_in.get(appointment_url(appointment))

    assert "Booked by" in page.text
    assert "NHS 111 North West" in page.text


def test_an_appointment_the_patient_booked_names_no_organisation(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside))

    page = signed_in.get(appointment_url(appointment))

    assert "Booked by" not in page.text


# The waiting list --------------------------------------------------------------------------


def practice_today(practice) -> dt.date:
    return timezone.localdate(timezone=practice.tz)


def join_fields(day: dt.date, **more):
    return {"latest_date_0": day.day, "latest_date_1": day.month, "latest_date_2": day.year, **more}


def test_joining_the_waiting_list_makes_an_entry_with_the_wishes(signed_in, alice, riverside):
    day = practice_today(riverside) + dt.timedelta(days=7)

    answer = submit(
        signed_in,
        reverse("booking-pages:join-waiting-list"),
        join_fields(day, times_of_day=["morning"], clinician_gender="female"),
    )

    entry = WaitingListEntry.objects.get(patient=alice)
    assert answer["Location"] == reverse("booking-pages:waiting-list") + "?joined"
    assert entry.latest_date == day
    assert entry.times_of_day == ["morning"]
    assert entry.clinician_gender == "female"


def test_a_last_date_beyond_the_booking_window_is_the_services_error_on_the_field(
    signed_in, alice, riverside
):
    day = practice_today(riverside) + dt.timedelta(days=riverside.booking_horizon_days + 30)

    answer = submit(signed_in, reverse("booking-pages:join-waiting-list"), join_fields(day))

    assert answer.status_code == 422
    assert 'href="#id_latest_date_0"' in answer.text
    assert "books up to" in answer.text
    assert not WaitingListEntry.objects.exists()


def test_leaving_the_waiting_list_keeps_the_entry_as_left(signed_in, alice, riverside):
    submit(
        signed_in,
        reverse("booking-pages:join-waiting-list"),
        join_fields(practice_today(riverside) + dt.timedelta(days=7)),
    )
    entry = WaitingListEntry.objects.get(patient=alice)
    page = signed_in.get(reverse("booking-pages:waiting-list"))
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}

    answer = signed_in.post(
        reverse("booking-pages:leave-waiting-list", kwargs={"entry_id": entry.pk}), hidden
    )

    entry.refresh_from_db()
    assert answer.status_code == 302
    assert entry.status == WaitingListEntry.Status.LEFT


# Statements per page -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "statements"),
    [
        ("/", 7),  # session, user, appointments, audit, profile, practice, session saved
        ("/book", 6),  # session, user, profile, practice, the others, session saved
        ("/book/A81001", 7),  # session, user, practice, types, slots, profile, session saved
        ("/appointments", 6),  # session, user, audit, upcoming, past, session saved
        ("/waiting-list", 7),  # session, user, audit, entries, profile, practice, session saved
    ],
)
def test_a_page_costs_the_same_few_statements_however_much_it_shows(
    browser, alice, riverside, assert_statements, path, statements
):
    browser.force_login(alice)
    for hours in (26, 27, 28):
        booked_for(alice, free_slot(riverside, hours_ahead=hours))
    for hours in (29, 30, 31):
        free_slot(riverside, hours_ahead=hours, clinician=ClinicianFactory(practice=riverside))
    browser.get("/")  # the session's first save is not the page's

    with assert_statements(statements):
        assert browser.get(path).status_code == 200


# Whatever a patient types ------------------------------------------------------------------

NASTY = ["\x00", "x" * 5000, "' OR 1=1 --", "<script>alert(1)</script>", "-1", "9" * 30, "٣"]


@pytest.mark.parametrize("value", NASTY)
def test_no_search_a_patient_can_type_is_a_server_error(signed_in, riverside, value):
    free_slot(riverside, hours_ahead=30)
    fields = ["day_0", "day_1", "day_2", "type", "channel", "gender", "page"]

    answers = [
        signed_in.get(reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}), {f: value})
        for f in fields
    ] + [signed_in.get(f"/book/{value[:50]}")]

    assert [a.status_code for a in answers if a.status_code >= 500] == []


@pytest.mark.parametrize("value", NASTY)
def test_no_form_a_patient_can_fill_is_a_server_error(signed_in, alice, riverside, value):
    # A page a form is on, fresh for each field: a valid value may book or cancel.
    forms = {
        "description": lambda: confirm_url(free_slot(riverside, hours_ahead=40)),
        "reason": lambda: appointment_url(
            booked_for(alice, free_slot(riverside, hours_ahead=30)), "cancel"
        ),
        "version": lambda: appointment_url(
            booked_for(alice, free_slot(riverside, hours_ahead=30)), "cancel"
        ),
        **dict.fromkeys(
            [
                "latest_date_0",
                "latest_date_2",
                "appointment_types",
                "times_of_day",
                "channels",
                "clinician_gender",
            ],
            lambda: reverse("booking-pages:join-waiting-list"),
        ),
    }

    statuses = []
    for name, page in forms.items():
        Appointment.objects.filter(patient=alice).update(status=AppointmentStatus.CANCELLED)
        statuses.append(submit(signed_in, page(), {name: value}).status_code)

    assert [status for status in statuses if status >= 500] == []
    assert not WaitingListEntry.objects.exists()  # no date, so never joined


# What the review asked of the pages --------------------------------------------------------


def test_probing_for_another_patients_appointment_is_audited_as_refused(
    signed_in, alice, bob, riverside
):
    bobs = booked_for(bob, free_slot(riverside, hours_ahead=30))

    signed_in.get(appointment_url(bobs))

    refused = AuditEvent.objects.get(actor=alice, action="page.appointment.read")
    assert (refused.allowed, refused.object_id) == (False, str(bobs.pk))


def test_booking_and_cancelling_are_audited_as_changes(signed_in, alice, riverside):
    submit(signed_in, confirm_url(free_slot(riverside, hours_ahead=30)), {})
    appointment = Appointment.objects.get(patient=alice)
    submit(signed_in, appointment_url(appointment, "cancel"), {})

    actions = set(
        AuditEvent.objects.filter(object_id=str(appointment.pk), allowed=True).values_list(
            "action", flat=True
        )
    )
    assert {"page.appointment.create", "page.appointment.cancel"} <= actions


def test_a_day_past_the_booking_window_is_an_error_on_the_field(signed_in, riverside):
    day = practice_today(riverside) + dt.timedelta(days=riverside.booking_horizon_days + 1)

    page = signed_in.get(
        reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}),
        {"day_0": day.day, "day_1": day.month, "day_2": day.year},
    )

    assert page.status_code == 400
    assert "Enter a date up to" in page.text


@pytest.mark.parametrize("day", [("31", "12", "9999"), ("29", "2", "2100"), ("٣", "٣", "٢٠٣٠")])
def test_an_extreme_or_foreign_date_is_never_a_server_error(signed_in, riverside, day):
    page = signed_in.get(
        reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}),
        {"day_0": day[0], "day_1": day[1], "day_2": day[2]},
    )

    assert page.status_code in (200, 400)


def test_the_search_offers_the_waiting_list_only_at_the_patients_own_practice(
    signed_in, riverside, hilltop
):
    for practice in (riverside, hilltop):
        practice.waiting_list_enabled, practice.registered_patients_only = True, False
        practice.save()
    join = reverse("booking-pages:join-waiting-list")

    own = signed_in.get(reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"}))
    other = signed_in.get(reverse("booking-pages:find-slot", kwargs={"ods_code": "B82002"}))

    assert join in own.text
    assert join not in other.text


def test_pressing_cancel_twice_shows_the_cancelled_appointment(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))
    page = signed_in.get(appointment_url(appointment, "cancel"))
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(page.text)}

    signed_in.post(appointment_url(appointment, "cancel"), hidden)
    second = signed_in.post(appointment_url(appointment, "cancel"), hidden)

    assert (second.status_code, second["Location"]) == (
        302,
        appointment_url(appointment) + "?cancelled",
    )


def test_pressing_move_twice_shows_the_moved_appointment(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))
    new_slot = free_slot(riverside, hours_ahead=50)
    target = reverse(
        "booking-pages:reschedule-confirm",
        kwargs={"appointment_id": appointment.pk, "slot_id": new_slot.pk},
    )
    hidden = {name: unescape(value) for name, value in HIDDEN.findall(signed_in.get(target).text)}

    signed_in.post(target, hidden)
    second = signed_in.post(target, hidden)

    assert (second.status_code, second["Location"]) == (
        302,
        appointment_url(appointment) + "?moved",
    )


def test_a_cancelled_appointment_offers_no_cancel_or_move_form(signed_in, alice, riverside):
    appointment = booked_for(alice, free_slot(riverside, hours_ahead=30))
    services.cancel_appointment(actor=Actor(user=alice), appointment_id=appointment.pk, reason="")

    for suffix in ("cancel", "reschedule"):
        page = signed_in.get(appointment_url(appointment, suffix))
        assert page.status_code == 422
        assert "<form" not in page.text.split('id="maincontent"')[1]


def test_a_form_sent_after_the_session_ended_returns_to_its_page_after_signing_in(browser):
    # The form's CSRF token outlives the session (its cookie lasts a year).
    token = dict(HIDDEN.findall(browser.get(reverse("account-pages:sign-in")).text))
    leave = reverse("booking-pages:leave-waiting-list", kwargs={"entry_id": uuid.uuid4()})
    listing = reverse("booking-pages:waiting-list")

    answer = browser.post(leave, token, HTTP_REFERER=f"http://testserver{listing}")

    # Not back to the POST-only address, which a GET after signing in could not open.
    assert answer["Location"] == reverse("account-pages:sign-in") + "?" + urlencode(
        {"next": listing}
    )


def test_an_operator_with_a_patient_role_is_kept_out_of_the_patient_pages(browser, alice):
    alice.is_superuser = True
    alice.save()
    browser.force_login(alice)

    assert browser.get(reverse("booking-pages:appointments")).status_code == 403


def test_the_privacy_page_says_how_long_an_idle_session_lasts(browser, settings):
    settings.SESSION_IDLE_MINUTES = 25

    assert "After 25 minutes" in browser.get(reverse("booking-pages:privacy")).text


def test_the_search_pages_on_to_later_slots_keeping_its_filters(signed_in, riverside):
    clinician = ClinicianFactory(practice=riverside)
    first = free_slot(riverside, hours_ahead=26, clinician=clinician)
    slots = [
        free_slot(riverside, start=first.start + dt.timedelta(minutes=10 * n), clinician=clinician)
        for n in range(1, 21)
    ]
    url = reverse("booking-pages:find-slot", kwargs={"ods_code": "A81001"})

    page_one = signed_in.get(url, {"channel": "in_person"})
    page_two = signed_in.get(url, {"channel": "in_person", "page": "2"})

    assert 'href="?channel=in_person&amp;page=2" rel="next"' in page_one.text
    assert confirm_url(slots[-1]) not in page_one.text
    assert confirm_url(slots[-1]) in page_two.text
    assert 'href="?channel=in_person&amp;page=1" rel="prev"' in page_two.text
