"""Reads that span models: the slot to book at a time, free alternatives, the appointment list."""

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.utils import timezone

from accounts.models import User
from core.exceptions import Conflict, NotFound, RuleViolation
from practices.models import Practice, Slot, slot_type_name

from ..models import Appointment, AppointmentQuerySet
from .rules import NO_FREE_SLOT, PRACTICE_NOT_FOUND

ALTERNATIVES_SHOWN = 5
# The alternatives are drawn from this many of the nearest free slots, so that the losers of
# a race (the 8am rush) are not all sent to the same five, to lose again. 30 left a herd of
# 200 patients for 93 slots (bench/rush.py) with the day's last slots never suggested and
# 94.6% booked; 100 spreads them over a whole day of a busy practice.
ALTERNATIVES_POOL = 100


def free_alternatives(
    *,
    user: User,
    practice: Practice,
    after: dt.datetime,
    appointment_type: str | None,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """A few free slots near the one asked for that ``user`` could book instead, for a 409
    answer: a random few of the nearest ones, soonest first."""
    slots = Slot.objects.bookable_by(user, practice, now=now).filter(start__gte=max(after, now))
    if appointment_type:
        slots = slots.filter(slot_type=appointment_type)
    # Rows, not models: a 409 is the commonest answer of the rush, and a hundred models cost.
    nearest = list(
        slots.order_by("start", "id").values(
            "id", "start", "end", "slot_type", "channel", "clinician_id", "clinician__display_name"
        )[:ALTERNATIVES_POOL]
    )
    chosen = sorted(
        _spread.sample(nearest, min(ALTERNATIVES_SHOWN, len(nearest))),
        key=lambda slot: (slot["start"], str(slot["id"])),
    )
    return [
        {
            "slot_id": str(slot["id"]),
            "start": slot["start"].isoformat(),
            "end": slot["end"].isoformat(),
            "appointment_type": slot["slot_type"],
            "channel": slot["channel"],
            "clinician": {"id": str(slot["clinician_id"]), "name": slot["clinician__display_name"]},
        }
        for slot in chosen
    ]


# Not a secret: only which free slots a 409 suggests.
_spread = random.Random()  # noqa: S311


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


WINDOW_BACKWARDS = "to_time must be after from_time."
WINDOW_WITHOUT_DAY = "Give the day the times are on."


def wish_window(
    practice: Practice, wish: Any, *, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime | None]:
    """The period a ``SlotWish`` asks about, in UTC: a day at the practice (between its
    ``from_time`` and ``to_time``, if given), or from now on (``end`` None: the booking window
    bounds it)."""
    if wish.day is None:
        if wish.from_time is not None or wish.to_time is not None:
            raise RuleViolation(
                WINDOW_WITHOUT_DAY, code="window_without_day", errors={"day": [WINDOW_WITHOUT_DAY]}
            )
        return now, None
    tz = practice.tz
    start = dt.datetime.combine(wish.day, wish.from_time or dt.time.min, tzinfo=tz)
    if wish.to_time is not None:
        end = dt.datetime.combine(wish.day, wish.to_time, tzinfo=tz)
    elif wish.day < dt.date.max:
        end = dt.datetime.combine(wish.day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    else:  # the calendar's last day: nothing is bookable then anyway
        end = dt.datetime.max.replace(tzinfo=tz)
    if end <= start:
        raise RuleViolation(
            WINDOW_BACKWARDS, code="window_backwards", errors={"to_time": [WINDOW_BACKWARDS]}
        )
    return max(start, now), end
