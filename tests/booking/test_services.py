"""The booking rules, through the services every door (API, admin, commands) calls."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from booking import services
from booking.models import Appointment, AppointmentHistory, Source
from booking.services import Actor
from core.exceptions import Conflict, Forbidden, NotFound, RuleViolation
from practices.models import Slot, SlotType
from tests.factories import ClinicianFactory, PatientFactory, free_slot, later_today

pytestmark = pytest.mark.django_db


def book(user, slot, **kwargs):
    return services.book_appointment(actor=Actor(user=user), slot_id=slot.pk, **kwargs)


def status_of(slot):
    return Slot.objects.get(pk=slot.pk).status


def raises_code(exc_type, code, call):
    with pytest.raises(exc_type) as info:
        call()
    assert info.value.code == code
    return info.value


# Booking ----------------------------------------------------------------------------------


def test_booking_takes_the_slot_and_writes_history(alice, riverside):
    slot = free_slot(riverside)

    appointment = book(alice, slot, description="Sore knee")

    assert (appointment.patient, appointment.slot, appointment.status) == (alice, slot, "booked")
    assert (appointment.start, appointment.end, appointment.clinician_id) == (
        slot.start,
        slot.end,
        slot.clinician_id,
    )
    assert status_of(slot) == "booked"
    (entry,) = AppointmentHistory.objects.filter(appointment=appointment)
    assert (entry.action, entry.from_status, entry.to_status, entry.actor, entry.source) == (
        "booked",
        "",
        "booked",
        alice,
        Source.API,
    )


def test_a_booked_slot_cannot_be_booked_again(alice, bob, riverside):
    slot = free_slot(riverside)
    later = free_slot(riverside, hours_ahead=30)
    book(alice, slot)

    error = raises_code(Conflict, "slot_taken", lambda: book(bob, slot))

    assert [a["slot_id"] for a in error.extra["alternatives"]] == [str(later.pk)]
    assert Appointment.objects.count() == 1


def test_a_slot_in_the_past_cannot_be_booked_even_by_staff(dave, alice, riverside):
    past = timezone.now() - dt.timedelta(minutes=5)
    slot = free_slot(riverside, start=past)

    raises_code(RuleViolation, "slot_in_past", lambda: book(dave, slot, patient_id=alice.pk))
    assert status_of(slot) == "free"


def test_patients_cannot_book_inside_the_minimum_notice(alice, riverside):
    soon = timezone.now() + dt.timedelta(minutes=60)

    raises_code(RuleViolation, "too_soon", lambda: book(alice, free_slot(riverside, start=soon)))


def test_patients_cannot_book_beyond_the_booking_horizon(alice, riverside):
    raises_code(
        RuleViolation,
        "too_far_ahead",
        lambda: book(alice, free_slot(riverside, hours_ahead=24 * 29)),
    )


def test_patients_cannot_book_staff_only_slots(alice, riverside):
    slot = free_slot(riverside, online_bookable=False)

    raises_code(RuleViolation, "staff_only_slot", lambda: book(alice, slot))


def test_staff_can_book_short_notice_staff_only_slots_for_their_patients(dave, alice, riverside):
    soon = timezone.now() + dt.timedelta(minutes=20)
    slot = free_slot(riverside, start=soon, online_bookable=False)

    appointment = book(dave, slot, patient_id=alice.pk)

    assert (appointment.patient, appointment.booked_by) == (alice, dave)


def test_patients_book_only_where_they_are_registered(alice, hilltop):
    raises_code(RuleViolation, "not_registered", lambda: book(alice, free_slot(hilltop)))


def test_a_practice_open_to_all_lets_unregistered_patients_book(alice, hilltop):
    hilltop.registered_patients_only = False
    hilltop.save()

    assert book(alice, free_slot(hilltop)).practice == hilltop


def test_a_patient_may_hold_at_most_the_practice_maximum(alice, riverside):
    riverside.max_future_appointments = 2
    riverside.save()
    book(alice, free_slot(riverside, hours_ahead=24))
    book(alice, free_slot(riverside, hours_ahead=48))

    raises_code(
        RuleViolation,
        "too_many_appointments",
        lambda: book(alice, free_slot(riverside, hours_ahead=72)),
    )


def test_cancelled_and_past_appointments_do_not_count_towards_the_maximum(alice, riverside):
    riverside.max_future_appointments = 1
    riverside.save()
    first = book(alice, free_slot(riverside, hours_ahead=24))
    services.cancel_appointment(actor=Actor(user=alice), appointment_id=first.pk, reason="Better")

    assert book(alice, free_slot(riverside, hours_ahead=48)).status == "booked"


def test_a_patient_cannot_hold_two_overlapping_appointments(alice, riverside):
    first = free_slot(riverside)
    overlapping = free_slot(riverside, start=first.start + dt.timedelta(minutes=5))
    book(alice, first)

    raises_code(Conflict, "overlapping_appointment", lambda: book(alice, overlapping))
    assert status_of(overlapping) == "free"


def test_a_patient_cannot_book_for_someone_else(alice, bob, riverside):
    raises_code(
        Forbidden,
        "book_for_self_only",
        lambda: book(alice, free_slot(riverside), patient_id=bob.pk),
    )


def test_a_patient_may_name_themself(alice, riverside):
    assert book(alice, free_slot(riverside), patient_id=alice.pk).patient == alice


def test_staff_must_name_the_patient(dave, riverside):
    raises_code(RuleViolation, "patient_required", lambda: book(dave, free_slot(riverside)))


def test_staff_cannot_book_at_a_practice_they_do_not_work_at(erin, alice, riverside):
    raises_code(
        Forbidden,
        "not_practice_staff",
        lambda: book(erin, free_slot(riverside), patient_id=alice.pk),
    )


def test_staff_cannot_book_for_a_patient_registered_elsewhere(dave, riverside, hilltop):
    stranger = PatientFactory(profile__registered_practice=hilltop)

    raises_code(
        NotFound,
        "patient_not_found",
        lambda: book(dave, free_slot(riverside), patient_id=stranger.pk),
    )


def test_an_unknown_slot_is_not_found(alice):
    import uuid

    with pytest.raises(NotFound):
        services.book_appointment(actor=Actor(user=alice), slot_id=uuid.uuid4())


def test_booking_by_time_and_type_finds_the_matching_slot(alice, riverside):
    slot = free_slot(riverside, slot_type="follow_up")
    free_slot(
        riverside,
        start=slot.start,
        slot_type="routine",
        clinician=ClinicianFactory(practice=riverside),
    )

    found = services.find_slot(
        user=alice, practice_ods="a81001", start=slot.start, appointment_type="follow_up"
    )

    assert found == slot


def test_booking_by_time_with_no_slot_offers_alternatives(alice, riverside):
    slot = free_slot(riverside)

    error = raises_code(
        Conflict,
        "no_free_slot",
        lambda: services.find_slot(
            user=alice,
            practice_ods="A81001",
            start=slot.start - dt.timedelta(hours=1),
            appointment_type="routine",
        ),
    )
    assert [a["slot_id"] for a in error.extra["alternatives"]] == [str(slot.pk)]


# Rescheduling -----------------------------------------------------------------------------


def reschedule(user, appointment, slot, **kwargs):
    return services.reschedule_appointment(
        actor=Actor(user=user), appointment_id=appointment.pk, new_slot_id=slot.pk, **kwargs
    )


def test_rescheduling_moves_the_appointment_and_frees_the_old_slot(alice, riverside):
    old, new = free_slot(riverside, hours_ahead=24), free_slot(riverside, hours_ahead=48)
    appointment = book(alice, old)

    moved = reschedule(alice, appointment, new)

    assert (moved.pk, moved.reference, moved.slot, moved.start) == (
        appointment.pk,
        appointment.reference,
        new,
        new.start,
    )
    assert (status_of(old), status_of(new)) == ("free", "booked")
    assert moved.version == 2
    entry = AppointmentHistory.objects.filter(appointment=appointment).last()
    assert entry.action == "rescheduled"
    assert entry.details["from"]["slot_id"] == str(old.pk)


def test_rescheduling_onto_a_taken_slot_changes_nothing(alice, bob, riverside):
    old, taken = free_slot(riverside, hours_ahead=24), free_slot(riverside, hours_ahead=48)
    appointment = book(alice, old)
    book(bob, taken)

    raises_code(Conflict, "slot_taken", lambda: reschedule(alice, appointment, taken))

    appointment.refresh_from_db()
    assert (appointment.slot, status_of(old), appointment.version) == (old, "booked", 1)


def test_rescheduling_may_overlap_the_appointment_being_moved(alice, riverside):
    old = free_slot(riverside, hours_ahead=24, minutes=20)
    new = free_slot(
        riverside,
        start=old.start + dt.timedelta(minutes=10),
        clinician=ClinicianFactory(practice=riverside),
    )
    appointment = book(alice, old)

    assert reschedule(alice, appointment, new).slot == new


def test_patients_cannot_reschedule_after_the_cut_off(alice, riverside):
    soon = timezone.now() + dt.timedelta(minutes=150)
    appointment = book(alice, free_slot(riverside, start=soon))
    riverside.cancellation_cutoff_minutes = 180
    riverside.save()

    raises_code(
        RuleViolation,
        "too_late_to_cancel",
        lambda: reschedule(alice, appointment, free_slot(riverside, hours_ahead=48)),
    )


def test_the_new_slot_must_meet_the_booking_rules(alice, riverside):
    appointment = book(alice, free_slot(riverside))

    raises_code(
        RuleViolation,
        "staff_only_slot",
        lambda: reschedule(
            alice, appointment, free_slot(riverside, hours_ahead=48, online_bookable=False)
        ),
    )


def test_an_appointment_cannot_move_to_another_practice(dave, alice, riverside, hilltop):
    appointment = book(alice, free_slot(riverside))

    raises_code(
        RuleViolation, "other_practice", lambda: reschedule(dave, appointment, free_slot(hilltop))
    )


# Cancelling -------------------------------------------------------------------------------


def cancel(user, appointment, reason="No longer needed", **kwargs):
    return services.cancel_appointment(
        actor=Actor(user=user), appointment_id=appointment.pk, reason=reason, **kwargs
    )


def test_cancelling_keeps_the_appointment_and_frees_the_slot(alice, riverside):
    slot = free_slot(riverside)
    appointment = book(alice, slot)

    cancelled = cancel(alice, appointment, reason="Feeling better")

    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Feeling better")
    assert cancelled.cancelled_at is not None
    assert status_of(slot) == "free"
    assert Appointment.objects.filter(pk=appointment.pk).exists()
    assert (
        AppointmentHistory.objects.filter(appointment=appointment).last().reason == "Feeling better"
    )


def test_a_freed_slot_can_be_booked_again(alice, bob, riverside):
    slot = free_slot(riverside)
    cancel(alice, book(alice, slot))

    assert book(bob, slot).slot == slot


def test_patients_cannot_cancel_after_the_cut_off(alice, riverside):
    appointment = book(
        alice, free_slot(riverside, start=timezone.now() + dt.timedelta(minutes=150))
    )
    riverside.cancellation_cutoff_minutes = 180
    riverside.save()

    raises_code(RuleViolation, "too_late_to_cancel", lambda: cancel(alice, appointment))
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_staff_can_cancel_after_the_cut_off(alice, dave, riverside):
    appointment = book(
        alice, free_slot(riverside, start=timezone.now() + dt.timedelta(minutes=150))
    )
    riverside.cancellation_cutoff_minutes = 180
    riverside.save()

    assert cancel(dave, appointment).status == "cancelled"


def test_a_cancelled_appointment_cannot_be_changed(alice, riverside):
    appointment = book(alice, free_slot(riverside))
    cancel(alice, appointment)

    raises_code(RuleViolation, "appointment_cancelled", lambda: cancel(alice, appointment))
    raises_code(
        RuleViolation,
        "appointment_cancelled",
        lambda: reschedule(alice, appointment, free_slot(riverside, hours_ahead=48)),
    )
    raises_code(
        RuleViolation,
        "appointment_cancelled",
        lambda: services.amend_notes(
            actor=Actor(user=alice), appointment_id=appointment.pk, changes={"comment": "x"}
        ),
    )


def test_another_patients_appointment_is_not_found(alice, bob, riverside):
    appointment = book(alice, free_slot(riverside))

    raises_code(NotFound, "appointment_not_found", lambda: cancel(bob, appointment))


# Outcomes ---------------------------------------------------------------------------------


def outcome(user, appointment, value, now=None):
    return services.record_outcome(
        actor=Actor(user=user), appointment_id=appointment.pk, outcome=value, now=now
    )


@pytest.fixture
def todays(alice, carol, riverside):
    """Alice's appointment with Carol in a few minutes, today (booked the day before)."""
    start = later_today()
    slot = free_slot(riverside, start=start, clinician=carol.clinician)
    return book(alice, slot, now=start - dt.timedelta(days=1))


