"""Booking by another organisation through GP Connect: the same booking core, its own rules.

Personas: nhs111 (an urgent care service, ODS code RYA) acts through its system's service user;
alice is a patient registered at Riverside, which takes part in GP Connect; dave is Riverside's
practice administrator; erin's Hilltop does not take part.
"""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import (
    Appointment,
    AppointmentExtraSlot,
    AppointmentHistory,
    Notification,
    Source,
    Vacancy,
    WaitingListOffer,
)
from booking.notifications.delivery import recipients
from booking.services import Actor, Organisation, waiting_list
from core.db import violated_constraint
from core.exceptions import Conflict, NotFound, RuleViolation
from practices.models import Slot
from tests.factories import (
    ClinicianFactory,
    ExternalBookabilityFactory,
    PatientFactory,
    ServiceUserFactory,
    SessionFactory,
    free_slot,
    gp_connect_bookable,
    next_hour,
)

pytestmark = pytest.mark.django_db

NHS_111 = Organisation(
    ods_code="RYA", type_code="urgent-care", name="NHS 111 West", telecom="0300 303 5678"
)
ANOTHER_PRACTICE = Organisation(ods_code="A82002", type_code="gp-practice", name="Hilltop")


@pytest.fixture
def open_to_gp_connect(riverside):
    """Riverside takes part in GP Connect, and any organisation may book its routine slots."""
    return gp_connect_bookable(riverside)


@pytest.fixture
def nhs111(open_to_gp_connect):
    return Actor(user=ServiceUserFactory(), source=Source.GP_CONNECT, organisation=NHS_111)


@pytest.fixture
def other_org(open_to_gp_connect):
    return Actor(user=ServiceUserFactory(), source=Source.GP_CONNECT, organisation=ANOTHER_PRACTICE)


@pytest.fixture
def gp(riverside):
    return ClinicianFactory(practice=riverside)


def adjacent(practice, clinician, count, *, hours_ahead=24, **fields):
    """``count`` ten-minute slots of ``clinician``, each starting as the one before ends."""
    first = next_hour(hours_ahead)
    return [
        free_slot(
            practice, start=first + dt.timedelta(minutes=10 * i), clinician=clinician, **fields
        )
        for i in range(count)
    ]


def book(actor, slots, patient, **kwargs):
    return services.book_slots(
        actor=actor, slot_ids=[slot.pk for slot in slots], patient_id=patient.pk, **kwargs
    )


def statuses(slots):
    return [Slot.objects.get(pk=slot.pk).status for slot in slots]


# Booking one slot ----------------------------------------------------------------------------


def test_an_organisation_books_a_slot_for_a_patient_registered_at_the_practice(
    nhs111, alice, riverside
):
    slot = free_slot(riverside)

    appointment = book(nhs111, [slot], alice, description="Chest pain, advised by 111")

    assert appointment.patient == alice
    assert appointment.booked_by == nhs111.user
    assert (appointment.start, appointment.end) == (slot.start, slot.end)
    assert statuses([slot]) == ["booked"]
    assert not AppointmentExtraSlot.objects.exists()


def test_the_appointment_records_the_booking_organisation(nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    appointment.refresh_from_db()
    assert appointment.booking_organisation_ods == "RYA"
    assert appointment.booking_organisation_name == "NHS 111 West"
    assert appointment.booking_organisation_telecom == "0300 303 5678"


def test_the_history_says_gp_connect_and_for_which_organisation(nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    row = appointment.history.get()
    assert row.source == Source.GP_CONNECT
    assert row.actor == nhs111.user
    assert row.details["organisation"] == {"ods_code": "RYA", "name": "NHS 111 West"}


def test_a_patient_booking_online_records_no_booking_organisation(alice, riverside):
    appointment = services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside).pk
    )

    appointment.refresh_from_db()
    assert appointment.booking_organisation_ods == ""
    assert "organisation" not in appointment.history.get().details


