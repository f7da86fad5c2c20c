"""State changes for practices: turning weekly templates into sessions, and sessions into slots."""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from .models import Closure, Practice, Session, SessionTemplate, Slot


def local_to_utc(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant a wall-clock time happens at the practice.

    On the spring clock change a time in the skipped hour (01:00-01:59 in London) is read with
    the offset in force before the change, i.e. one hour later on the new clock; on the autumn
    change an ambiguous time means its first occurrence. Sessions in those hours are rare, but
    the result is always a real, unique instant.
    """
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def slot_periods(
    *, start: dt.datetime, end: dt.datetime, minutes: int
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Consecutive periods of ``minutes`` from ``start``, all ending by ``end``.

    Walks in real (UTC) time, so a session spanning a clock change gets exactly as many slots as
    fit in the time that really passes.
    """
    step = dt.timedelta(minutes=minutes)
    cursor = start
    while cursor + step <= end:
        yield cursor, cursor + step
        cursor += step


def _overlaps_any(
    start: dt.datetime, end: dt.datetime, periods: Iterable[tuple[dt.datetime, dt.datetime]]
) -> bool:
    return any(start < other_end and end > other_start for other_start, other_end in periods)


@dataclass(frozen=True)
class GenerationResult:
    sessions_created: int
    slots_created: int


def generate_sessions(*, practice: Practice | None = None, start_date: dt.date, weeks: int) -> int:
    """Create the sessions that weekly templates call for, from ``start_date`` for ``weeks``.

    Idempotent: a template's session for a day is created once (unique constraint), and days
    already generated are skipped.
    """
    end_date = start_date + dt.timedelta(weeks=weeks)
    templates = SessionTemplate.objects.filter(
        is_active=True, valid_from__lt=end_date
    ).select_related("practice")
    if practice is not None:
        templates = templates.filter(practice=practice)
    existing = set(
        Session.objects.filter(
            template__in=templates, date__gte=start_date, date__lt=end_date
        ).values_list("template_id", "date")
    )
    new_sessions = []
    for template in templates:
        day = start_date + dt.timedelta(days=(template.weekday - start_date.weekday()) % 7)
        while day < end_date:
            in_validity = template.valid_from <= day and (
                template.valid_until is None or day <= template.valid_until
            )
            if in_validity and (template.pk, day) not in existing:
                tz = template.practice.tz
                new_sessions.append(
                    Session(
                        practice_id=template.practice_id,
                        clinician_id=template.clinician_id,
                        template=template,
                        date=day,
                        start=local_to_utc(day, template.start_time, tz),
                        end=local_to_utc(day, template.end_time, tz),
                        slot_minutes=template.slot_minutes,
                        slot_type=template.slot_type,
                        channel=template.channel,
                        online_bookable=template.online_bookable,
                    )
                )
            day += dt.timedelta(weeks=1)
    Session.objects.bulk_create(new_sessions, batch_size=1000)
    return len(new_sessions)


@transaction.atomic
def generate_session_slots(*, session: Session) -> int:
    """Cut one session into slots, skipping practice closures and periods already taken.

    Idempotent: running it again creates nothing new, because each candidate slot that
    overlaps an existing slot of the clinician is skipped (the database would refuse it).
    """
    # Lock the session so two generators running at once do not both cut it.
    session = Session.objects.select_for_update().get(pk=session.pk)
    closures = list(
        Closure.objects.filter(
            practice_id=session.practice_id, start__lt=session.end, end__gt=session.start
        ).values_list("start", "end")
    )
    taken = list(
        Slot.objects.filter(
            clinician_id=session.clinician_id, start__lt=session.end, end__gt=session.start
        ).values_list("start", "end")
    )
    new_slots = [
        Slot(
            practice_id=session.practice_id,
            clinician_id=session.clinician_id,
            session=session,
            start=start,
            end=end,
            slot_type=session.slot_type,
            channel=session.channel,
            online_bookable=session.online_bookable,
        )
        for start, end in slot_periods(
            start=session.start, end=session.end, minutes=session.slot_minutes
        )
        if not _overlaps_any(start, end, closures) and not _overlaps_any(start, end, taken)
    ]
    Slot.objects.bulk_create(new_slots, batch_size=1000)
    session.slots_generated_at = timezone.now()
    session.save(update_fields=["slots_generated_at"])
    return len(new_slots)


def generate_slots(
    *, weeks: int, practice: Practice | None = None, today: dt.date | None = None
) -> GenerationResult:
    """Sessions from templates for the next ``weeks``, then slots for every session not yet cut."""
    today = today or timezone.localdate()
    sessions_created = generate_sessions(practice=practice, start_date=today, weeks=weeks)
    pending = Session.objects.filter(
        slots_generated_at__isnull=True,
        date__gte=today,
        date__lt=today + dt.timedelta(weeks=weeks),
    )
    if practice is not None:
        pending = pending.filter(practice=practice)
    slots_created = sum(generate_session_slots(session=session) for session in pending.iterator())
    return GenerationResult(sessions_created=sessions_created, slots_created=slots_created)
