"""The booking rules and the messages patients and staff see when one is not met.

Every function here only reads; the commands (``commands.py``) call them while holding the
locks (``locking.py``), so what they check cannot change before the write.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from django.db.models import Q

from accounts.models import Role, User
from core.exceptions import Conflict, Forbidden, NotFound, RuleViolation
from practices.models import (
    EXTERNAL_NOT_BOOKABLE,
    EXTERNAL_TOO_FAR_AHEAD,
    EXTERNAL_TOO_SOON,
    ExternalBookability,
    Practice,
    Slot,
)

from ..models import HOLDS_SLOT, Appointment, AppointmentExtraSlot, AppointmentStatus, Source

SLOT_NOT_FOUND = "There is no such slot."
SLOT_TAKEN = "This slot has just been booked by someone else. Please choose another time."
NO_FREE_SLOT = "There is no free appointment of that type at that time. Please choose another time."
SLOT_IN_PAST = "This appointment time has already passed."
TOO_SOON = "This appointment starts too soon to book online. Please call the practice."
TOO_FAR_AHEAD = "Appointments can only be booked online up to {days} days ahead."
STAFF_ONLY_SLOT = "This appointment can only be booked by the practice. Please call them."
NOT_REGISTERED = "You can only book at the practice you are registered with."
TOO_MANY_APPOINTMENTS = (
    "You already have {count} upcoming appointments at this practice, the most it allows. "
    "Cancel one to book another."
)
OVERLAPPING = "The patient already has an appointment at this time."
BOOK_FOR_SELF_ONLY = "Patients can only book appointments for themselves."
PATIENT_REQUIRED = "Say which patient the appointment is for."
PATIENT_NOT_FOUND = "There is no such patient registered at this practice."
PRACTICE_NOT_FOUND = "There is no such practice."
NOT_PRACTICE_STAFF = "Only staff of this practice can do this."
NOT_YOUR_APPOINTMENT = "Clinicians can only record outcomes of their own appointments."
APPOINTMENT_NOT_FOUND = "There is no such appointment."
CANNOT_AMEND_CANCELLED = "A cancelled appointment cannot be changed."
TOO_LATE_TO_CANCEL = (
    "It is too late to cancel or change this appointment online. Please call the practice."
)
PRACTICE_MISMATCH = "This slot belongs to another practice than practice_id names."
EMAIL_NOT_VERIFIED = (
    "Confirm your email address before booking: use the link we emailed you, or ask for a new one."
)
STALE_VERSION = "The appointment has changed since you read it. Reload it and try again."
INVALID_TRANSITION = "An appointment that is {current} cannot be marked {target}."
OUTCOME_TOO_EARLY = "This can only be recorded once the appointment has started."
ARRIVED_TOO_EARLY = "A patient can only be marked arrived on the day of the appointment."
SAME_SLOT = "The appointment is already in this slot."
OTHER_PRACTICE = "An appointment can only move within its practice."
TRY_AGAIN = "Please try again."

# Booking through GP Connect, by another organisation (booking.services.book_slots).
NOT_BOOKABLE_EXTERNALLY = "This slot cannot be booked by your organisation through GP Connect."
TOO_SOON_EXTERNALLY = "This appointment starts too soon to book through GP Connect."
TOO_FAR_AHEAD_EXTERNALLY = (
    "Appointments can only be booked through GP Connect up to {days} days ahead."
)
# What each of Slot.external_refusal's codes says.
EXTERNAL_REFUSALS = {
    EXTERNAL_NOT_BOOKABLE: NOT_BOOKABLE_EXTERNALLY,
    EXTERNAL_TOO_SOON: TOO_SOON_EXTERNALLY,
    EXTERNAL_TOO_FAR_AHEAD: TOO_FAR_AHEAD_EXTERNALLY,
}
GP_CONNECT_LIMIT_REACHED = (
    "The practice takes no more bookings of these appointments through GP Connect on {day}."
)
APPOINTMENT_IN_PAST = "This appointment has already started."
SLOTS_REQUIRED = "Say which slots to book."
TOO_MANY_SLOTS = "One appointment can span at most {count} slots."
SLOTS_NOT_ADJACENT = "The slots of one appointment must follow each other without a gap."
SLOTS_NOT_ALIKE = (
    "The slots of one appointment must be with the same clinician, of the same type and channel."
)
SPANS_SEVERAL_SLOTS = (
    "An appointment that spans several slots cannot be moved. Cancel it and book again."
)

# Which outcome may follow which status, and whether it needs the start time to have passed.
OUTCOMES: dict[str, tuple[frozenset[str], bool]] = {
    AppointmentStatus.ARRIVED: (frozenset({AppointmentStatus.BOOKED}), False),
    AppointmentStatus.COMPLETED: (
        frozenset({AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED}),
        True,
    ),
    AppointmentStatus.DID_NOT_ATTEND: (frozenset({AppointmentStatus.BOOKED}), True),
}


UNKNOWN_MODE = "Choose how the appointment took place from the list."
ROLE_MAY_NOT = "Your role at the practice does not allow this. Please ask a practice administrator."


class StaffAction(StrEnum):
    BOOK_FOR_PATIENT = "book_for_patient"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    AMEND_NOTES = "amend_notes"
    RECORD_OUTCOME = "record_outcome"
    MANAGE_WAITING_LIST = "manage_waiting_list"


# What each staff role may do at its own practices: the one statement of it. The services
# check it for every door (API, admin, commands); the admin offers exactly these actions, and
# booking.staff_groups gives each role's group the Django permissions they need. Operators
# may do everything; clinicians record outcomes of their own appointments only.
STAFF_MAY: dict[str, frozenset[StaffAction]] = {
    Role.ADMIN: frozenset(StaffAction),
    Role.CLINICIAN: frozenset({StaffAction.RECORD_OUTCOME}),
}


def staff_may(user: User, action: StaffAction) -> bool:
    return user.is_superuser or action in STAFF_MAY.get(user.role, frozenset())


def check_staff_may(user: User, action: StaffAction) -> None:
    if not staff_may(user, action):
        raise Forbidden(ROLE_MAY_NOT, code="role_may_not")


@dataclass(frozen=True)
class Organisation:
    """The organisation another system acts for through GP Connect (NHS 111, another practice),
    as its request names it."""

    ods_code: str
    type_code: str = ""  # GPConnect-OrganisationType-1, "" when the consumer sent none
    name: str = ""
    telecom: str = ""


@dataclass(frozen=True)
class Actor:
    """Who is acting, and through which door. ``organisation`` is set for another
    organisation's system booking through GP Connect; ``user`` is then that system's service
    user (no practice, no patient)."""

    user: User
    source: Source = Source.API
    organisation: Organisation | None = None


def is_external(actor: Actor) -> bool:
    """Another organisation acting through GP Connect: its own rules, not a patient's or
    staff's."""
    return actor.organisation is not None