def test_a_patient_registered_elsewhere_is_not_found(nhs111, riverside, hilltop):
    stranger = PatientFactory(profile__registered_practice=hilltop)

    with pytest.raises(NotFound) as refused:
        book(nhs111, [free_slot(riverside)], stranger)

    assert refused.value.code == "patient_not_found"
    assert not Appointment.objects.exists()


def test_a_patient_registered_nowhere_is_not_found_even_where_anyone_may_book_online(
    nhs111, riverside
):
    riverside.registered_patients_only = False
    riverside.save()
    unregistered = PatientFactory(profile__registered_practice=None)

    with pytest.raises(NotFound) as refused:
        book(nhs111, [free_slot(riverside)], unregistered)

    assert refused.value.code == "patient_not_found"


def test_an_unknown_patient_is_not_found(nhs111, riverside):
    with pytest.raises(NotFound) as refused:
        services.book_slots(
            actor=nhs111,
            slot_ids=[free_slot(riverside).pk],
            patient_id=PatientFactory.build().id,
        )

    assert refused.value.code == "patient_not_found"


def test_an_organisation_must_say_which_patient(nhs111, riverside):
    with pytest.raises(RuleViolation) as refused:
        services.book_slots(actor=nhs111, slot_ids=[free_slot(riverside).pk], patient_id=None)

    assert refused.value.code == "patient_required"


def test_a_patient_who_never_confirmed_an_email_address_can_still_be_booked(nhs111, riverside):
    patient = PatientFactory(email_verified_at=None, profile__registered_practice=riverside)

    appointment = book(nhs111, [free_slot(riverside)], patient)

    assert appointment.patient == patient


def test_a_slot_type_not_offered_to_gp_connect_is_refused(nhs111, alice, riverside):
    slot = free_slot(riverside, slot_type="nurse")

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [slot], alice)

    assert refused.value.code == "not_bookable_externally"
    assert statuses([slot]) == ["free"]


def test_a_practice_not_taking_part_in_gp_connect_refuses(nhs111, alice, riverside):
    riverside.gp_connect_enabled = False
    riverside.save()

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [free_slot(riverside)], alice)

    assert refused.value.code == "not_bookable_externally"


def test_a_slot_kept_for_other_organisations_is_refused(nhs111, alice, riverside):
    setting = gp_connect_bookable(riverside, slot_type="urgent", ods_codes=["A82002"])

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [free_slot(riverside, slot_type=setting.slot_type.code)], alice)

    assert refused.value.code == "not_bookable_externally"


def test_a_slot_kept_for_its_organisation_type_is_booked(nhs111, alice, riverside):
    setting = gp_connect_bookable(riverside, slot_type="urgent", organisation_types=["urgent-care"])

    appointment = book(nhs111, [free_slot(riverside, slot_type=setting.slot_type.code)], alice)

    assert appointment.appointment_type == "urgent"


def test_a_slot_inside_the_practices_external_notice_is_too_soon(nhs111, alice, riverside):
    riverside.external_min_notice_minutes = 3 * 24 * 60
    riverside.save()

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [free_slot(riverside, hours_ahead=24)], alice)

    assert refused.value.code == "too_soon"


def test_a_slot_past_the_practices_external_horizon_is_too_far_ahead(nhs111, alice, riverside):
    riverside.external_horizon_days = 7
    riverside.save()

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [free_slot(riverside, hours_ahead=8 * 24)], alice)

    assert refused.value.code == "too_far_ahead"
    assert "7 days" in refused.value.detail


def test_the_patients_online_rules_do_not_apply(nhs111, alice, riverside):
    riverside.min_notice_minutes = 48 * 60  # patients could not book tomorrow online
    riverside.save()
    slot = free_slot(riverside, online_bookable=False)

    appointment = book(nhs111, [slot], alice)

    assert appointment.slot_id == slot.pk


def test_a_slot_in_the_past_is_refused(nhs111, alice, riverside):
    slot = free_slot(riverside)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [slot], alice, now=slot.start + dt.timedelta(minutes=1))

    assert refused.value.code == "slot_in_past"


