"""The earliest free slot that matches, chosen on the server (issue 22's herd at 8am), and
409 alternatives spread so that losers do not all try the same few."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import Appointment
from booking.services import Actor, SlotWish
from booking.services.selectors import ALTERNATIVES_SHOWN, free_alternatives
from core.exceptions import Conflict, RuleViolation
from practices.models import SlotStatus
from tests.conftest import client_for
from tests.factories import free_slot

pytestmark = pytest.mark.django_db

EARLIEST = reverse("booking:appointment-earliest")


def tomorrow(practice) -> dt.date:
    return timezone.localtime(timezone=practice.tz).date() + dt.timedelta(days=1)


def at(practice, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=practice.tz)


def test_it_books_the_earliest_matching_slot(alice, riverside):
    day = tomorrow(riverside)
    free_slot(riverside, start=at(riverside, day, 9), channel="telephone")
    wanted = free_slot(riverside, start=at(riverside, day, 9, 10))
    free_slot(riverside, start=at(riverside, day, 9, 20))

    response = client_for(alice).post(
        EARLIEST,
        {"practice_id": "A81001", "day": str(day), "channel": "in_person"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["slot_id"] == str(wanted.pk)


def test_it_keeps_to_the_time_window_on_the_day(alice, riverside):
    day = tomorrow(riverside)
    free_slot(riverside, start=at(riverside, day, 9))
    afternoon = free_slot(riverside, start=at(riverside, day, 14))

    appointment = services.book_earliest(
        actor=Actor(user=alice),
        practice_ods="A81001",
        wish=SlotWish(day=day, from_time=dt.time(12), to_time=dt.time(17)),
    )

    assert appointment.slot_id == afternoon.pk


def test_it_passes_over_a_slot_the_patient_cannot_take_for_an_appointment_they_hold(
    alice, riverside
):
    day = tomorrow(riverside)
    first = free_slot(riverside, start=at(riverside, day, 9))
    clash = free_slot(riverside, start=at(riverside, day, 9))  # another clinician, same time
    later = free_slot(riverside, start=at(riverside, day, 10))
    services.book_appointment(actor=Actor(user=alice), slot_id=first.pk)

    appointment = services.book_earliest(
        actor=Actor(user=alice), practice_ods="A81001", wish=SlotWish(day=day)
    )

    assert appointment.slot_id == later.pk
    clash.refresh_from_db()
    assert clash.status == SlotStatus.FREE


def test_nothing_left_is_a_409_with_alternatives_after_the_window(alice, riverside):
    day = tomorrow(riverside)
    next_day = free_slot(riverside, start=at(riverside, day + dt.timedelta(days=1), 9))

    with pytest.raises(Conflict) as refused:
        services.book_earliest(
            actor=Actor(user=alice), practice_ods="A81001", wish=SlotWish(day=day)
        )

    assert refused.value.code == "no_free_slot"
    assert [a["slot_id"] for a in refused.value.extra["alternatives"]] == [str(next_day.pk)]


def test_a_backwards_window_is_refused_on_its_field(alice, riverside):
    response = client_for(alice).post(
        EARLIEST,
        {
            "practice_id": "A81001",
            "day": str(tomorrow(riverside)),
            "from_time": "14:00:00",
            "to_time": "09:00:00",
        },
        format="json",
    )
    assert response.status_code == 422
    assert "to_time" in response.json()["errors"]


def test_times_without_a_day_are_refused(alice, riverside):
    with pytest.raises(RuleViolation) as refused:
        services.book_earliest(
            actor=Actor(user=alice), practice_ods="A81001", wish=SlotWish(from_time=dt.time(9))
        )
    assert refused.value.code == "window_without_day"


def test_the_last_day_of_the_calendar_is_not_a_500(alice, riverside):
    response = client_for(alice).post(
        EARLIEST, {"practice_id": "A81001", "day": "9999-12-31"}, format="json"
    )
    assert response.status_code == 409


def test_staff_book_the_earliest_for_a_patient(alice, dave, riverside):
    slot = free_slot(riverside, hours_ahead=30)
    response = client_for(dave).post(
        EARLIEST, {"practice_id": "A81001", "patient_id": str(alice.pk)}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert Appointment.objects.get(slot=slot).patient == alice


def test_earliest_booking_costs_a_fixed_number_of_statements(alice, riverside, assert_statements):
    day = tomorrow(riverside)
    for minute in range(0, 60, 10):
        free_slot(riverside, start=at(riverside, day, 9, minute))
    client = client_for(alice)
    # auth; the practice, the patient's lock, their count of appointments, the pick (SKIP
    # LOCKED); then the booking's own (the slot's lock, the rules' read, four writes) and the
    # audit row. The task is queued after commit, which a test's transaction never reaches.
    with assert_statements(12):
        response = client.post(EARLIEST, {"practice_id": "A81001", "day": str(day)}, format="json")
    assert response.status_code == 201


def test_the_409s_alternatives_are_spread_over_the_nearest_free_slots(alice, riverside):
    day = tomorrow(riverside)
    for index in range(30):
        free_slot(riverside, start=at(riverside, day, 8) + dt.timedelta(minutes=10 * index))
    now = timezone.now()

    drawn = [
        free_alternatives(
            user=alice, practice=riverside, after=at(riverside, day, 8), appointment_type=None,
            now=now,
        )
        for _ in range(20)
    ]  # fmt: skip

    assert all(len(alternatives) == ALTERNATIVES_SHOWN for alternatives in drawn)
    assert all(
        [a["start"] for a in alternatives] == sorted(a["start"] for a in alternatives)
        for alternatives in drawn
    )
    # Twenty losers are not all sent to the same five.
    assert len({tuple(a["slot_id"] for a in alternatives) for alternatives in drawn}) > 1


def test_staff_of_another_practice_learn_nothing_about_a_patient(alice, erin, riverside):
    """Whether Alice holds an appointment then must not show as "sold out" to Erin."""
    day = tomorrow(riverside)
    held = free_slot(riverside, start=at(riverside, day, 9))
    services.book_appointment(actor=Actor(user=alice), slot_id=held.pk)
    wish = {"practice_id": "A81001", "day": str(day), "patient_id": str(alice.pk)}

    response = client_for(erin).post(EARLIEST, wish, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "not_practice_staff"


def test_a_patient_of_another_practice_is_not_found_for_staff(dave, riverside, hilltop):
    from tests.factories import PatientFactory

    stranger = PatientFactory(profile__registered_practice=hilltop)
    free_slot(riverside, hours_ahead=30)
    response = client_for(dave).post(
        EARLIEST, {"practice_id": "A81001", "patient_id": str(stranger.pk)}, format="json"
    )
    assert response.status_code == 404


def test_a_patient_at_their_limit_is_told_so_without_holding_a_slot(alice, riverside):
    riverside.max_future_appointments = 1
    riverside.save()
    services.book_appointment(actor=Actor(user=alice), slot_id=free_slot(riverside).pk)
    free_slot(riverside, hours_ahead=40)
    with pytest.raises(RuleViolation) as refused:
        services.book_earliest(actor=Actor(user=alice), practice_ods="A81001", wish=SlotWish())
    assert refused.value.code == "too_many_appointments"