def is_staff_of(user: User, practice_id: int) -> bool:
    """Staff of this practice, or an operator: they act for patients and skip patient limits."""
    return user.is_superuser or Practice.objects.staffed_by(user).filter(pk=practice_id).exists()


def books_for_self(user: User) -> bool:
    return user.role == Role.PATIENT and not user.is_staff


def check_slot_practice(slot: Slot, practice_ods: str) -> None:
    """Clients that send the practice with a slot id are held to it: a mismatch is a bug on
    their side worth saying, not a booking somewhere the patient did not mean."""
    # The slot's practice is loaded with it (lock_slot): no query here.
    if slot.practice.ods_code != practice_ods.upper():
        raise RuleViolation(
            PRACTICE_MISMATCH,
            code="practice_mismatch",
            errors={"practice_id": [PRACTICE_MISMATCH]},
        )


def resolve_patient(*, actor: Actor, patient_id: UUID | None, practice_id: int) -> User:
    """The patient a booking is for: the actor themself, or one chosen by practice staff or by
    an organisation booking through GP Connect."""
    user = actor.user
    if is_external(actor):
        # No address to confirm: the organisation traced the patient itself (the spec's
        # prerequisite), and can only find one registered here.
        return _registered_patient(patient_id, practice_id=practice_id)
    if books_for_self(user):
        if patient_id is not None and patient_id != user.id:
            raise Forbidden(BOOK_FOR_SELF_ONLY, code="book_for_self_only")
        # Self-service sign-ups prove their address first; staff may book for anyone they
        # registered.
        if not user.email_verified:
            raise Forbidden(EMAIL_NOT_VERIFIED, code="email_not_verified")
        return user
    if not is_staff_of(user, practice_id):
        raise Forbidden(NOT_PRACTICE_STAFF, code="not_practice_staff")
    check_staff_may(user, StaffAction.BOOK_FOR_PATIENT)
    return _registered_patient(patient_id, practice_id=practice_id)