def test_a_slot_held_for_the_waiting_list_is_refused(nhs111, alice, bob, riverside):
    slot = free_slot(riverside)
    entry = waiting_list.join_waiting_list(
        actor=Actor(user=bob),
        practice_ods=riverside.ods_code,
        wishes=waiting_list.Wishes(latest_date=timezone.localdate() + dt.timedelta(days=10)),
    )
    vacancy = Vacancy.objects.create(slot=slot, practice=riverside, cause="released")
    WaitingListOffer.objects.create(
        entry=entry,
        slot=slot,
        vacancy=vacancy,
        expires_at=timezone.now() + dt.timedelta(minutes=15),
    )
    Slot.objects.filter(pk=slot.pk).update(status="held")

    with pytest.raises(Conflict) as refused:
        book(nhs111, [slot], alice)

    assert refused.value.code == "slot_taken"


def test_the_patients_overlapping_appointment_is_refused(nhs111, alice, riverside):
    slot = free_slot(riverside)
    services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside, start=slot.start).pk
    )

    with pytest.raises(Conflict) as refused:
        book(nhs111, [slot], alice)

    assert refused.value.code == "overlapping_appointment"


def test_the_practices_maximum_of_upcoming_appointments_holds(nhs111, alice, riverside):
    riverside.max_future_appointments = 1
    riverside.save()
    services.book_appointment(actor=Actor(user=alice), slot_id=free_slot(riverside).pk)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [free_slot(riverside, hours_ahead=48)], alice)

    assert refused.value.code == "too_many_appointments"


# Booking several adjacent slots as one appointment ------------------------------------------


def test_adjacent_slots_make_one_appointment_spanning_them(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 3)

    appointment = book(nhs111, slots, alice)

    assert appointment.slot_id == slots[0].pk
    assert (appointment.start, appointment.end) == (slots[0].start, slots[2].end)
    assert statuses(slots) == ["booked"] * 3
    assert set(appointment.extra_slots.values_list("slot_id", flat=True)) == {
        slots[1].pk,
        slots[2].pk,
    }
    assert Appointment.objects.count() == 1


def test_the_slots_may_be_named_in_any_order(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 3)

    appointment = book(nhs111, [slots[2], slots[0], slots[1]], alice)

    assert appointment.slot_id == slots[0].pk
    assert appointment.end == slots[2].end


def test_several_slots_write_one_history_row_and_one_confirmation(nhs111, alice, riverside, gp):
    appointment = book(nhs111, adjacent(riverside, gp, 2), alice)

    slots = [appointment.slot_id, *appointment.extra_slots.values_list("slot_id", flat=True)]
    assert appointment.history.get().details["slot_ids"] == [str(slot) for slot in slots]
    confirmations = Notification.objects.filter(appointment=appointment)
    assert confirmations.count() == len(recipients(alice)) > 0
    assert set(confirmations.values_list("kind", flat=True)) == {"confirmation"}


def test_slots_with_a_gap_between_them_are_refused(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 3)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [slots[0], slots[2]], alice)

    assert refused.value.code == "slots_not_adjacent"
    assert not Appointment.objects.exists()
    assert statuses(slots) == ["free"] * 3


def test_slots_of_another_clinician_are_refused(nhs111, alice, riverside, gp):
    first = free_slot(riverside, clinician=gp)
    second = free_slot(riverside, start=first.end, clinician=ClinicianFactory(practice=riverside))

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [first, second], alice)

    assert refused.value.code == "slots_not_alike"
    assert not Appointment.objects.exists()


def test_slots_of_another_type_are_refused(nhs111, alice, riverside, gp):
    gp_connect_bookable(riverside, slot_type="urgent")
    first = free_slot(riverside, clinician=gp)
    second = free_slot(riverside, start=first.end, clinician=gp, slot_type="urgent")

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [first, second], alice)

    assert refused.value.code == "slots_not_alike"