def test_staff_mark_arrived_then_completed(carol, todays):
    outcome(carol, todays, "arrived", now=todays.start - dt.timedelta(minutes=10))

    completed = outcome(carol, todays, "completed", now=todays.start + dt.timedelta(minutes=15))

    assert completed.status == "completed"
    assert list(
        AppointmentHistory.objects.filter(appointment=todays).values_list("action", flat=True)
    ) == ["booked", "arrived", "completed"]


def test_did_not_attend_only_after_the_start(carol, todays):
    raises_code(
        RuleViolation,
        "outcome_too_early",
        lambda: outcome(
            carol, todays, "did_not_attend", now=todays.start - dt.timedelta(minutes=1)
        ),
    )

    assert (
        outcome(carol, todays, "did_not_attend", now=todays.start + dt.timedelta(minutes=1)).status
        == "did_not_attend"
    )


def test_completed_only_after_the_start(carol, todays):
    raises_code(
        RuleViolation,
        "outcome_too_early",
        lambda: outcome(carol, todays, "completed", now=todays.start - dt.timedelta(minutes=1)),
    )


def test_arrived_not_before_the_day_of_the_appointment(dave, alice, riverside):
    appointment = book(alice, free_slot(riverside, hours_ahead=72))

    raises_code(RuleViolation, "outcome_too_early", lambda: outcome(dave, appointment, "arrived"))


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("did_not_attend", "arrived"),
        ("did_not_attend", "completed"),
        ("completed", "arrived"),
        ("arrived", "did_not_attend"),
    ],
)
def test_outcomes_follow_the_allowed_transitions(carol, todays, first, then):
    after_start = todays.start + dt.timedelta(minutes=5)
    outcome(carol, todays, first, now=after_start)

    raises_code(
        RuleViolation, "invalid_transition", lambda: outcome(carol, todays, then, now=after_start)
    )


