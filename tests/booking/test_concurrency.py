"""Races, run for real: many threads, each on its own PostgreSQL connection."""

import datetime as dt
import random
from collections import Counter

import pytest
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import HOLDS_SLOT, Appointment, AppointmentExtraSlot, Source
from booking.services import Actor, Organisation
from core.exceptions import Conflict, RuleViolation
from practices.models import Slot
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    ServiceUserFactory,
    free_slot,
    gp_connect_bookable,
    next_hour,
)

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


# GP Connect: another organisation books through the same core, several slots at a time.


def _gp_connect_actor(ods_code: str) -> Actor:
    return Actor(
        user=ServiceUserFactory(),
        source=Source.GP_CONNECT,
        organisation=Organisation(ods_code=ods_code, type_code="urgent-care"),
    )


def _run_of_slots(practice, count: int, *, hours_ahead: int = 24) -> list[Slot]:
    clinician = ClinicianFactory(practice=practice)
    first = next_hour(hours_ahead)
    return [
        free_slot(practice, start=first + dt.timedelta(minutes=10 * i), clinician=clinician)
        for i in range(count)
    ]


def _outcome(call):
    try:
        call()
        return "booked"
    except Conflict as exc:
        return exc.code


def _holders(slot: Slot) -> int:
    """Live appointments holding ``slot``, as their first slot or a later one."""
    return (
        Appointment.objects.filter(HOLDS_SLOT, slot=slot).count()
        + AppointmentExtraSlot.objects.filter(slot=slot, released=False).count()
    )


def test_a_gp_connect_booking_and_a_patients_booking_racing_for_one_slot_make_one_appointment(
    riverside,
):
    gp_connect_bookable(riverside)
    nhs111 = _gp_connect_actor("RYA")
    for round_ahead in range(5):  # a few rounds, for different interleavings
        alice, bob = (PatientFactory(profile__registered_practice=riverside) for _ in range(2))
        first, shared = _run_of_slots(riverside, 2, hours_ahead=24 + round_ahead)
        bobs_client = client_for(bob)

        def attempt(who, first=first, shared=shared, alice=alice, bobs_client=bobs_client):
            if who == "nhs111":
                return _outcome(
                    lambda: services.book_slots(
                        actor=nhs111, slot_ids=[first.pk, shared.pk], patient_id=alice.pk
                    )
                )
            response = bobs_client.post(LIST, {"slot_id": str(shared.id)}, format="json")
            return {201: "booked", 409: "slot_taken"}.get(response.status_code, response)

        outcomes = run_concurrently(attempt, ["nhs111", "bob"])

        assert sorted(outcomes) == ["booked", "slot_taken"], outcomes
        assert _holders(shared) == 1
        nhs111_won = outcomes[0] == "booked"
        assert Slot.objects.get(pk=first.pk).status == ("booked" if nhs111_won else "free")
        assert _holders(first) == int(nhs111_won)


def test_organisations_booking_overlapping_runs_of_slots_never_deadlock(riverside):
    """Each books its run in one transaction, locking the slots in id order: whichever order
    the runs name them in, one waits for the other and no cycle forms."""
    gp_connect_bookable(riverside)
    slots = _run_of_slots(riverside, 4)
    runs = [
        (_gp_connect_actor(f"RY{i}"), PatientFactory(profile__registered_practice=riverside), run)
        for i, run in enumerate([slots[0:3], slots[1:4][::-1], slots[1:3], slots[2:4]])
    ]

    def attempt(step):
        actor, patient, run = step
        return _outcome(
            lambda: services.book_slots(
                actor=actor, slot_ids=[s.pk for s in run], patient_id=patient.pk
            )
        )

    outcomes = Counter(run_concurrently(attempt, runs))

    assert set(outcomes) <= {"booked", "slot_taken"}, outcomes
    assert outcomes["booked"] >= 1
    assert all(_holders(slot) <= 1 for slot in slots)
    booked = Slot.objects.filter(pk__in=[s.pk for s in slots], status="booked").count()
    assert booked == sum(_holders(slot) for slot in slots)


def test_a_cancel_racing_a_booking_across_its_slots_never_deadlocks(riverside):
    gp_connect_bookable(riverside)
    nhs111, other = _gp_connect_actor("RYA"), _gp_connect_actor("A82002")
    alice, bob = (PatientFactory(profile__registered_practice=riverside) for _ in range(2))
    slots = _run_of_slots(riverside, 3)
    held = services.book_slots(
        actor=nhs111, slot_ids=[s.pk for s in slots[:2]], patient_id=alice.pk
    )

    def attempt(step):
        if step == "cancel":
            services.cancel_appointment(actor=nhs111, appointment_id=held.pk, reason="Better")
            return "cancelled"
        return _outcome(
            lambda: services.book_slots(
                actor=other, slot_ids=[slots[2].pk, slots[1].pk], patient_id=bob.pk
            )
        )

    outcomes = run_concurrently(attempt, ["cancel", "book"])

    assert outcomes[0] == "cancelled"
    assert outcomes[1] in {"booked", "slot_taken"}, outcomes
    assert Slot.objects.get(pk=slots[0].pk).status == "free"
    assert all(_holders(slot) <= 1 for slot in slots)


def test_organisations_racing_for_the_last_place_under_a_daily_limit_get_one(riverside):
    """Different slots, one place left: the setting's limit lock orders the two counts."""
    setting = gp_connect_bookable(riverside, daily_limit=1)
    for round_ahead in range(3):
        slots = _run_of_slots(riverside, 2, hours_ahead=24 * (round_ahead + 1))
        attempts = [
            (_gp_connect_actor(ods), PatientFactory(profile__registered_practice=riverside), slot)
            for ods, slot in zip(("RYA", "A82002"), slots, strict=True)
        ]

        def attempt(args):
            actor, patient, slot = args
            try:
                services.book_slots(actor=actor, slot_ids=[slot.pk], patient_id=patient.pk)
                return "booked"
            except RuleViolation as exc:
                return exc.code

        outcomes = run_concurrently(attempt, attempts)

        assert sorted(outcomes) == ["booked", "gp_connect_limit_reached"], outcomes
    assert setting.daily_limit == 1