def test_one_slot_already_taken_refuses_them_all_and_writes_nothing(
    nhs111, alice, bob, riverside, gp
):
    slots = adjacent(riverside, gp, 3)
    services.book_appointment(actor=Actor(user=bob), slot_id=slots[1].pk)

    with pytest.raises(Conflict) as refused:
        book(nhs111, slots, alice)

    assert refused.value.code == "slot_taken"
    assert not Appointment.objects.filter(patient=alice).exists()
    assert statuses(slots) == ["free", "booked", "free"]
    assert not AppointmentExtraSlot.objects.exists()


def test_every_slot_must_be_bookable_not_only_the_first(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 2)
    kept_back = SessionFactory(
        practice=riverside, clinician=gp, start=slots[1].start, end=slots[1].end
    )
    ExternalBookabilityFactory(session=kept_back, bookable=False)
    Slot.objects.filter(pk=slots[1].pk).update(session=kept_back)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, slots, alice)

    assert refused.value.code == "not_bookable_externally"


def test_an_appointment_the_patient_holds_over_any_part_of_the_period_is_refused(
    nhs111, alice, riverside, gp
):
    slots = adjacent(riverside, gp, 3)
    services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside, start=slots[2].start).pk
    )

    with pytest.raises(Conflict) as refused:
        book(nhs111, slots, alice)

    assert refused.value.code == "overlapping_appointment"
    assert statuses(slots) == ["free"] * 3


def test_more_slots_than_one_appointment_may_span_are_refused(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, services.commands.MAX_SLOTS_PER_APPOINTMENT + 1)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, slots, alice)

    assert refused.value.code == "too_many_slots"


def test_a_slot_named_twice_is_refused(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 2)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [slots[0], slots[1], slots[0]], alice)

    assert refused.value.code == "slots_not_adjacent"


def test_no_slot_at_all_is_refused(nhs111, alice):
    with pytest.raises(RuleViolation) as refused:
        services.book_slots(actor=nhs111, slot_ids=[], patient_id=alice.pk)

    assert refused.value.code == "slots_required"


def test_the_database_refuses_a_second_live_extra_row_for_one_slot(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 2)
    appointment = book(nhs111, slots, alice)

    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentExtraSlot.objects.create(appointment=appointment, slot=slots[1])


def test_the_database_refuses_an_appointment_in_a_slot_another_holds_as_a_later_slot(
    nhs111, alice, bob, riverside, gp
):
    slots = adjacent(riverside, gp, 2)
    book(nhs111, slots, alice)

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Appointment.objects.create(
            patient=bob,
            practice=riverside,
            slot=slots[1],
            clinician=gp,
            start=slots[1].start,
            end=slots[1].end,
            appointment_type="routine",
            channel="in_person",
            booked_by=bob,
        )

    assert violated_constraint(refused.value) == "booking_slot_held_once"


def test_the_database_refuses_a_later_slot_that_is_another_appointments_slot(
    nhs111, alice, bob, riverside, gp
):
    slots = adjacent(riverside, gp, 3)
    alices = book(nhs111, slots[:2], alice)
    services.book_appointment(actor=Actor(user=bob), slot_id=slots[2].pk)

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        AppointmentExtraSlot.objects.create(appointment=alices, slot=slots[2])

    assert violated_constraint(refused.value) == "booking_slot_held_once"


def test_a_released_extra_row_leaves_its_slot_to_another(nhs111, alice, bob, riverside, gp):
    slots = adjacent(riverside, gp, 2)
    first = book(nhs111, slots, alice)
    services.cancel_appointment(actor=nhs111, appointment_id=first.pk, reason="Better")

    again = book(nhs111, slots, bob)

    assert (
        AppointmentExtraSlot.objects.filter(slot=slots[1], released=False).get().appointment
        == again
    )


# Cancelling, amending and moving ------------------------------------------------------------


def test_cancelling_frees_every_slot_the_appointment_spans(nhs111, alice, riverside, gp):
    slots = adjacent(riverside, gp, 3)
    appointment = book(nhs111, slots, alice)

    services.cancel_appointment(actor=nhs111, appointment_id=appointment.pk, reason="Better")

    assert statuses(slots) == ["free"] * 3
    assert not appointment.extra_slots.filter(released=False).exists()
    assert appointment.extra_slots.count() == 2  # kept, as released