def test_an_arrived_appointment_cannot_be_cancelled(carol, dave, todays):
    outcome(carol, todays, "arrived", now=todays.start)

    raises_code(RuleViolation, "invalid_transition", lambda: cancel(dave, todays))


def test_patients_cannot_record_outcomes_of_their_own_appointment(alice, todays):
    raises_code(Forbidden, "not_practice_staff", lambda: outcome(alice, todays, "arrived"))


def test_staff_of_another_practice_cannot_find_the_appointment(erin, todays):
    raises_code(NotFound, "appointment_not_found", lambda: outcome(erin, todays, "arrived"))


# Notes ------------------------------------------------------------------------------------


def test_notes_can_be_amended_and_history_says_what_changed(alice, riverside):
    appointment = book(alice, free_slot(riverside), description="Knee")

    amended = services.amend_notes(
        actor=Actor(user=alice),
        appointment_id=appointment.pk,
        changes={"description": "Left knee", "comment": ""},
    )

    assert (amended.description, amended.version) == ("Left knee", 2)
    assert AppointmentHistory.objects.filter(appointment=appointment).last().details == {
        "changed": ["description"]
    }


def test_a_stale_version_changes_nothing(alice, riverside):
    from core.exceptions import PreconditionFailed

    appointment = book(alice, free_slot(riverside))

    with pytest.raises(PreconditionFailed):
        services.amend_notes(
            actor=Actor(user=alice),
            appointment_id=appointment.pk,
            changes={"comment": "x"},
            expected_version=7,
        )
    appointment.refresh_from_db()
    assert (appointment.comment, appointment.version) == ("", 1)


