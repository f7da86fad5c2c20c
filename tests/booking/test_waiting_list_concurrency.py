"""The waiting list's races, run for real: many threads, each on its own PostgreSQL connection."""

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from booking import services
from booking.models import Appointment, Vacancy, WaitingListEntry, WaitingListOffer
from booking.services import Actor, holds, waiting_list
from core.exceptions import Conflict
from practices.models import Slot, SlotStatus
from tests.concurrency import run_concurrently
from tests.factories import PatientFactory, free_slot

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_patients(practice, count):
    patients = [PatientFactory(profile__registered_practice=practice) for _ in range(count)]
    latest = timezone.localtime(timezone=practice.tz).date() + dt.timedelta(days=10)
    for patient in patients:
        waiting_list.join_waiting_list(
            actor=Actor(user=patient),
            practice_ods=practice.ods_code,
            wishes=waiting_list.Wishes(latest_date=latest),
        )
    return patients


def vacancy(slot, cause=Vacancy.Cause.CANCELLED):
    return Vacancy.objects.create(slot=slot, practice_id=slot.practice_id, cause=cause)


def test_matchers_racing_over_one_freed_slot_offer_it_once(riverside):
    waiting_patients(riverside, 3)
    slot = free_slot(riverside, hours_ahead=30)
    for _ in range(3):  # freed three times over before any worker ran: three rounds queued
        vacancy(slot)

    made = run_concurrently(lambda _: waiting_list.match_due(), range(4))

    assert sum(made) == 1
    assert WaitingListOffer.objects.count() == 1
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.HELD
    assert not Vacancy.objects.filter(matched_at__isnull=True).exists()


def test_a_batch_of_claimants_racing_gets_exactly_one_appointment(riverside):
    riverside.offer_batch_size = 5
    riverside.save()
    waiting_patients(riverside, 5)
    slot = free_slot(riverside, hours_ahead=30)
    vacancy(slot)
    assert waiting_list.match_due() == 5
    offers = list(WaitingListOffer.objects.select_related("entry__patient"))

    def claim(offer):
        try:
            waiting_list.claim_offer(actor=Actor(user=offer.entry.patient), offer_id=offer.pk)
            return "booked"
        except Conflict as exc:
            return exc.code

    outcomes = Counter(run_concurrently(claim, offers))

    assert outcomes == {"booked": 1, "offer_taken": 4}
    assert Appointment.objects.filter(slot=slot).count() == 1
    statuses = Counter(WaitingListOffer.objects.values_list("status", flat=True))
    assert statuses == {"claimed": 1, "gone": 4}


def test_a_claim_racing_a_staff_booking_over_the_hold_gives_one_appointment(riverside, dave):
    (alice,) = waiting_patients(riverside, 1)
    walk_in = PatientFactory(profile__registered_practice=riverside)
    slot = free_slot(riverside, hours_ahead=30)
    vacancy(slot)
    waiting_list.match_due()
    offer = WaitingListOffer.objects.get()

    def attempt(who):
        try:
            if who == "claim":
                waiting_list.claim_offer(actor=Actor(user=alice), offer_id=offer.pk)
            else:
                services.book_appointment(
                    actor=Actor(user=dave), slot_id=slot.pk, patient_id=walk_in.pk
                )
            return "booked"
        except Conflict as exc:
            return exc.code

    outcomes = run_concurrently(attempt, ["claim", "staff"])

    assert outcomes.count("booked") == 1
    assert Appointment.objects.filter(slot=slot).count() == 1
    offer.refresh_from_db()
    assert offer.status in ("claimed", "gone")


def test_a_claim_racing_its_expiry_either_books_or_expires_never_both(riverside):
    (alice,) = waiting_patients(riverside, 1)
    slot = free_slot(riverside, hours_ahead=30)
    vacancy(slot)
    waiting_list.match_due()
    offer = WaitingListOffer.objects.get()

    def attempt(who):
        if who == "expire":
            return waiting_list.expire_due(now=offer.expires_at + dt.timedelta(seconds=1))
        try:
            waiting_list.claim_offer(
                actor=Actor(user=alice),
                offer_id=offer.pk,
                now=offer.expires_at - dt.timedelta(seconds=1),
            )
            return "booked"
        except Conflict as exc:
            return exc.code

    outcomes = run_concurrently(attempt, ["claim", "expire"])

    offer.refresh_from_db()
    booked = Appointment.objects.filter(slot=slot).count()
    if offer.status == "claimed":
        assert outcomes == ["booked", 0] and booked == 1
    else:
        assert offer.status == "expired"
        assert outcomes == ["offer_expired", 1] and booked == 0


def test_a_matcher_that_dies_mid_round_leaves_the_round_for_the_next(riverside, monkeypatch):
    waiting_patients(riverside, 1)
    slot = free_slot(riverside, hours_ahead=30)
    vacancy(slot)

    def crash(*args, **kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(holds, "note_offered", crash)
        (died,) = run_concurrently(lambda _: waiting_list.match_due(), [None])
    assert isinstance(died, SystemExit)
    assert not WaitingListOffer.objects.exists()
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.FREE

    assert waiting_list.sweep()["offered"] == 1
    assert WaitingListOffer.objects.get().slot_id == slot.pk


def test_a_patient_joining_twice_at_once_stays_within_the_limit(riverside):
    riverside.max_waiting_entries = 2
    riverside.save()
    patient = PatientFactory(profile__registered_practice=riverside)
    latest = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=5)

    def join(channel):
        try:
            waiting_list.join_waiting_list(
                actor=Actor(user=patient),
                practice_ods=riverside.ods_code,
                wishes=waiting_list.Wishes(latest_date=latest, channels=[channel]),
            )
            return "joined"
        except Exception as exc:  # noqa: BLE001  # the refusal is what is counted
            return getattr(exc, "code", repr(exc))

    outcomes = Counter(run_concurrently(join, ["in_person", "telephone", "video"] * 2))

    assert outcomes == {"joined": 2, "too_many_waiting_entries": 4}
    assert WaitingListEntry.objects.filter(patient=patient).count() == 2


def test_a_move_claim_racing_its_expiry_and_a_new_round_never_deadlocks(riverside):
    alice = PatientFactory(profile__registered_practice=riverside)
    appointment = services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside, hours_ahead=70).pk
    )
    latest = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=10)
    waiting_list.join_waiting_list(
        actor=Actor(user=alice),
        practice_ods=riverside.ods_code,
        wishes=waiting_list.Wishes(latest_date=latest, move_appointment_id=appointment.pk),
    )
    slots = [free_slot(riverside, hours_ahead=30 + i) for i in range(2)]
    vacancy(slots[0])
    waiting_list.match_due()
    offer = WaitingListOffer.objects.get()
    vacancy(slots[1])  # a second round for the same entry, matched while the claim runs

    def attempt(who):
        try:
            if who == "expire":
                return waiting_list.expire_due(now=offer.expires_at + dt.timedelta(seconds=1))
            if who == "match":
                return waiting_list.match_due()
            waiting_list.claim_offer(
                actor=Actor(user=alice),
                offer_id=offer.pk,
                now=offer.expires_at - dt.timedelta(seconds=1),
            )
            return "moved"
        except Conflict as exc:
            return exc.code

    outcomes = run_concurrently(attempt, ["claim", "expire", "match"])

    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    appointment.refresh_from_db()
    offer.refresh_from_db()
    assert (offer.status == "claimed") == (appointment.slot_id == slots[0].pk)
    assert Appointment.objects.filter(patient=alice).exclude(status="cancelled").count() == 1