def _registered_patient(patient_id: UUID | None, *, practice_id: int) -> User:
    if patient_id is None:
        raise RuleViolation(
            PATIENT_REQUIRED, code="patient_required", errors={"patient_id": [PATIENT_REQUIRED]}
        )
    # Others book only for patients registered at the slot's practice; anyone else is "not
    # found" so they cannot probe for patients of other practices.
    patient = (
        User.objects.select_related("patient_profile")
        .filter(
            pk=patient_id,
            role=Role.PATIENT,
            is_active=True,
            patient_profile__registered_practice_id=practice_id,
        )
        .first()
    )
    if patient is None:
        raise NotFound(PATIENT_NOT_FOUND, code="patient_not_found")
    return patient


def check_slot_rules(
    *,
    actor: Actor,
    patient: User,
    slot: Slot,
    now: dt.datetime,
    ignoring: Appointment | None = None,
    extra_slots: Sequence[Slot] = (),
) -> None:
    """Every rule a booking into ``slot`` must meet; ``ignoring`` is the appointment being moved,
    ``extra_slots`` the later slots of an appointment spanning several (``slot`` is the first).

    The caller holds the patient's booking lock (``locking.with_patient_lock``) and has loaded
    the patient with their profile.
    """
    practice = slot.practice
    staff = not is_external(actor) and is_staff_of(actor.user, practice.pk)
    for each in (slot, *extra_slots):
        if each.start <= now:
            raise RuleViolation(SLOT_IN_PAST, code="slot_in_past")
        if actor.organisation is not None:
            check_external_slot(actor.organisation, each, now=now)
        elif not staff:
            check_online_slot(each, now=now)

    # An organisation booking through GP Connect books only the practice's own patients,
    # whatever the practice allows online.
    if not may_book_at(practice, patient, registered_only=is_external(actor)):
        raise RuleViolation(NOT_REGISTERED, code="not_registered")

    upcoming = Appointment.objects.filter(HOLDS_SLOT, patient=patient, end__gt=now)
    if ignoring is not None:
        upcoming = upcoming.exclude(pk=ignoring.pk)
    held = list(upcoming.values_list("practice_id", "start", "end"))
    end = extra_slots[-1].end if extra_slots else slot.end
    if overlaps(slot.start, end, held):
        raise Conflict(OVERLAPPING, code="overlapping_appointment")
    at_practice = upcoming_at(practice, held, now=now)
    if at_practice >= practice.max_future_appointments:
        raise RuleViolation(
            TOO_MANY_APPOINTMENTS.format(count=at_practice), code="too_many_appointments"
        )


