"""Reads that span models: the slot to book at a time, free alternatives, the appointment list."""

import datetime as dt
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.utils import timezone

from accounts.models import User
from core.exceptions import Conflict, NotFound
from practices.models import Practice, Slot, slot_type_name

from ..models import Appointment, AppointmentQuerySet
from .rules import NO_FREE_SLOT, PRACTICE_NOT_FOUND

ALTERNATIVES_SHOWN = 5


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


def unavailable(
    detail: str, code: str, *, user: User, slot: Slot | None = None, **near: Any
) -> Conflict:
    """A 409 that offers the free slots nearest to the one asked for.

    ``slot`` is the slot that was taken, or ``near`` says what was asked for: ``practice``,
    ``after``, ``appointment_type`` and ``now``.
    """
    if slot is not None:
        near = {
            "practice": slot.practice,
            "after": slot.start,
            "appointment_type": slot.slot_type,
            **near,
        }
    alternatives = free_alternatives(user=user, **near)
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
        raise NotFound(PRACTICE_NOT_FOUND, code="practice_not_found")
    slots = Slot.objects.bookable_by(user, practice, now=now).filter(
        start=start, slot_type=appointment_type
    )
    if channel:
        slots = slots.filter(channel=channel)
    if clinician_id:
        slots = slots.filter(clinician_id=clinician_id)
    slot = slots.order_by("id").first()
    if slot is None:
        raise unavailable(
            NO_FREE_SLOT,
            "no_free_slot",
            user=user,
            practice=practice,
            after=start,
            appointment_type=appointment_type,
            now=now,
        )
    return slot


def appointment_list(*, user: User, filters: Mapping[str, Any]) -> AppointmentQuerySet:
    """The appointments ``user`` may see, narrowed by the list endpoint's validated filters,
    upcoming ones first."""
    appointments = (
        Appointment.objects.visible_to(user)
        .select_related("practice", "clinician")
        .annotate(type_name=slot_type_name("appointment_type"))
        .upcoming_first(timezone.now())
    )
    if "status" in filters:
        appointments = appointments.filter(status=filters["status"])
    if "start" in filters:
        appointments = appointments.filter(start__gte=filters["start"])
    if "end" in filters:
        appointments = appointments.filter(start__lt=filters["end"])
    if "practice" in filters:
        appointments = appointments.filter(practice__ods_code=filters["practice"].upper())
    if "clinician" in filters:
        appointments = appointments.filter(clinician_id=filters["clinician"])
    if "patient" in filters:
        appointments = appointments.filter(patient_id=filters["patient"])
    return appointments
