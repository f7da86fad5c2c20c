"""Every change to an appointment: book, reschedule, cancel, record an outcome, amend notes.

The API, the admin and management commands all call these functions; each is one
transaction that takes its locks (``locking``), checks the rules (``rules``) and writes one
history row and the outbox rows of its notifications. The database constraints (one
appointment per slot, no overlapping appointments per patient, no overlapping slots) hold
even if a rule were wrong; the checks give the friendly message.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from core.db import violated_constraint
from core.exceptions import Conflict, NotFound, RuleViolation
from practices.gpad import Mode, mode_for
from practices.models import ExternalBookability, Practice, Slot, SlotStatus

from ..models import (
    HOLDS_SLOT,
    Appointment,
    AppointmentExtraSlot,
    AppointmentHistory,
    AppointmentStatus,
    CancelledBy,
    Notification,
    Vacancy,
    WaitingListOffer,
)
from ..notifications import delivery as notifications
from . import holds
from .locking import (
    extra_slot_ids,
    lock_appointment,
    lock_gp_connect_limit,
    lock_patient,
    lock_slot,
)
from .rules import (
    NO_FREE_SLOT,
    OTHER_PRACTICE,
    OVERLAPPING,
    PRACTICE_NOT_FOUND,
    SAME_SLOT,
    SLOT_TAKEN,
    SLOTS_NOT_ADJACENT,
    SLOTS_NOT_ALIKE,
    SLOTS_REQUIRED,
    SPANS_SEVERAL_SLOTS,
    TOO_MANY_SLOTS,
    TRY_AGAIN,
    UNKNOWN_MODE,
    Actor,
    StaffAction,
    books_for_self,
    check_gp_connect_limit,
    check_not_started,
    check_outcome,
    check_patient_may_book,
    check_slot_practice,
    check_slot_rules,
    check_staff_may,
    check_still_changeable,
    is_external,
    resolve_patient,
)
from .selectors import find_slot, unavailable, wish_window

# A booking draws a random 40-bit reference; the unique index refuses the rare repeat (about
# one in ten million bookings at ten million appointments) and the booking is tried again.
REFERENCE_ATTEMPTS = 3
REFERENCE_UNIQUE = "booking_appointment_reference_key"

# The most adjacent slots one appointment may span: an hour of the usual ten-minute slots,
# longer than any appointment a consumer books in one go, and it bounds the row locks one
# request holds.
MAX_SLOTS_PER_APPOINTMENT = 6

# The invariants a race past the rule checks can still hit, and what the caller is told.
_CONSTRAINT_CONFLICTS = {
    "booking_one_appointment_per_slot": (SLOT_TAKEN, "slot_taken"),
    "booking_extra_slot_once": (SLOT_TAKEN, "slot_taken"),
    "booking_slot_held_once": (SLOT_TAKEN, "slot_taken"),
    "booking_patient_no_overlap": (OVERLAPPING, "overlapping_appointment"),
}


class _ReferenceClash(Exception):
    pass


def _integrity_conflict(exc: IntegrityError) -> Conflict:
    """The 409 for an invariant the database held; any other integrity error is a bug."""
    known = _CONSTRAINT_CONFLICTS.get(violated_constraint(exc) or "")
    if known is None:
        raise exc
    detail, code = known
    return Conflict(detail, code=code)


def _record(
    appointment: Appointment,
    *,
    actor: Actor,
    action: str,
    from_status: str,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    details = dict(details or {})
    if actor.organisation is not None:
        # The actor is only the consumer system's service user: say whom it acted for.
        details["organisation"] = {
            "ods_code": actor.organisation.ods_code,
            "name": actor.organisation.name,
        }
    AppointmentHistory.objects.create(
        appointment=appointment,
        actor=actor.user,
        action=action,
        from_status=from_status,
        to_status=appointment.status,
        reason=reason,
        source=actor.source,
        details=details,
    )


def _booking_organisation(actor: Actor) -> dict[str, str]:
    """The appointment's booking organisation fields: set when one books through GP Connect."""
    if actor.organisation is None:
        return {}
    return {
        "booking_organisation_ods": actor.organisation.ods_code,
        "booking_organisation_name": actor.organisation.name,
        "booking_organisation_telecom": actor.organisation.telecom,
        "booking_organisation_type": actor.organisation.type_code,
    }