# What the database guarantees on its own --------------------------------------------------


def test_the_database_refuses_a_second_live_appointment_in_one_slot(alice, bob, riverside):
    appointment = book(alice, free_slot(riverside))
    copy = {
        f: getattr(appointment, f)
        for f in (
            "practice_id",
            "slot_id",
            "clinician_id",
            "start",
            "end",
            "appointment_type",
            "channel",
        )
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(patient=bob, booked_by=bob, **copy)


def test_the_database_allows_a_new_appointment_beside_a_cancelled_one(alice, bob, riverside):
    appointment = book(alice, free_slot(riverside))
    Appointment.objects.filter(pk=appointment.pk).update(
        status="cancelled", cancelled_at=timezone.now()
    )
    copy = {
        f: getattr(appointment, f)
        for f in (
            "practice_id",
            "slot_id",
            "clinician_id",
            "start",
            "end",
            "appointment_type",
            "channel",
        )
    }

    Appointment.objects.create(patient=bob, booked_by=bob, **copy)


def test_the_database_refuses_overlapping_appointments_for_one_patient(alice, riverside):
    first = book(alice, free_slot(riverside))
    other = free_slot(riverside, start=first.start, clinician=ClinicianFactory(practice=riverside))

    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            patient=alice,
            booked_by=alice,
            practice=riverside,
            slot=other,
            clinician_id=other.clinician_id,
            start=other.start,
            end=other.end,
            appointment_type="routine",
            channel="in_person",
        )


