"""The locks every booking command takes, and the order it takes them in.

1. The patient's booking lock (a transaction-scoped advisory lock on the patient's id), then
2. the row locks: the appointment, then slots in id order, then
3. for a booking through GP Connect, the daily limits of the slots' settings, by setting id.

Every path takes them in this order, so no two commands can wait on each other in a cycle.
"""

from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import BooleanField, F, Func, OuterRef, QuerySet, Subquery, Value

from core.exceptions import NotFound, PreconditionFailed, RuleViolation
from practices.models import Slot, SlotType, slot_type_name

from ..models import Appointment, AppointmentExtraSlot
from .rules import (
    APPOINTMENT_NOT_FOUND,
    CANNOT_AMEND_CANCELLED,
    SLOT_NOT_FOUND,
    STALE_VERSION,
    Actor,
    is_external,
)

# A transaction-scoped advisory lock per patient id.
PATIENT_LOCK = "pg_advisory_xact_lock(hashtextextended(({})::text, 0))"


class _PatientLock(Func):
    template = PATIENT_LOCK.format("%(expressions)s") + " IS NULL"
    output_field = BooleanField()


def lock_patient(patient_id: UUID) -> None:
    """The patient's booking lock on its own, for a command that locks no row with it (joining
    the waiting list: two joins at once cannot both pass the count of open entries)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + PATIENT_LOCK.format("%s"), [str(patient_id)])


def lock_gp_connect_limit(setting_id: int) -> None:
    """A GP Connect setting's daily limit, locked after the slots (the last lock a booking
    takes): two organisations booking its last slot of the day at once cannot both pass the
    count."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"gp-connect-limit:{setting_id}"],
        )


def with_patient_lock(rows: QuerySet[Any], patient_id: Any) -> QuerySet[Any]:
    """``rows``, fetched by a statement that first takes the patient's booking lock.

    The lock serialises one patient's bookings and moves, so two at once cannot both pass the
    count of their appointments (the overlap is also an exclusion constraint; the count is
    not). It is taken in the same statement as the row lock that follows it: one round trip
    for both. PostgreSQL evaluates it before it locks the rows, so every path takes the
    patient's lock first.
    """
    return rows.annotate(_patient_locked=_PatientLock(patient_id))


def lock_slot(slot_id: UUID, *, and_patient: UUID | None = None) -> Slot:
    """Lock the slot's row; with ``and_patient``, take that patient's booking lock first.

    Of two requests racing for one slot, the second waits here until the first commits, then
    sees the slot booked. The slot type's usual mode comes with it (``default_mode``), for the
    appointment's GPAD mode, in the same statement.
    """
    slots: QuerySet[Slot] = (
        Slot.objects.select_for_update(of=("self",))
        .select_related("practice", "clinician")
        .annotate(
            default_mode=Subquery(
                SlotType.objects.filter(
                    practice=OuterRef("practice_id"), code=OuterRef("slot_type")
                ).values("default_mode")[:1]
            ),
            type_name=slot_type_name("slot_type"),
        )
    )
    if and_patient is not None:
        slots = with_patient_lock(slots, Value(str(and_patient)))
    slot = slots.filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(SLOT_NOT_FOUND, code="slot_not_found")
    return slot


def lock_appointment(
    *,
    actor: Actor,
    appointment_id: UUID,
    expected_version: int | None,
    and_patient_lock: bool = False,
) -> Appointment:
    """Lock an appointment the actor may see; refuse a stale version or a cancelled one."""
    # Join only the practice, which an appointment never changes: when a concurrent
    # reschedule changes the clinician, PostgreSQL re-checks a locked row's join conditions
    # against the new version, and a clinician join would make the row vanish from the result.
    # FOR NO KEY UPDATE (the id never changes): it still orders every change to the row, but
    # lets another transaction insert a row referring to it (a history line written while
    # that transaction holds a slot this one waits for) without a lock cycle.
    visible = (
        Appointment.objects.visible_through_gp_connect()
        if is_external(actor)
        else Appointment.objects.visible_to(actor.user)
    )
    appointments: QuerySet[Appointment] = (
        visible.select_related("practice")
        .select_for_update(of=("self",), no_key=True)
        .filter(pk=appointment_id)
    )
    # The first slot's end, in the same statement: whether the appointment spans several
    # slots is then known before any slot is locked (``extra_slot_ids``).
    appointments = appointments.annotate(
        type_name=slot_type_name("appointment_type"),
        slot_end=Subquery(Slot.objects.filter(pk=OuterRef("slot_id")).values("end")[:1]),
    )
    if and_patient_lock:
        appointments = with_patient_lock(appointments, F("patient_id"))
    appointment = appointments.first()
    if appointment is None:
        raise NotFound(APPOINTMENT_NOT_FOUND, code="appointment_not_found")
    if expected_version is not None and appointment.version != expected_version:
        raise PreconditionFailed(STALE_VERSION, code="stale_version")
    if appointment.is_cancelled:
        raise RuleViolation(CANNOT_AMEND_CANCELLED, code="appointment_cancelled")
    return appointment


def extra_slot_ids(appointment: Appointment) -> list[UUID]:
    """The later slots of an appointment spanning several (locked by ``lock_appointment``),
    in id order; no query for one ending with its first slot, as nearly all do."""
    if appointment.end == appointment.slot_end:  # type: ignore[attr-defined]  # annotated
        return []
    return sorted(
        AppointmentExtraSlot.objects.filter(appointment=appointment, released=False).values_list(
            "slot_id", flat=True
        ),
        key=str,
    )