def _with_fresh_references(book: Callable[[], Appointment]) -> Appointment:
    """``book()``, tried again with a new reference if the drawn one clashed."""
    for attempt in range(1, REFERENCE_ATTEMPTS + 1):
        try:
            return book()
        except _ReferenceClash as exc:  # rolled back whole; the next try draws a new one
            if attempt == REFERENCE_ATTEMPTS:
                raise Conflict(TRY_AGAIN, code="try_again") from exc
    raise AssertionError("unreachable")


def book_appointment(
    *,
    actor: Actor,
    slot_id: UUID,
    practice_ods: str | None = None,
    patient_id: UUID | None = None,
    description: str = "",
    comment: str = "",
    offer_id: UUID | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book ``slot_id`` for a patient (the actor themself, or one chosen by practice staff).

    ``practice_ods``, when a client sends it with the slot, must name the slot's practice.
    ``offer_id`` claims a waiting-list offer of the slot (``waiting_list.claim_offer``).
    """
    at = now or timezone.now()
    return _with_fresh_references(
        lambda: _book_once(
            actor=actor,
            slot_id=slot_id,
            practice_ods=practice_ods,
            patient_id=patient_id,
            description=description,
            comment=comment,
            offer_id=offer_id,
            now=at,
        )
    )


def book_slots(
    *,
    actor: Actor,
    slot_ids: Sequence[UUID],
    patient_id: UUID | None,
    description: str = "",
    comment: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book one appointment spanning ``slot_ids``: adjacent slots of one clinician, of one type
    and channel (GP Connect's "same schedule, delivery channel and service type"). One slot is
    exactly ``book_appointment``; several are booked together or not at all."""
    if not slot_ids:
        raise RuleViolation(SLOTS_REQUIRED, code="slots_required")
    if len(slot_ids) == 1:
        return book_appointment(
            actor=actor,
            slot_id=slot_ids[0],
            patient_id=patient_id,
            description=description,
            comment=comment,
            now=now,
        )
    if len(slot_ids) > MAX_SLOTS_PER_APPOINTMENT:
        raise RuleViolation(
            TOO_MANY_SLOTS.format(count=MAX_SLOTS_PER_APPOINTMENT), code="too_many_slots"
        )
    if len(set(slot_ids)) != len(slot_ids):
        raise RuleViolation(SLOTS_NOT_ADJACENT, code="slots_not_adjacent")
    at = now or timezone.now()
    return _with_fresh_references(
        lambda: _book_several(
            actor=actor,
            slot_ids=slot_ids,
            patient_id=patient_id,
            description=description,
            comment=comment,
            now=at,
        )
    )


def book_slot_at(
    *,
    actor: Actor,
    practice_ods: str,
    start: dt.datetime,
    appointment_type: str,
    channel: str | None = None,
    clinician_id: UUID | None = None,
    patient_id: UUID | None = None,
    description: str = "",
    comment: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book the free slot of this type at this time (the seed API's way of booking)."""
    now = now or timezone.now()
    slot = find_slot(
        user=actor.user,
        practice_ods=practice_ods,
        start=start,
        appointment_type=appointment_type,
        channel=channel,
        clinician_id=clinician_id,
        now=now,
    )
    return book_appointment(
        actor=actor,
        slot_id=slot.pk,
        patient_id=patient_id,
        description=description,
        comment=comment,
        now=now,
    )


@dataclass(frozen=True)
class SlotWish:
    """What "the earliest free slot that matches" must match (None: any)."""

    appointment_type: str | None = None
    channel: str | None = None
    clinician_id: UUID | None = None
    day: dt.date | None = None  # at the practice; without it, from now on
    from_time: dt.time | None = None  # local wall-clock times, on ``day``
    to_time: dt.time | None = None


def book_earliest(
    *,
    actor: Actor,
    practice_ods: str,
    wish: SlotWish,
    patient_id: UUID | None = None,
    description: str = "",
    comment: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book the earliest free slot that matches ``wish`` and the patient could take, chosen
    on the server under a row lock taken with ``SKIP LOCKED``: a slot another request is
    booking right now is passed over, not waited for, so a crowd asking at once (the 8am
    rush) each gets a different slot instead of queueing for the same one and losing."""
    now = now or timezone.now()
    practice = Practice.objects.active().filter(ods_code=practice_ods.upper()).first()
    if practice is None:
        raise NotFound(PRACTICE_NOT_FOUND, code="practice_not_found")
    start, end = wish_window(practice, wish, now=now)
    # Who it is for, checked before anything is searched or locked: staff may not probe
    # another practice's patients (a "sold out" for one time would say they are booked then).
    patient = resolve_patient(actor=actor, patient_id=patient_id, practice_id=practice.pk)
    slots = Slot.objects.bookable_by(actor.user, practice, now=now).filter(
        status=SlotStatus.FREE, start__gte=start
    )
    if end is not None:
        slots = slots.filter(start__lt=end)
    if wish.appointment_type:
        slots = slots.filter(slot_type=wish.appointment_type)
    if wish.channel:
        slots = slots.filter(channel=wish.channel)
    if wish.clinician_id:
        slots = slots.filter(clinician_id=wish.clinician_id)
    # Not one the patient cannot take for an appointment they already hold then.
    slots = slots.exclude(
        Exists(
            Appointment.objects.filter(
                HOLDS_SLOT, patient=patient, start__lt=OuterRef("end"), end__gt=OuterRef("start")
            )
        )
    ).order_by("start", "id")
    with transaction.atomic():
        lock_patient(patient.pk)  # first, as every booking takes it
        # What fails whatever the slot fails before one is locked, so a request bound to fail
        # never holds a slot that others then pass over.
        check_patient_may_book(practice=practice, patient=patient, now=now)
        slot = slots.select_for_update(of=("self",), skip_locked=True).only("pk").first()
        if slot is None:
            # Every match is being booked by someone else right now: wait for them after all
            # (one may fail and free its slot) rather than say "sold out" too early.
            slot = slots.select_for_update(of=("self",)).only("pk").first()
        if slot is None:
            raise unavailable(
                NO_FREE_SLOT,
                "no_free_slot",
                user=actor.user,
                practice=practice,
                after=end or start,
                appointment_type=wish.appointment_type,
                now=now,
            )
        return book_appointment(
            actor=actor,
            slot_id=slot.pk,
            patient_id=patient_id,
            description=description,
            comment=comment,
            now=now,
        )


def _book_once(
    *,
    actor: Actor,
    slot_id: UUID,
    practice_ods: str | None,
    patient_id: UUID | None,
    description: str,
    comment: str,
    offer_id: UUID | None,
    now: dt.datetime,
) -> Appointment:
    try:
        with transaction.atomic():
            # One statement takes the patient's booking lock, then the slot's row lock.
            slot = lock_slot(
                slot_id, and_patient=actor.user.pk if books_for_self(actor.user) else patient_id
            )
            if practice_ods is not None:
                check_slot_practice(slot, practice_ods)
            patient = resolve_patient(
                actor=actor, patient_id=patient_id, practice_id=slot.practice_id
            )
            claimed = holds.admit(
                actor=actor, slot=slot, patient_id=patient.pk, offer_id=offer_id, now=now
            )
            check_slot_rules(actor=actor, patient=patient, slot=slot, now=now)
            if is_external(actor):
                _within_gp_connect_limits([slot])
            appointment = Appointment.objects.create(
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
                booked_at=now,
                **_gpad_fields(slot),
                **_booking_organisation(actor),
            )
            Slot.objects.filter(pk=slot.pk).update(status=SlotStatus.BOOKED)
            appointment.type_name = slot.type_name  # type: ignore[attr-defined]  # as annotated
            holds.settle(actor=actor, slot=slot, appointment=appointment, claimed=claimed, now=now)
            _record(
                appointment,
                actor=actor,
                action=AppointmentHistory.Action.BOOKED,
                from_status="",
                details=_claim_details(claimed),
            )
            notifications.queue_for(appointment, Notification.Kind.CONFIRMATION)
    except IntegrityError as exc:
        if violated_constraint(exc) == REFERENCE_UNIQUE:
            raise _ReferenceClash from exc
        raise _integrity_conflict(exc) from exc
    return appointment


def _book_several(
    *,
    actor: Actor,
    slot_ids: Sequence[UUID],
    patient_id: UUID | None,
    description: str,
    comment: str,
    now: dt.datetime,
) -> Appointment:
    try:
        with transaction.atomic():
            # The patient's booking lock with the first slot's row lock, then the others' in id
            # order: the order every path takes them in, so two bookings sharing slots cannot
            # deadlock.
            in_id_order = sorted(slot_ids, key=str)
            locking_patient = actor.user.pk if books_for_self(actor.user) else patient_id
            locked = [lock_slot(in_id_order[0], and_patient=locking_patient)]
            locked += [lock_slot(slot_id) for slot_id in in_id_order[1:]]
            slots = sorted(locked, key=lambda slot: slot.start)
            first, extras = slots[0], slots[1:]
            patient = resolve_patient(
                actor=actor, patient_id=patient_id, practice_id=first.practice_id
            )
            _check_one_period(slots)
            for slot in slots:
                holds.admit(actor=actor, slot=slot, patient_id=patient.pk, offer_id=None, now=now)
            check_slot_rules(actor=actor, patient=patient, slot=first, extra_slots=extras, now=now)
            if is_external(actor):
                _within_gp_connect_limits(slots)
            appointment = Appointment.objects.create(
                patient=patient,
                practice=first.practice,
                slot=first,
                clinician=first.clinician,
                start=first.start,
                end=slots[-1].end,
                appointment_type=first.slot_type,
                channel=first.channel,
                description=description,
                comment=comment,
                booked_by=actor.user,
                booked_at=now,
                **_gpad_fields(first),
                **_booking_organisation(actor),
            )
            Slot.objects.filter(pk__in=in_id_order).update(status=SlotStatus.BOOKED)
            AppointmentExtraSlot.objects.bulk_create(
                AppointmentExtraSlot(appointment=appointment, slot=slot) for slot in extras
            )
            appointment.type_name = first.type_name  # type: ignore[attr-defined]  # as annotated
            for slot in slots:
                holds.settle(actor=actor, slot=slot, appointment=appointment, claimed=None, now=now)
            _record(
                appointment,
                actor=actor,
                action=AppointmentHistory.Action.BOOKED,
                from_status="",
                details={"slot_ids": [str(slot.pk) for slot in slots]},
            )
            notifications.queue_for(appointment, Notification.Kind.CONFIRMATION)
    except IntegrityError as exc:
        if violated_constraint(exc) == REFERENCE_UNIQUE:
            raise _ReferenceClash from exc
        raise _integrity_conflict(exc) from exc
    return appointment


def _within_gp_connect_limits(slots: Sequence[Slot]) -> None:
    """Each daily limit the slots' GP Connect settings set, locked (by setting id) and
    counted. Their settings were read by the rules already: no query without a limit."""
    by_setting: dict[int, tuple[ExternalBookability, list[Slot]]] = {}
    for slot in slots:
        setting = slot.gp_connect_bookability()
        if setting is not None and setting.daily_limit is not None:
            by_setting.setdefault(setting.pk, (setting, []))[1].append(slot)
    for setting_id in sorted(by_setting):
        setting, governed = by_setting[setting_id]
        lock_gp_connect_limit(setting_id)
        check_gp_connect_limit(setting=setting, slots=governed)


def _check_one_period(slots: Sequence[Slot]) -> None:
    """``slots`` (in start order) make one appointment: one clinician's at one practice, of one
    type and channel, each starting as the one before ends."""
    first = slots[0]
    for previous, slot in zip(slots, slots[1:], strict=False):
        alike = (slot.practice_id, slot.clinician_id, slot.slot_type, slot.channel) == (
            first.practice_id,
            first.clinician_id,
            first.slot_type,
            first.channel,
        )
        if not alike:
            raise RuleViolation(SLOTS_NOT_ALIKE, code="slots_not_alike")
        if slot.start != previous.end:
            raise RuleViolation(SLOTS_NOT_ADJACENT, code="slots_not_adjacent")


def reschedule_appointment(
    *,
    actor: Actor,
    appointment_id: UUID,
    new_slot_id: UUID,
    expected_version: int | None = None,
    offer_id: UUID | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move an appointment to another slot; the old slot is freed only if the move succeeds.
    ``offer_id`` claims a waiting-list offer of the new slot for this appointment."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            appointment = lock_appointment(
                actor=actor,
                appointment_id=appointment_id,
                expected_version=expected_version,
                and_patient_lock=True,
            )
            check_still_changeable(
                actor=actor, appointment=appointment, now=now, action=StaffAction.RESCHEDULE
            )
            if extra_slot_ids(appointment):
                raise RuleViolation(SPANS_SEVERAL_SLOTS, code="spans_several_slots")
            if appointment.slot_id == new_slot_id:
                raise RuleViolation(SAME_SLOT, code="same_slot")
            # Lock both slots in id order, so two reschedules swapping slots cannot deadlock.
            locked = {
                slot_id: lock_slot(slot_id)
                for slot_id in sorted([appointment.slot_id, new_slot_id], key=str)
            }
            new_slot = locked[new_slot_id]
            if new_slot.practice_id != appointment.practice_id:
                raise RuleViolation(OTHER_PRACTICE, code="other_practice")
            claimed = holds.admit(
                actor=actor,
                slot=new_slot,
                patient_id=appointment.patient_id,
                offer_id=offer_id,
                now=now,
                moving=appointment,
            )
            appointment.patient = User.objects.select_related("patient_profile").get(
                pk=appointment.patient_id
            )
            check_slot_rules(
                actor=actor,
                patient=appointment.patient,
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
            # A move is a new booking of the new slot: GPAD's time from booking to appointment
            # runs from now.
            appointment.booked_at = now
            appointment.type_name = new_slot.type_name  # type: ignore[attr-defined]
            for name, value in _gpad_fields(new_slot).items():
                setattr(appointment, name, value)
            appointment.version += 1
            appointment.save()
            Slot.objects.filter(pk=old_slot_id).update(status=SlotStatus.FREE)
            Slot.objects.filter(pk=new_slot.pk).update(status=SlotStatus.BOOKED)
            holds.settle(
                actor=actor, slot=new_slot, appointment=appointment, claimed=claimed, now=now
            )
            holds.slot_freed(
                slot_id=old_slot_id,
                practice_id=appointment.practice_id,
                cause=Vacancy.Cause.MOVED,
                now=now,
            )
            _record(
                appointment,
                actor=actor,
                action=AppointmentHistory.Action.RESCHEDULED,
                from_status=AppointmentStatus.BOOKED,
                details={
                    "from": old,
                    "to": {"slot_id": str(new_slot.pk), "start": new_slot.start.isoformat()},
                    **_claim_details(claimed),
                },
            )
            notifications.queue_for(appointment, Notification.Kind.RESCHEDULE)
    except IntegrityError as exc:
        raise _integrity_conflict(exc) from exc
    return appointment


def reschedule_to_time(
    *,
    actor: Actor,
    appointment: Appointment,
    start: dt.datetime,
    appointment_type: str | None = None,
    channel: str | None = None,
    clinician_id: UUID | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Move ``appointment`` (as the caller read it) to the free slot at this time at its
    practice, of its own type unless another is named."""
    now = now or timezone.now()
    slot = find_slot(
        user=actor.user,
        practice_ods=appointment.practice.ods_code,
        start=start,
        appointment_type=appointment_type or appointment.appointment_type,
        channel=channel,
        clinician_id=clinician_id,
        now=now,
    )
    return reschedule_appointment(
        actor=actor,
        appointment_id=appointment.pk,
        new_slot_id=slot.pk,
        expected_version=expected_version,
        now=now,
    )


@transaction.atomic
def cancel_appointment(
    *,
    actor: Actor,
    appointment_id: UUID,
    reason: str,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel a booked appointment and free its slot(s) at once. The appointment is kept."""
    now = now or timezone.now()
    appointment = lock_appointment(
        actor=actor, appointment_id=appointment_id, expected_version=expected_version
    )
    check_still_changeable(actor=actor, appointment=appointment, now=now, action=StaffAction.CANCEL)
    extras = extra_slot_ids(appointment)
    slot_ids = sorted([appointment.slot_id, *extras], key=str)
    for slot_id in slot_ids:  # in id order, as every path locks slots
        lock_slot(slot_id)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancellation_reason = reason
    appointment.cancelled_at = now
    appointment.cancelled_by = (
        CancelledBy.PATIENT if actor.user.pk == appointment.patient_id else CancelledBy.PRACTICE
    )
    appointment.version += 1
    appointment.save()
    if extras:
        AppointmentExtraSlot.objects.filter(appointment=appointment, released=False).update(
            released=True
        )
        Slot.objects.filter(pk__in=slot_ids).update(status=SlotStatus.FREE)
    else:
        Slot.objects.filter(pk=appointment.slot_id).update(status=SlotStatus.FREE)
    for slot_id in slot_ids:
        holds.slot_freed(
            slot_id=slot_id,
            practice_id=appointment.practice_id,
            cause=Vacancy.Cause.CANCELLED,
            now=now,
        )
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
    mode: str | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Mark an appointment arrived, completed or did-not-attend (practice staff only), and,
    if given, the mode it actually took (a telephone slot that became face to face)."""
    now = now or timezone.now()
    appointment = lock_appointment(
        actor=actor, appointment_id=appointment_id, expected_version=expected_version
    )
    check_outcome(actor=actor, appointment=appointment, outcome=outcome, now=now)
    if mode is not None and mode not in Mode.values:
        raise RuleViolation(UNKNOWN_MODE, code="unknown_mode")
    from_status = appointment.status
    details: dict[str, Any] = {}
    if mode is not None and mode != appointment.mode:
        details = {"mode": {"from": appointment.mode, "to": mode}}
        appointment.mode = mode
    appointment.status = outcome
    appointment.version += 1
    appointment.save()
    _record(appointment, actor=actor, action=outcome, from_status=from_status, details=details)
    return appointment


def _claim_details(claimed: WaitingListOffer | None) -> dict[str, Any]:
    """What the history row says of a waiting-list claim: which offer, made when."""
    if claimed is None:
        return {}
    return {
        "waiting_list_offer": {
            "id": str(claimed.pk),
            "offered_at": claimed.offered_at.isoformat(),
            "entry_id": str(claimed.entry_id),
        }
    }


def _gpad_fields(slot: Slot) -> dict[str, str]:
    """What NHS England's appointment data needs recorded at booking: the mode (the slot
    type's usual one where it fits the slot's channel) and who the appointment is with."""
    return {
        "mode": mode_for(channel=slot.channel, default_mode=getattr(slot, "default_mode", None)),
        "clinician_profession": slot.clinician.profession,
    }


@transaction.atomic
def amend_notes(
    *,
    actor: Actor,
    appointment_id: UUID,
    changes: dict[str, str],
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Change the description and comment; nothing else about an appointment is edited."""
    unknown = set(changes) - {"description", "comment"}
    if unknown:
        raise ValueError(f"amend_notes cannot change {sorted(unknown)}")
    appointment = lock_appointment(
        actor=actor, appointment_id=appointment_id, expected_version=expected_version
    )
    if is_external(actor):
        check_not_started(appointment, now=now or timezone.now())
    elif not books_for_self(actor.user):  # staff: only if their role allows it
        check_staff_may(actor.user, StaffAction.AMEND_NOTES)
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