def check_online_slot(slot: Slot, *, now: dt.datetime) -> None:
    """What a patient booking for themself may book: released online, inside the booking
    window and minimum notice."""
    practice = slot.practice
    earliest, latest = practice.online_booking_window(now)
    if not slot.online_bookable:
        raise RuleViolation(STAFF_ONLY_SLOT, code="staff_only_slot")
    if slot.start < earliest:
        raise RuleViolation(TOO_SOON, code="too_soon")
    if slot.start > latest:
        raise RuleViolation(
            TOO_FAR_AHEAD.format(days=practice.booking_horizon_days), code="too_far_ahead"
        )


def check_external_slot(organisation: Organisation, slot: Slot, *, now: dt.datetime) -> None:
    """What an organisation may book through GP Connect: a slot the practice made bookable by
    GP Connect for it, inside the practice's external embargo (``Slot.external_refusal``)."""
    code = slot.external_refusal(
        ods_code=organisation.ods_code, organisation_type=organisation.type_code, now=now
    )
    if code is not None:
        detail = EXTERNAL_REFUSALS[code].format(days=slot.practice.external_horizon_days)
        raise RuleViolation(detail, code=code)


def check_gp_connect_limit(*, setting: ExternalBookability, slots: Sequence[Slot]) -> None:
    """``slots`` (of one day, all decided by ``setting``) fit in what ``setting`` still lets
    organisations book through GP Connect that day. The caller holds the setting's limit lock
    (``locking.lock_gp_connect_limit``)."""
    if setting.daily_limit is None:
        return
    practice = slots[0].practice
    day = slots[0].start.astimezone(practice.tz).date()
    start = dt.datetime.combine(day, dt.time(), tzinfo=practice.tz)
    through_gp_connect = Appointment.objects.filter(HOLDS_SLOT).exclude(booking_organisation_ods="")
    taken = (
        setting.governed_slots()
        .filter(start__gte=start, start__lt=start + dt.timedelta(days=1))
        .filter(
            Q(pk__in=through_gp_connect.values("slot_id"))
            | Q(
                pk__in=AppointmentExtraSlot.objects.filter(
                    released=False, appointment__in=through_gp_connect
                ).values("slot_id")
            )
        )
        .count()
    )
    if taken + len(slots) > setting.daily_limit:
        raise RuleViolation(
            GP_CONNECT_LIMIT_REACHED.format(day=f"{day:%A} {day.day} {day:%B}"),
            code="gp_connect_limit_reached",
        )


def check_patient_may_book(*, practice: Practice, patient: User, now: dt.datetime) -> None:
    """The rules of ``check_slot_rules`` that do not depend on the slot: registered here, and
    below the practice's number of upcoming appointments (the caller holds the patient's
    lock)."""
    if not may_book_at(practice, patient):
        raise RuleViolation(NOT_REGISTERED, code="not_registered")
    held = Appointment.objects.filter(HOLDS_SLOT, patient=patient, practice=practice, start__gt=now)
    count = held.count()
    if count >= practice.max_future_appointments:
        raise RuleViolation(TOO_MANY_APPOINTMENTS.format(count=count), code="too_many_appointments")


def may_book_at(practice: Practice, patient: User, *, registered_only: bool = False) -> bool:
    """Registered here, where the practice (or the caller) books only its own patients."""
    profile = getattr(patient, "patient_profile", None)
    return not (practice.registered_patients_only or registered_only) or (
        profile is not None and profile.registered_practice_id == practice.pk
    )


def overlaps(
    start: dt.datetime, end: dt.datetime, held: Iterable[tuple[Any, dt.datetime, dt.datetime]]
) -> bool:
    """Whether ``start``..``end`` overlaps any of ``held``: (practice id, start, end) of live
    appointments."""
    return any(held_start < end and held_end > start for _, held_start, held_end in held)


def upcoming_at(
    practice: Practice, held: Iterable[tuple[Any, dt.datetime, dt.datetime]], *, now: dt.datetime
) -> int:
    """How many of ``held`` are upcoming at ``practice``: what its maximum counts."""
    return sum(1 for practice_id, start, _ in held if practice_id == practice.pk and start > now)


