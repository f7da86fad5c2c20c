"""Every change to an appointment: book, reschedule, cancel, record an outcome, amend notes.

The API, the admin and management commands all call these functions; each is one
transaction that locks what it must and writes one history row. The database constraints
(one appointment per slot, no overlapping appointments per patient, no overlapping slots)
hold even if a rule here were wrong; the checks here give the friendly message.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.utils import timezone

from accounts.models import Role, User
from config import db_batch
from config.exceptions import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RuleViolation,
)
from practices.models import Practice, Slot, SlotStatus

from .models import (
    HOLDS_SLOT,
    Appointment,
    AppointmentHistory,
    AppointmentStatus,
    Notification,
    Source,
)
from .notifications import delivery as notifications

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
NOT_PRACTICE_STAFF = "Only staff of this practice can do this."
NOT_YOUR_APPOINTMENT = "Clinicians can only record outcomes of their own appointments."
APPOINTMENT_NOT_FOUND = "There is no such appointment."
CANNOT_AMEND_CANCELLED = "A cancelled appointment cannot be changed."
TOO_LATE_TO_CANCEL = (
    "It is too late to cancel or change this appointment online. Please call the practice."
)
STALE_VERSION = "The appointment has changed since you read it. Reload it and try again."
INVALID_TRANSITION = "An appointment that is {current} cannot be marked {target}."
OUTCOME_TOO_EARLY = "This can only be recorded once the appointment has started."
ARRIVED_TOO_EARLY = "A patient can only be marked arrived on the day of the appointment."
SAME_SLOT = "The appointment is already in this slot."

ALTERNATIVES_SHOWN = 5

# Which outcome may follow which status, and whether it needs the start time to have passed.
OUTCOMES: dict[str, tuple[frozenset[str], bool]] = {
    AppointmentStatus.ARRIVED: (frozenset({AppointmentStatus.BOOKED}), False),
    AppointmentStatus.COMPLETED: (
        frozenset({AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED}),
        True,
    ),
    AppointmentStatus.DID_NOT_ATTEND: (frozenset({AppointmentStatus.BOOKED}), True),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting, and through which door."""

    user: User
    source: Source = Source.API


def _is_staff_of(user: User, practice_id: int) -> bool:
    return Practice.objects.staffed_by(user).filter(pk=practice_id).exists()