def test_history_rows_cannot_be_changed_or_deleted(alice, riverside):
    book(alice, free_slot(riverside))
    entry = AppointmentHistory.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentHistory.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentHistory.objects.filter(pk=entry.pk).delete()
    assert AppointmentHistory.objects.get().reason == ""


def test_a_clinician_records_outcomes_only_for_their_own_appointments(carol, alice, riverside):
    colleagues = book(alice, free_slot(riverside, start=timezone.now() + dt.timedelta(hours=4)))

    raises_code(Forbidden, "not_your_appointment", lambda: outcome(carol, colleagues, "arrived"))


def test_a_practice_admin_records_outcomes_for_anyone(dave, todays):
    assert outcome(dave, todays, "arrived").status == "arrived"


def test_a_clashing_booking_reference_is_drawn_again(alice, bob, riverside, monkeypatch):
    taken = book(bob, free_slot(riverside)).reference
    draws = iter([taken, "ZZZZ-9999"])
    # Field.get_default() calls the cached _get_default, so that is what is replaced.
    field = Appointment._meta.get_field("reference")
    monkeypatch.setattr(field, "_get_default", lambda: next(draws))

    appointment = book(alice, free_slot(riverside, hours_ahead=30))

    assert appointment.reference == "ZZZZ-9999"
    assert Appointment.objects.filter(patient=alice).count() == 1


# Booking the slot at a time (the seed API's contract) -------------------------------------


def test_booking_by_time_takes_the_free_slot_of_that_type_starting_then(alice, riverside):
    slot = free_slot(riverside, slot_type="routine")

    appointment = services.book_slot_at(
        actor=Actor(user=alice),
        practice_ods=riverside.ods_code.lower(),
        start=slot.start,
        appointment_type="routine",
    )

    assert (appointment.slot, appointment.patient) == (slot, alice)
    assert status_of(slot) == "booked"


def test_booking_by_time_with_nothing_free_then_offers_alternatives(alice, bob, riverside):
    taken = free_slot(riverside, slot_type="routine")
    later = free_slot(riverside, hours_ahead=26, slot_type="routine")
    book(bob, taken)

    error = raises_code(
        Conflict,
        "no_free_slot",
        lambda: services.book_slot_at(
            actor=Actor(user=alice),
            practice_ods=riverside.ods_code,
            start=taken.start,
            appointment_type="routine",
        ),
    )

    assert [a["slot_id"] for a in error.extra["alternatives"]] == [str(later.pk)]
    assert not Appointment.objects.filter(patient=alice).exists()