def test_each_freed_slot_goes_to_the_waiting_list(nhs111, alice, bob, riverside, gp):
    slots = adjacent(riverside, gp, 3, hours_ahead=30)
    appointment = book(nhs111, slots, alice)
    waiting_list.join_waiting_list(
        actor=Actor(user=bob),
        practice_ods=riverside.ods_code,
        wishes=waiting_list.Wishes(latest_date=timezone.localdate() + dt.timedelta(days=10)),
    )

    services.cancel_appointment(actor=nhs111, appointment_id=appointment.pk, reason="Better")

    assert set(Vacancy.objects.values_list("slot_id", flat=True)) == {s.pk for s in slots}


def test_cancelling_a_one_slot_appointment_reads_no_extra_slots(alice, riverside):
    appointment = services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside).pk
    )

    with CaptureQueriesContext(connection) as captured:
        services.cancel_appointment(
            actor=Actor(user=alice), appointment_id=appointment.pk, reason="Better"
        )

    assert not [q for q in captured.captured_queries if "appointmentextraslot" in q["sql"]]


def test_a_cancellation_through_gp_connect_records_the_reason_and_the_organisation(
    nhs111, alice, riverside
):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    cancelled = services.cancel_appointment(
        actor=nhs111, appointment_id=appointment.pk, reason="Patient feeling better"
    )

    assert cancelled.status == "cancelled"
    assert cancelled.cancellation_reason == "Patient feeling better"
    assert cancelled.cancelled_by == "practice"  # not the patient's own
    row = cancelled.history.get(action=AppointmentHistory.Action.CANCELLED)
    assert row.source == Source.GP_CONNECT
    assert row.details["organisation"]["ods_code"] == "RYA"


def test_another_organisation_may_cancel_as_the_spec_allows(nhs111, other_org, alice, riverside):
    """GP Connect: any future appointment may be cancelled "irrespective of booking
    organisation"."""
    appointment = book(nhs111, [free_slot(riverside)], alice)

    cancelled = services.cancel_appointment(
        actor=other_org, appointment_id=appointment.pk, reason="Seen elsewhere"
    )

    assert cancelled.status == "cancelled"
    assert cancelled.history.get(action="cancelled").details["organisation"]["ods_code"] == "A82002"


def test_an_organisation_may_cancel_an_appointment_the_patient_booked_online(
    nhs111, alice, riverside
):
    appointment = services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside).pk
    )

    cancelled = services.cancel_appointment(
        actor=nhs111, appointment_id=appointment.pk, reason="Seen by 111"
    )

    assert cancelled.status == "cancelled"


