"""Races, run for real: many threads, each on its own PostgreSQL connection."""

import datetime as dt
import random
from collections import Counter

import pytest
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import Appointment
from booking.services import Actor
from core.exceptions import Conflict
from practices.models import Slot
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import PatientFactory, free_slot

pytestmark = pytest.mark.django_db(transaction=True)

LIST = reverse("booking:appointment-list")


def test_twenty_four_patients_racing_for_one_slot_get_exactly_one_booking(riverside):
    slot = free_slot(riverside)
    clients = [
        client_for(PatientFactory(profile__registered_practice=riverside)) for _ in range(24)
    ]

    def attempt(client):
        return client.post(LIST, {"slot_id": str(slot.id)}, format="json").status_code

    statuses = Counter(run_concurrently(attempt, clients))

    assert statuses == {201: 1, 409: 23}
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert Slot.objects.get(pk=slot.pk).status == "booked"


def test_one_patient_racing_for_overlapping_slots_gets_one(riverside):
    patient = PatientFactory(profile__registered_practice=riverside)
    first = free_slot(riverside)
    slots = [first] + [free_slot(riverside, start=first.start) for _ in range(9)]

    def attempt(slot):
        return client_for(patient).post(LIST, {"slot_id": str(slot.id)}, format="json").status_code

    statuses = Counter(run_concurrently(attempt, slots))

    assert statuses == {201: 1, 409: 9}
    assert Slot.objects.filter(status="booked").count() == 1


def test_one_patient_racing_past_the_maximum_gets_only_the_maximum(riverside):
    riverside.max_future_appointments = 2
    riverside.save()
    patient = PatientFactory(profile__registered_practice=riverside)
    slots = [free_slot(riverside, hours_ahead=24 + i) for i in range(8)]

    def attempt(slot):
        return client_for(patient).post(LIST, {"slot_id": str(slot.id)}, format="json").status_code

    statuses = Counter(run_concurrently(attempt, slots))

    assert statuses == {201: 2, 422: 6}


def test_interleaved_reschedules_and_cancels_leave_no_slot_double_booked_or_orphaned(
    riverside, dave
):
    rng = random.Random(20261125)
    patients = [PatientFactory(profile__registered_practice=riverside) for _ in range(6)]
    slots = [free_slot(riverside, hours_ahead=24 + i) for i in range(12)]
    staff = client_for(dave)
    appointments = [
        staff.post(
            LIST, {"slot_id": str(slots[i].id), "patient_id": str(p.id)}, format="json"
        ).json()["id"]
        for i, p in enumerate(patients)
    ]
    plan = [
        ("cancel", rng.choice(appointments), None)
        if rng.random() < 0.25
        else ("reschedule", rng.choice(appointments), rng.choice(slots))
        for _ in range(30)
    ]

    def attempt(step):
        action, appointment_id, slot = step
        url = reverse(f"booking:appointment-{action}", kwargs={"pk": appointment_id})
        body = {"reason": "race"} if action == "cancel" else {"slot_id": str(slot.id)}
        return staff.post(url, body, format="json").status_code

    statuses = Counter(run_concurrently(attempt, plan))

    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 409, 422}
    holders = Slot.objects.annotate(
        live=Count("appointments", filter=~Q(appointments__status="cancelled"))
    )
    assert not holders.filter(live__gt=1).exists()  # never double-booked
    assert not holders.filter(live=1).exclude(status="booked").exists()  # held slot shown free
    assert not holders.filter(live=0, status="booked").exists()  # orphaned: booked by nobody
    live = Appointment.objects.exclude(status="cancelled")
    assert all(a.start == a.slot.start for a in live.select_related("slot"))


def test_a_herd_asking_for_the_earliest_slot_sells_out_with_one_attempt_each(riverside):
    """Issue 22's herd in small: more patients than slots, all at once. Each gets a
    different slot or a 409 once none is left, and every slot is booked. (That none waits
    on another's row is the next test.)"""
    day = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=1)
    first = dt.datetime.combine(day, dt.time(9), tzinfo=riverside.tz)
    slots = [free_slot(riverside, start=first + dt.timedelta(minutes=10 * i)) for i in range(12)]
    patients = [PatientFactory(profile__registered_practice=riverside) for _ in range(20)]

    def earliest(patient):
        try:
            services.book_earliest(
                actor=Actor(user=patient),
                practice_ods=riverside.ods_code,
                wish=services.SlotWish(day=day),
            )
            return "booked"
        except Conflict as exc:
            return exc.code

    outcomes = Counter(run_concurrently(earliest, patients))

    assert outcomes == {"booked": 12, "no_free_slot": 8}
    assert Slot.objects.filter(pk__in=[s.pk for s in slots], status="booked").count() == 12
    assert Appointment.objects.values("patient").distinct().count() == 12


def test_the_earliest_slot_being_booked_elsewhere_is_passed_over_not_waited_for(riverside):
    """Another request holds the earliest slot's row lock: the next one gets the second
    slot at once (a plain FOR UPDATE would wait, and here time out)."""
    import threading

    from django.db import connection, transaction

    day = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=1)
    first = dt.datetime.combine(day, dt.time(9), tzinfo=riverside.tz)
    earliest, second = (
        free_slot(riverside, start=first + dt.timedelta(minutes=m)) for m in (0, 10)
    )
    patient = PatientFactory(profile__registered_practice=riverside)
    holding, release = threading.Event(), threading.Event()

    def hold_the_earliest():
        try:
            with transaction.atomic():
                Slot.objects.select_for_update().get(pk=earliest.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_earliest)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")
        appointment = services.book_earliest(
            actor=Actor(user=patient),
            practice_ods=riverside.ods_code,
            wish=services.SlotWish(day=day),
        )
    finally:
        release.set()
        holder.join(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert appointment.slot_id == second.pk