def test_rescheduling_by_time_moves_to_the_free_slot_of_the_same_type(alice, riverside):
    appointment = book(alice, free_slot(riverside, slot_type="routine"))
    later = free_slot(riverside, hours_ahead=30, slot_type="routine")

    moved = services.reschedule_to_time(
        actor=Actor(user=alice), appointment=appointment, start=later.start
    )

    assert (moved.slot_id, moved.version) == (later.pk, 2)
    assert status_of(later) == "booked"


# When a rule is bypassed, the database's answer becomes the same 409 -----------------------


def test_a_slot_booked_behind_the_rules_back_is_a_slot_taken_conflict(alice, bob, riverside):
    slot = free_slot(riverside)
    # A row written by another path that left the slot marked free: only the partial unique
    # index on the slot stands between Alice and a double booking.
    book(bob, slot)
    Slot.objects.filter(pk=slot.pk).update(status="free")

    raises_code(Conflict, "slot_taken", lambda: book(alice, slot))

    assert Appointment.objects.filter(slot=slot).count() == 1


def test_an_overlap_past_the_rules_is_an_overlapping_appointment_conflict(
    alice, riverside, monkeypatch
):
    first = free_slot(riverside, minutes=30)
    overlapping = free_slot(
        riverside,
        start=first.start + dt.timedelta(minutes=10),
        clinician=ClinicianFactory(practice=riverside),
    )
    book(alice, first)
    # As if the overlap rule were wrong: the exclusion constraint still refuses.
    monkeypatch.setattr(services.commands, "check_slot_rules", lambda **_: None)

    raises_code(Conflict, "overlapping_appointment", lambda: book(alice, overlapping))


# What NHS England's appointment data needs recorded (GPAD) --------------------------------


def test_booking_records_when_how_and_with_whom_for_gpad(alice, riverside):
    SlotType.objects.create(
        practice=riverside, code="visit", name="Home visit", default_mode="home_visit"
    )
    nurse = ClinicianFactory(practice=riverside, profession="nurse")
    slot = free_slot(riverside, slot_type="visit", clinician=nurse)
    now = slot.start - dt.timedelta(days=3)

    appointment = book(alice, slot, now=now)

    stored = Appointment.objects.get(pk=appointment.pk)
    assert (stored.booked_at, stored.mode, stored.clinician_profession) == (
        now,
        "home_visit",
        "nurse",
    )


def test_a_move_is_a_new_booking_of_the_new_slot(alice, riverside):
    first = free_slot(riverside, hours_ahead=30)
    second = free_slot(riverside, hours_ahead=50, channel="telephone")
    appointment = book(alice, first, now=first.start - dt.timedelta(days=5))
    moved_at = first.start - dt.timedelta(days=1)

    services.reschedule_appointment(
        actor=Actor(user=alice), appointment_id=appointment.pk, new_slot_id=second.pk, now=moved_at
    )

    stored = Appointment.objects.get(pk=appointment.pk)
    assert (stored.booked_at, stored.mode) == (moved_at, "telephone")


@pytest.mark.parametrize(("who", "expected"), [("alice", "patient"), ("dave", "practice")])
def test_a_cancellation_records_whether_the_patient_or_the_practice_cancelled(
    alice, dave, riverside, who, expected
):
    appointment = book(alice, free_slot(riverside))

    services.cancel_appointment(
        actor=Actor(user={"alice": alice, "dave": dave}[who]),
        appointment_id=appointment.pk,
        reason="Cannot come",
    )

    assert Appointment.objects.get(pk=appointment.pk).cancelled_by == expected


def test_an_unknown_mode_is_refused_and_nothing_changes(alice, dave, riverside):
    slot = free_slot(riverside, start=timezone.now() - dt.timedelta(minutes=1))
    appointment = book(alice, slot, now=slot.start - dt.timedelta(days=1))

    raises_code(
        RuleViolation,
        "unknown_mode",
        lambda: services.record_outcome(
            actor=Actor(user=dave), appointment_id=appointment.pk, outcome="arrived", mode="fax"
        ),
    )
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


def test_the_database_refuses_a_canceller_on_a_live_appointment(alice, riverside):
    appointment = book(alice, free_slot(riverside))

    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.filter(pk=appointment.pk).update(cancelled_by="patient")