def test_an_organisation_may_cancel_after_the_patients_cut_off(nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    cancelled = services.cancel_appointment(
        actor=nhs111,
        appointment_id=appointment.pk,
        reason="Better",
        now=appointment.start - dt.timedelta(minutes=5),
    )

    assert cancelled.status == "cancelled"


def test_an_appointment_that_has_started_cannot_be_cancelled(nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    with pytest.raises(RuleViolation) as refused:
        services.cancel_appointment(
            actor=nhs111, appointment_id=appointment.pk, reason="Late", now=appointment.start
        )

    assert refused.value.code == "appointment_in_past"


def test_an_appointment_at_a_practice_not_taking_part_is_not_found(nhs111, hilltop):
    patient = PatientFactory(profile__registered_practice=hilltop)
    appointment = services.book_appointment(
        actor=Actor(user=patient), slot_id=free_slot(hilltop).pk
    )

    with pytest.raises(NotFound) as refused:
        services.cancel_appointment(actor=nhs111, appointment_id=appointment.pk, reason="x")

    assert refused.value.code == "appointment_not_found"


def test_an_organisation_amends_the_description_and_comment(nhs111, other_org, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    amended = services.amend_notes(
        actor=other_org,
        appointment_id=appointment.pk,
        changes={"description": "Follow-up", "comment": "Bring inhaler"},
    )

    assert (amended.description, amended.comment) == ("Follow-up", "Bring inhaler")
    row = amended.history.get(action=AppointmentHistory.Action.AMENDED)
    assert row.details["organisation"]["ods_code"] == "A82002"


def test_an_appointment_that_has_started_cannot_be_amended(nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)

    with pytest.raises(RuleViolation) as refused:
        services.amend_notes(
            actor=nhs111,
            appointment_id=appointment.pk,
            changes={"comment": "Too late"},
            now=appointment.start + dt.timedelta(minutes=1),
        )

    assert refused.value.code == "appointment_in_past"


def test_a_cancelled_appointment_cannot_be_amended(nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)
    services.cancel_appointment(actor=nhs111, appointment_id=appointment.pk, reason="Better")

    with pytest.raises(RuleViolation) as refused:
        services.amend_notes(
            actor=nhs111, appointment_id=appointment.pk, changes={"comment": "Again"}
        )

    assert refused.value.code == "appointment_cancelled"


def test_an_appointment_spanning_several_slots_cannot_be_moved(nhs111, dave, alice, riverside, gp):
    slots = adjacent(riverside, gp, 2)
    appointment = book(nhs111, slots, alice)
    elsewhere = free_slot(riverside, hours_ahead=48)

    with pytest.raises(RuleViolation) as refused:
        services.reschedule_appointment(
            actor=Actor(user=dave), appointment_id=appointment.pk, new_slot_id=elsewhere.pk
        )

    assert refused.value.code == "spans_several_slots"
    assert statuses([*slots, elsewhere]) == ["booked", "booked", "free"]


def test_a_move_through_gp_connect_books_only_a_registered_patient(nhs111, riverside, hilltop):
    """Where anyone may book online, a patient of another practice holds an appointment here;
    an organisation cannot move it, as it could not have booked it."""
    riverside.registered_patients_only = False
    riverside.save()
    visitor = PatientFactory(profile__registered_practice=hilltop)
    appointment = services.book_appointment(
        actor=Actor(user=visitor), slot_id=free_slot(riverside).pk
    )

    with pytest.raises(RuleViolation) as refused:
        services.reschedule_appointment(
            actor=nhs111,
            appointment_id=appointment.pk,
            new_slot_id=free_slot(riverside, hours_ahead=48).pk,
        )

    assert refused.value.code == "not_registered"


# A setting's daily limit ("limit the number of slots ... booked by this profile") -----------


def patients_of(practice, count):
    return [PatientFactory(profile__registered_practice=practice) for _ in range(count)]


def test_a_daily_limit_refuses_the_booking_past_it(
    nhs111, other_org, riverside, gp, open_to_gp_connect
):
    open_to_gp_connect.daily_limit = 2
    open_to_gp_connect.save()
    slots = adjacent(riverside, gp, 3)
    first, second, third = patients_of(riverside, 3)
    book(nhs111, [slots[0]], first)
    book(other_org, [slots[1]], second)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [slots[2]], third)

    assert refused.value.code == "gp_connect_limit_reached"
    assert statuses(slots) == ["booked", "booked", "free"]


def test_the_slots_of_a_longer_appointment_each_count_towards_the_limit(
    nhs111, riverside, gp, open_to_gp_connect
):
    open_to_gp_connect.daily_limit = 2
    open_to_gp_connect.save()
    slots = adjacent(riverside, gp, 3)
    first, second = patients_of(riverside, 2)
    book(nhs111, slots[:2], first)

    with pytest.raises(RuleViolation) as refused:
        book(nhs111, [slots[2]], second)

    assert refused.value.code == "gp_connect_limit_reached"


def test_bookings_by_patients_and_staff_do_not_count_towards_the_limit(
    nhs111, alice, riverside, gp, open_to_gp_connect
):
    open_to_gp_connect.daily_limit = 1
    open_to_gp_connect.save()
    slots = adjacent(riverside, gp, 2)
    services.book_appointment(actor=Actor(user=alice), slot_id=slots[0].pk)

    book(nhs111, [slots[1]], PatientFactory(profile__registered_practice=riverside))

    assert statuses(slots) == ["booked", "booked"]


def test_a_cancelled_gp_connect_booking_gives_its_place_back(
    nhs111, riverside, gp, open_to_gp_connect
):
    open_to_gp_connect.daily_limit = 1
    open_to_gp_connect.save()
    slots = adjacent(riverside, gp, 2)
    first, second = patients_of(riverside, 2)
    booked = book(nhs111, [slots[0]], first)
    services.cancel_appointment(actor=nhs111, appointment_id=booked.pk, reason="Better")

    book(nhs111, [slots[1]], second)

    assert statuses(slots) == ["free", "booked"]


def test_the_limit_is_per_day(nhs111, riverside, gp, open_to_gp_connect):
    open_to_gp_connect.daily_limit = 1
    open_to_gp_connect.save()
    first, second = patients_of(riverside, 2)
    book(nhs111, adjacent(riverside, gp, 1, hours_ahead=24), first)

    book(nhs111, adjacent(riverside, gp, 1, hours_ahead=48), second)


def test_a_sessions_own_setting_keeps_its_own_count(nhs111, riverside, gp, open_to_gp_connect):
    open_to_gp_connect.daily_limit = 1
    open_to_gp_connect.save()
    slots = adjacent(riverside, gp, 2)
    session = SessionFactory(
        practice=riverside, clinician=gp, start=slots[1].start, end=slots[1].end
    )
    Slot.objects.filter(pk=slots[1].pk).update(session=session)
    ExternalBookabilityFactory(session=session)  # no limit of its own
    first, second = patients_of(riverside, 2)
    book(nhs111, [Slot.objects.get(pk=slots[1].pk)], first)

    # The session's booking is not one of the slot type's: its one place is still free.
    book(nhs111, [slots[0]], second)

    assert statuses(slots) == ["booked", "booked"]


# The admin -----------------------------------------------------------------------------------


def test_staff_see_which_organisation_booked_an_appointment(client, dave, nhs111, alice, riverside):
    appointment = book(nhs111, [free_slot(riverside)], alice)
    client.force_login(dave)

    page = client.get(reverse("admin:booking_appointment_change", args=[appointment.pk]))

    assert "NHS 111 West (RYA), 0300 303 5678" in page.content.decode()


def test_the_later_slots_of_a_longer_appointment_keep_their_time_in_the_admin(
    client, dave, nhs111, alice, riverside, gp
):
    slots = adjacent(riverside, gp, 2)
    book(nhs111, slots, alice)
    client.force_login(dave)

    page = client.get(reverse("admin:practices_slot_change", args=[slots[1].pk]))

    assert page.status_code == 200
    assert 'name="start' not in page.content.decode()


def test_a_taken_slot_offers_an_organisation_no_alternatives(nhs111, alice, bob, riverside):
    slot = free_slot(riverside)
    free_slot(riverside, hours_ahead=48)  # one a patient could book online instead
    services.book_appointment(actor=Actor(user=bob), slot_id=slot.pk)

    with pytest.raises(Conflict) as refused:
        book(nhs111, [slot], alice)

    assert refused.value.code == "slot_taken"
    assert not refused.value.extra


def test_a_patient_cannot_wait_to_move_an_appointment_spanning_several_slots(
    nhs111, alice, riverside, gp
):
    appointment = book(nhs111, adjacent(riverside, gp, 2), alice)

    with pytest.raises(RuleViolation) as refused:
        waiting_list.join_waiting_list(
            actor=Actor(user=alice),
            practice_ods=riverside.ods_code,
            wishes=waiting_list.Wishes(
                latest_date=timezone.localdate() + dt.timedelta(days=10),
                move_appointment_id=appointment.pk,
            ),
        )

    assert refused.value.code == "spans_several_slots"
