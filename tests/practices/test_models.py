"""Invariants the database enforces whatever code writes the rows."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction

from core.db import violated_constraint
from practices.models import Practice, Slot
from tests.factories import ClinicianFactory, PracticeFactory, SlotFactory, next_hour

pytestmark = pytest.mark.django_db


def refused(**fields) -> bool:
    try:
        with transaction.atomic():
            Slot.objects.create(**fields)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize("code", ["a81001", "A8100-1", "ABCDEFGHIJ", ""])
def test_it_refuses_malformed_ods_codes(code):
    # A too-long code is refused by its column width (DataError), the others by the check.
    with pytest.raises((IntegrityError, DataError)):
        Practice.objects.create(ods_code=code, name="X")


def test_ods_codes_are_unique(riverside):
    with pytest.raises(IntegrityError):
        Practice.objects.create(ods_code="A81001", name="Copy")


def test_a_slot_must_end_after_it_starts(riverside):
    clinician = ClinicianFactory(practice=riverside)
    start = next_hour()

    assert refused(practice=riverside, clinician=clinician, start=start, end=start)
    assert refused(
        practice=riverside, clinician=clinician, start=start, end=start - dt.timedelta(minutes=5)
    )


def test_a_clinician_cannot_hold_two_overlapping_slots(riverside):
    slot = SlotFactory(practice=riverside)

    assert refused(
        practice=riverside,
        clinician=slot.clinician,
        start=slot.start + dt.timedelta(minutes=5),
        end=slot.end + dt.timedelta(minutes=5),
    )


def test_an_overlap_is_refused_even_at_another_practice(riverside, hilltop):
    slot = SlotFactory(practice=riverside)

    assert refused(practice=hilltop, clinician=slot.clinician, start=slot.start, end=slot.end)


def test_moving_a_slot_onto_another_is_refused(riverside):
    first = SlotFactory(practice=riverside)
    second = SlotFactory(
        practice=riverside,
        clinician=first.clinician,
        start=first.end,
        end=first.end + dt.timedelta(minutes=10),
    )

    second.start, second.end = first.start, first.end
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_back_to_back_slots_are_allowed(riverside):
    first = SlotFactory(practice=riverside)

    assert not refused(
        practice=riverside,
        clinician=first.clinician,
        start=first.end,
        end=first.end + dt.timedelta(minutes=10),
    )


def test_two_clinicians_may_work_at_the_same_time(riverside):
    slot = SlotFactory(practice=riverside)

    assert not refused(
        practice=riverside,
        clinician=ClinicianFactory(practice=riverside),
        start=slot.start,
        end=slot.end,
    )


def test_it_refuses_an_unknown_slot_status(riverside):
    slot = SlotFactory(practice=riverside)

    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(status="maybe")


def test_the_online_booking_window_follows_the_practice_rules():
    practice = PracticeFactory.build(min_notice_minutes=120, booking_horizon_days=28)
    now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)

    assert practice.online_booking_window(now) == (
        dt.datetime(2026, 1, 5, 11, 0, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.UTC),
    )


def test_an_overlap_at_another_start_time_is_refused_by_the_exclusion_constraint(riverside):
    clinician = ClinicianFactory(practice=riverside)
    start = next_hour(24)
    SlotFactory(clinician=clinician, start=start, end=start + dt.timedelta(minutes=20))

    with pytest.raises(IntegrityError) as info, transaction.atomic():
        SlotFactory(
            clinician=clinician,
            start=start + dt.timedelta(minutes=10),
            end=start + dt.timedelta(minutes=30),
        )

    assert violated_constraint(info.value) == "practices_slot_no_overlap"


def test_a_form_that_would_overlap_a_slot_gets_the_constraints_message(riverside):
    # The admin validates the model before saving: an overlap is a form error, not a 500.
    clinician = ClinicianFactory(practice=riverside)
    start = next_hour(24)
    SlotFactory(clinician=clinician, start=start, end=start + dt.timedelta(minutes=20))
    clash = Slot(
        practice=riverside,
        clinician=clinician,
        start=start + dt.timedelta(minutes=10),
        end=start + dt.timedelta(minutes=30),
    )

    with pytest.raises(ValidationError) as info:
        clash.full_clean()

    assert "The clinician already has a slot at this time." in info.value.messages