def patient_may_still_change(
    appointment_start: dt.datetime, practice: Practice, *, at: dt.datetime
) -> bool:
    """Before the practice's cut-off for patients' own cancellations and moves."""
    return at <= appointment_start - dt.timedelta(minutes=practice.cancellation_cutoff_minutes)


def check_still_changeable(
    *, actor: Actor, appointment: Appointment, now: dt.datetime, action: StaffAction
) -> None:
    """Only a booked appointment moves or is cancelled: by staff whose role allows it, by
    patients until the cut-off, by an organisation through GP Connect until it starts."""
    if is_external(actor):
        check_not_started(appointment, now=now)
    elif is_staff_of(actor.user, appointment.practice_id):
        check_staff_may(actor.user, action)
    if appointment.status != AppointmentStatus.BOOKED:
        current = appointment.get_status_display().lower()
        target = "rescheduled" if action == StaffAction.RESCHEDULE else "cancelled"
        raise RuleViolation(
            INVALID_TRANSITION.format(current=current, target=target), code="invalid_transition"
        )
    if is_external(actor) or is_staff_of(actor.user, appointment.practice_id):
        return
    if not patient_may_still_change(appointment.start, appointment.practice, at=now):
        raise RuleViolation(TOO_LATE_TO_CANCEL, code="too_late_to_cancel")


def check_not_started(appointment: Appointment, *, now: dt.datetime) -> None:
    """GP Connect changes only future appointments (the spec: an error if the start is before
    now); a patient's cut-off is the practice's rule for its own patients, not for others."""
    if appointment.start <= now:
        raise RuleViolation(APPOINTMENT_IN_PAST, code="appointment_in_past")


def check_outcome(
    *, actor: Actor, appointment: Appointment, outcome: str, now: dt.datetime
) -> None:
    """Practice staff record outcomes; clinicians only of their own appointments."""
    if not is_staff_of(actor.user, appointment.practice_id):
        raise Forbidden(NOT_PRACTICE_STAFF, code="not_practice_staff")
    check_staff_may(actor.user, StaffAction.RECORD_OUTCOME)
    own = appointment.clinician.user_id == actor.user.pk
    if actor.user.role == Role.CLINICIAN and not actor.user.is_superuser and not own:
        raise Forbidden(NOT_YOUR_APPOINTMENT, code="not_your_appointment")
    refusal = outcome_refusal(appointment=appointment, outcome=outcome, now=now)
    if refusal is not None:
        raise refusal


def outcome_refusal(
    *, appointment: Appointment, outcome: str, now: dt.datetime
) -> RuleViolation | None:
    """Why ``outcome`` cannot be recorded for ``appointment`` at ``now``, or None if it can
    (whoever records it)."""
    allowed_from, needs_start = OUTCOMES[outcome]
    if appointment.status not in allowed_from:
        return RuleViolation(
            INVALID_TRANSITION.format(
                current=appointment.get_status_display().lower(),
                target=AppointmentStatus(outcome).label.lower(),
            ),
            code="invalid_transition",
        )
    if needs_start and now < appointment.start:
        return RuleViolation(OUTCOME_TOO_EARLY, code="outcome_too_early")
    tz = appointment.practice.tz
    if not needs_start and now.astimezone(tz).date() < appointment.start.astimezone(tz).date():
        return RuleViolation(ARRIVED_TOO_EARLY, code="outcome_too_early")
    return None


def possible_outcomes(*, appointment: Appointment, now: dt.datetime) -> list[str]:
    """The outcomes that could be recorded now, in the order the day goes: the buttons staff
    are offered."""
    return [
        outcome
        for outcome in OUTCOMES
        if outcome_refusal(appointment=appointment, outcome=outcome, now=now) is None
    ]