def free_alternatives(
    *,
    user: User,
    practice: Practice,
    after: dt.datetime,
    appointment_type: str | None,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The next few slots ``user`` could book instead, for a 409 answer."""
    slots = Slot.objects.bookable_by(user, practice, now=now).filter(start__gte=max(after, now))
    if appointment_type:
        slots = slots.filter(slot_type=appointment_type)
    return [
        {
            "slot_id": str(slot.id),
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
            "appointment_type": slot.slot_type,
            "channel": slot.channel,
            "clinician": {"id": str(slot.clinician_id), "name": slot.clinician.display_name},
        }
        for slot in slots.select_related("clinician").order_by("start", "id")[:ALTERNATIVES_SHOWN]
    ]


def _unavailable(
    detail: str,
    code: str,
    *,
    user: User,
    slot_practice: Practice,
    after: dt.datetime,
    appointment_type: str | None,
    now: dt.datetime,
) -> Conflict:
    alternatives = free_alternatives(
        user=user, practice=slot_practice, after=after, appointment_type=appointment_type, now=now
    )
    return Conflict(detail, code=code, extra={"alternatives": alternatives})


def find_slot(
    *,
    user: User,
    practice_ods: str,
    start: dt.datetime,
    appointment_type: str,
    channel: str | None = None,
    clinician_id: UUID | None = None,
    now: dt.datetime | None = None,
) -> Slot:
    """The free slot of this type starting at this instant that ``user`` could book.

    The seed API's contract books by practice, time and type rather than by slot id.
    """
    now = now or timezone.now()
    practice = Practice.objects.active().filter(ods_code=practice_ods.upper()).first()
    if practice is None:
        raise NotFound("There is no such practice.", code="practice_not_found")
    slots = Slot.objects.bookable_by(user, practice, now=now).filter(
        start=start, slot_type=appointment_type
    )
    if channel:
        slots = slots.filter(channel=channel)
    if clinician_id:
        slots = slots.filter(clinician_id=clinician_id)
    slot = slots.order_by("id").first()
    if slot is None:
        raise _unavailable(
            NO_FREE_SLOT,
            "no_free_slot",
            user=user,
            slot_practice=practice,
            after=start,
            appointment_type=appointment_type,
            now=now,
        )
    return slot


def _books_for_self(user: User) -> bool:
    return user.role == Role.PATIENT and not user.is_staff


def _resolve_patient(*, actor: Actor, patient_id: UUID | None, practice_id: int) -> User:
    user = actor.user
    if _books_for_self(user):
        if patient_id is not None and patient_id != user.id:
            raise Forbidden(BOOK_FOR_SELF_ONLY, code="book_for_self_only")
        return user
    if not (user.is_superuser or _is_staff_of(user, practice_id)):
        raise Forbidden(NOT_PRACTICE_STAFF, code="not_practice_staff")
    if patient_id is None:
        raise RuleViolation(
            PATIENT_REQUIRED, code="patient_required", errors={"patient_id": [PATIENT_REQUIRED]}
        )
    # Staff book only for patients registered at the slot's practice; anyone else is "not
    # found" so staff cannot probe for patients of other practices.
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


def _check_slot_rules(
    *,
    actor: Actor,
    patient: User,
    slot: Slot,
    now: dt.datetime,
    ignoring: Appointment | None = None,
) -> User:
    """Every rule a booking into ``slot`` must meet; ``ignoring`` is the appointment being moved.

    The caller holds the patient's booking lock (``_with_patient_lock``) and has loaded the
    patient with their profile."""
    practice = slot.practice
    if slot.start <= now:
        raise RuleViolation(SLOT_IN_PAST, code="slot_in_past")
    acting_as_staff = actor.user.is_superuser or _is_staff_of(actor.user, practice.pk)
    if not acting_as_staff:
        earliest, latest = practice.online_booking_window(now)
        if not slot.online_bookable:
            raise RuleViolation(STAFF_ONLY_SLOT, code="staff_only_slot")
        if slot.start < earliest:
            raise RuleViolation(TOO_SOON, code="too_soon")
        if slot.start > latest:
            raise RuleViolation(
                TOO_FAR_AHEAD.format(days=practice.booking_horizon_days), code="too_far_ahead"
            )

    profile = getattr(patient, "patient_profile", None)
    if practice.registered_patients_only and (
        profile is None or profile.registered_practice_id != practice.pk
    ):
        raise RuleViolation(NOT_REGISTERED, code="not_registered")

    upcoming = Appointment.objects.filter(HOLDS_SLOT, patient=patient, end__gt=now)
    if ignoring is not None:
        upcoming = upcoming.exclude(pk=ignoring.pk)
    held = list(upcoming.values_list("practice_id", "start", "end"))
    if any(start < slot.end and end > slot.start for _, start, end in held):
        raise Conflict(OVERLAPPING, code="overlapping_appointment")
    at_practice = sum(
        1 for practice_id, start, _ in held if practice_id == practice.pk and start > now
    )
    if at_practice >= practice.max_future_appointments:
        raise RuleViolation(
            TOO_MANY_APPOINTMENTS.format(count=at_practice), code="too_many_appointments"
        )
    return patient


def _lock_slot(slot_id: UUID, *, and_patient: UUID | None = None) -> Slot:
    """Lock the slot's row; with ``and_patient``, take that patient's booking lock first."""
    slots = Slot.objects.select_for_update(of=("self",)).select_related("practice", "clinician")
    if and_patient is not None:
        slots = _with_patient_lock(slots, Value(str(and_patient)))
    slot = slots.filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(SLOT_NOT_FOUND, code="slot_not_found")
    return slot


class _PatientLock(Func):
    template = "pg_advisory_xact_lock(hashtextextended((%(expressions)s)::text, 0)) IS NULL"
    output_field = BooleanField()


def _with_patient_lock(rows: QuerySet, patient_id: Any) -> QuerySet:
    """``rows``, fetched by a statement that first takes the patient's booking lock.

    The lock serialises one patient's bookings and moves, so two at once cannot both pass the
    count of their appointments (the overlap is also an exclusion constraint; the count is
    not). On PostgreSQL it is a transaction-scoped advisory lock on the patient's id, taken in
    the same statement as the row lock that follows it: one round trip for both. PostgreSQL
    evaluates it before it locks the rows, so every path takes the patient's lock first and no
    two paths can wait on each other in a cycle. SQLite serialises writers itself.
    """
    if connection.vendor != "postgresql":
        return rows
    return rows.annotate(_patient_locked=_PatientLock(patient_id))


def _record(appointment: Appointment, **change: Any) -> None:
    _history(appointment, **change).save(force_insert=True)


def _history(
    appointment: Appointment,
    *,
    actor: Actor,
    action: str,
    from_status: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AppointmentHistory:
    return AppointmentHistory(
        appointment=appointment,
        actor=actor.user,
        action=action,
        from_status=from_status,
        to_status=appointment.status,
        reason=reason,
        source=actor.source,
        details=details or {},
    )


def _is_reference_clash(exc: IntegrityError) -> bool:
    # PostgreSQL names the unique index; SQLite names the column.
    text = str(exc)
    return "booking_appointment_reference_key" in text or "booking_appointment.reference" in text


def _integrity_conflict(exc: IntegrityError) -> Conflict:
    # Only reached when a rule check above was somehow bypassed by a race; the constraint
    # names tell which invariant held.
    text = str(exc)
    if "booking_patient_no_overlap" in text:
        return Conflict(OVERLAPPING, code="overlapping_appointment")
    return Conflict(SLOT_TAKEN, code="slot_taken")


# A booking draws a random 40-bit reference; the unique index refuses the rare repeat (about
# one in ten million bookings at ten million appointments) and the booking is tried again.
REFERENCE_ATTEMPTS = 3


class _ReferenceClash(Exception):
    pass


def book_appointment(
    *,
    actor: Actor,
    slot_id: UUID,
    patient_id: UUID | None = None,
    description: str = "",
    comment: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book ``slot_id`` for a patient (the actor themself, or one chosen by practice staff)."""
    for attempt in range(1, REFERENCE_ATTEMPTS + 1):
        try:
            return _book_once(
                actor=actor,
                slot_id=slot_id,
                patient_id=patient_id,
                description=description,
                comment=comment,
                now=now,
            )
        except _ReferenceClash as exc:  # rolled back whole; the next try draws a new one
            if attempt == REFERENCE_ATTEMPTS:
                raise Conflict("Please try again.", code="try_again") from exc
    raise AssertionError("unreachable")


def _book_once(
    *,
    actor: Actor,
    slot_id: UUID,
    patient_id: UUID | None = None,
    description: str = "",
    comment: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    now = now or timezone.now()
    try:
        with transaction.atomic():
            # The slot's row lock: of two requests racing for one slot, the second waits here
            # until the first commits, then sees the slot booked and gets a 409. The same
            # statement takes the patient's booking lock (see _with_patient_lock).
            slot = _lock_slot(
                slot_id, and_patient=actor.user.pk if _books_for_self(actor.user) else patient_id
            )
            patient = _resolve_patient(
                actor=actor, patient_id=patient_id, practice_id=slot.practice_id
            )
            if slot.status != SlotStatus.FREE:
                raise _unavailable(
                    SLOT_TAKEN,
                    "slot_taken",
                    user=actor.user,
                    slot_practice=slot.practice,
                    after=slot.start,
                    appointment_type=slot.slot_type,
                    now=now,
                )
            patient = _check_slot_rules(actor=actor, patient=patient, slot=slot, now=now)
            appointment = Appointment(
                patient=patient,
                practice=slot.practice,
                slot=slot,
                clinician=slot.clinician,
                start=slot.start,
                end=slot.end,
                appointment_type=slot.slot_type,
                channel=slot.channel,
                description=description,
                comment=comment,
                booked_by=actor.user,
            )
            outbox = notifications.outbox_rows(appointment, Notification.Kind.CONFIRMATION)
            # One round trip on PostgreSQL for the four writes (config.db_batch).
            db_batch.execute_together(
                db_batch.insert([appointment]),
                db_batch.update(Slot.objects.filter(pk=slot.pk), status=SlotStatus.BOOKED),
                db_batch.insert(
                    [
                        _history(
                            appointment,
                            actor=actor,
                            action=AppointmentHistory.Action.BOOKED,
                            from_status="",
                        )
                    ]
                ),
                db_batch.insert(outbox, ignore_conflicts=True),
            )
            notifications.send_on_commit(outbox)
    except IntegrityError as exc:
        if _is_reference_clash(exc):
            raise _ReferenceClash from exc
        raise _integrity_conflict(exc) from exc
    return appointment


def _lock_appointment(
    *,
    actor: Actor,
    appointment_id: UUID,
    expected_version: int | None,
    with_patient_lock: bool = False,
) -> Appointment:
    # Join only the practice, which an appointment never changes: when a concurrent
    # reschedule changes the clinician, PostgreSQL re-checks a locked row's join conditions
    # against the new version, and a clinician join would make the row vanish from the result.
    appointments = (
        Appointment.objects.visible_to(actor.user)
        .select_related("practice")
        .select_for_update(of=("self",))
        .filter(pk=appointment_id)
    )
    if with_patient_lock:
        appointments = _with_patient_lock(appointments, F("patient_id"))
    appointment = appointments.first()
    if appointment is None:
        raise NotFound(APPOINTMENT_NOT_FOUND, code="appointment_not_found")
    if expected_version is not None and appointment.version != expected_version:
        raise PreconditionFailed(STALE_VERSION, code="stale_version")
    if appointment.is_cancelled:
        raise RuleViolation(CANNOT_AMEND_CANCELLED, code="appointment_cancelled")
    return appointment


def _patient_cutoff_passed(*, actor: Actor, appointment: Appointment, now: dt.datetime) -> bool:
    """Patients may change or cancel only until the practice's cut-off; staff any time."""
    if actor.user.is_superuser or _is_staff_of(actor.user, appointment.practice_id):
        return False
    cutoff = appointment.start - dt.timedelta(
        minutes=appointment.practice.cancellation_cutoff_minutes
    )
    return now > cutoff


def _check_still_changeable(
    *, actor: Actor, appointment: Appointment, now: dt.datetime, target: str
) -> None:
    """Only a booked appointment moves or is cancelled; patients only until the cut-off."""
    if appointment.status != AppointmentStatus.BOOKED:
        current = appointment.get_status_display().lower()
        raise RuleViolation(
            INVALID_TRANSITION.format(current=current, target=target), code="invalid_transition"
        )
    if _patient_cutoff_passed(actor=actor, appointment=appointment, now=now):
        raise RuleViolation(TOO_LATE_TO_CANCEL, code="too_late_to_cancel")


def reschedule_appointment(
    *,
    actor: Actor,
    appointment_id: UUID,
    new_slot_id: UUID,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move an appointment to another slot; the old slot is freed only if the move succeeds."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            appointment = _lock_appointment(
                actor=actor,
                appointment_id=appointment_id,
                expected_version=expected_version,
                with_patient_lock=True,
            )
            _check_still_changeable(
                actor=actor, appointment=appointment, now=now, target="rescheduled"
            )
            if appointment.slot_id == new_slot_id:
                raise RuleViolation(SAME_SLOT, code="same_slot")
            # Lock both slots in id order, so two reschedules swapping slots cannot deadlock.
            for slot_id in sorted([appointment.slot_id, new_slot_id], key=str):
                locked = _lock_slot(slot_id)
                if slot_id == new_slot_id:
                    new_slot = locked
            if new_slot.practice_id != appointment.practice_id:
                raise RuleViolation(
                    "An appointment can only move within its practice.", code="other_practice"
                )
            if new_slot.status != SlotStatus.FREE:
                raise _unavailable(
                    SLOT_TAKEN,
                    "slot_taken",
                    user=actor.user,
                    slot_practice=new_slot.practice,
                    after=new_slot.start,
                    appointment_type=new_slot.slot_type,
                    now=now,
                )
            appointment.patient = _check_slot_rules(
                actor=actor,
                patient=User.objects.select_related("patient_profile").get(
                    pk=appointment.patient_id
                ),
                slot=new_slot,
                now=now,
                ignoring=appointment,
            )

            old = {"slot_id": str(appointment.slot_id), "start": appointment.start.isoformat()}
            old_slot_id = appointment.slot_id
            appointment.slot = new_slot
            appointment.clinician = new_slot.clinician
            appointment.start, appointment.end = new_slot.start, new_slot.end
            appointment.appointment_type, appointment.channel = new_slot.slot_type, new_slot.channel
            appointment.version += 1
            appointment.save()
            Slot.objects.filter(pk=old_slot_id).update(status=SlotStatus.FREE)
            Slot.objects.filter(pk=new_slot.pk).update(status=SlotStatus.BOOKED)
            _record(
                appointment,
                actor=actor,
                action=AppointmentHistory.Action.RESCHEDULED,
                from_status=AppointmentStatus.BOOKED,
                details={
                    "from": old,
                    "to": {"slot_id": str(new_slot.pk), "start": new_slot.start.isoformat()},
                },
            )
            notifications.queue_for(appointment, Notification.Kind.RESCHEDULE)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return appointment


@transaction.atomic
def cancel_appointment(
    *,
    actor: Actor,
    appointment_id: UUID,
    reason: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel a booked appointment and free its slot at once. The appointment is kept."""
    now = now or timezone.now()
    appointment = _lock_appointment(
        actor=actor, appointment_id=appointment_id, expected_version=expected_version
    )
    _check_still_changeable(actor=actor, appointment=appointment, now=now, target="cancelled")
    _lock_slot(appointment.slot_id)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancellation_reason = reason
    appointment.cancelled_at = now
    appointment.version += 1
    appointment.save()
    Slot.objects.filter(pk=appointment.slot_id).update(status=SlotStatus.FREE)
    _record(
        appointment,
        actor=actor,
        action=AppointmentHistory.Action.CANCELLED,
        from_status=AppointmentStatus.BOOKED,
        reason=reason,
    )
    notifications.queue_for(appointment, Notification.Kind.CANCELLATION)
    return appointment


@transaction.atomic
def record_outcome(
    *,
    actor: Actor,
    appointment_id: UUID,
    outcome: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Mark an appointment arrived, completed or did-not-attend (practice staff only)."""
    now = now or timezone.now()
    appointment = _lock_appointment(
        actor=actor, appointment_id=appointment_id, expected_version=expected_version
    )
    if not (actor.user.is_superuser or _is_staff_of(actor.user, appointment.practice_id)):
        raise Forbidden(NOT_PRACTICE_STAFF, code="not_practice_staff")
    # Clinicians record outcomes of their own appointments; practice admins of any.
    own = appointment.clinician.user_id == actor.user.pk
    if actor.user.role == Role.CLINICIAN and not actor.user.is_superuser and not own:
        raise Forbidden(NOT_YOUR_APPOINTMENT, code="not_your_appointment")
    allowed_from, needs_start = OUTCOMES[outcome]
    if appointment.status not in allowed_from:
        raise RuleViolation(
            INVALID_TRANSITION.format(
                current=appointment.get_status_display().lower(),
                target=AppointmentStatus(outcome).label.lower(),
            ),
            code="invalid_transition",
        )
    if needs_start and now < appointment.start:
        raise RuleViolation(OUTCOME_TOO_EARLY, code="outcome_too_early")
    tz = appointment.practice.tz
    if not needs_start and now.astimezone(tz).date() < appointment.start.astimezone(tz).date():
        raise RuleViolation(ARRIVED_TOO_EARLY, code="outcome_too_early")
    from_status = appointment.status
    appointment.status = outcome
    appointment.version += 1
    appointment.save()
    _record(appointment, actor=actor, action=outcome, from_status=from_status)
    return appointment


@transaction.atomic
def amend_notes(
    *,
    actor: Actor,
    appointment_id: UUID,
    changes: dict[str, str],
    expected_version: int | None = None,
) -> Appointment:
    """Change the description and comment; nothing else about an appointment is edited."""
    unknown = set(changes) - {"description", "comment"}
    if unknown:
        raise ValueError(f"amend_notes cannot change {sorted(unknown)}")
    appointment = _lock_appointment(
        actor=actor, appointment_id=appointment_id, expected_version=expected_version
    )
    before = {name: getattr(appointment, name) for name in changes}
    for name, value in changes.items():
        setattr(appointment, name, value)
    appointment.version += 1
    appointment.save()
    _record(
        appointment,
        actor=actor,
        action=AppointmentHistory.Action.AMENDED,
        from_status=appointment.status,
        details={"changed": sorted(name for name in changes if before[name] != changes[name])},
    )
    return appointment
