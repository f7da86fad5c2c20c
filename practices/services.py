"""State changes for practices: turning weekly templates into sessions, and sessions into slots."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .appointment_types import COMMON, DEFAULT_MAPPING
from .models import Closure, Practice, Session, SessionTemplate, Slot, SlotStatus, SlotType
from .signals import slots_released, slots_withdrawn


def ensure_default_slot_types(*, practice: Practice) -> None:
    """Give a practice the common slot types (routine, urgent, follow-up), already mapped to
    their national categories, unless it has them."""
    SlotType.objects.bulk_create(
        [
            SlotType(practice=practice, code=code, name=COMMON[code], **mapping)
            for code, mapping in DEFAULT_MAPPING.items()
        ],
        ignore_conflicts=True,
    )


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


class _PeriodsByDay:
    """A clinician's periods filed under each UTC day they touch, so checking a new slot
    looks at that day's periods only (a batch holds weeks of one clinician's sessions)."""

    def __init__(self) -> None:
        self._by_day: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)

    @staticmethod
    def _days(start: dt.datetime, end: dt.datetime) -> Iterator[dt.date]:
        day = start.astimezone(dt.UTC).date()
        last = (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
        while day <= last:
            yield day
            day += dt.timedelta(days=1)

    def add(self, start: dt.datetime, end: dt.datetime) -> None:
        for day in self._days(start, end):
            self._by_day[day].append((start, end))

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return any(_overlaps_any(start, end, self._by_day[day]) for day in self._days(start, end))


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


SESSIONS_PER_BATCH = 500


def cut_sessions(sessions: QuerySet[Session]) -> int:
    """Cut every not-yet-cut session in ``sessions`` into slots; return how many were made.

    Skips practice closures and periods the clinician already has a slot in, so it is
    idempotent. Works in batches, one transaction each, with a bounded number of queries per
    batch (memory stays flat however many sessions there are). Batches are claimed with
    ``FOR UPDATE SKIP LOCKED``, so two generators running at once cut disjoint sessions.
    """
    created = 0
    while True:
        with transaction.atomic():
            batch = list(
                Session.objects.filter(
                    pk__in=sessions.values("pk"), slots_generated_at__isnull=True
                )
                .select_for_update(skip_locked=True)
                .order_by("start", "pk")[:SESSIONS_PER_BATCH]
            )
            if not batch:
                return created
            created += _cut_batch(batch)


def _cut_batch(batch: list[Session]) -> int:
    window_start = min(s.start for s in batch)
    window_end = max(s.end for s in batch)
    closures: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for practice_id, start, end in Closure.objects.filter(
        practice_id__in={s.practice_id for s in batch}, start__lt=window_end, end__gt=window_start
    ).values_list("practice_id", "start", "end"):
        closures[practice_id].append((start, end))
    taken: dict[UUID, _PeriodsByDay] = defaultdict(_PeriodsByDay)
    for clinician_id, start, end in Slot.objects.filter(
        clinician_id__in={s.clinician_id for s in batch}, start__lt=window_end, end__gt=window_start
    ).values_list("clinician_id", "start", "end"):
        taken[clinician_id].add(start, end)

    new_slots = []
    for session in batch:
        busy = taken[session.clinician_id]
        for start, end in slot_periods(
            start=session.start, end=session.end, minutes=session.slot_minutes
        ):
            if _overlaps_any(start, end, closures[session.practice_id]) or busy.overlaps(
                start, end
            ):
                continue
            busy.add(start, end)  # two sessions of one clinician may overlap each other
            new_slots.append(
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
            )
    Slot.objects.bulk_create(new_slots, batch_size=2000)
    Session.objects.filter(pk__in=[s.pk for s in batch]).update(slots_generated_at=timezone.now())
    slots_released.send(Slot, slot_ids=[slot.pk for slot in new_slots if slot.online_bookable])
    return len(new_slots)


def generate_session_slots(*, session: Session) -> int:
    """Cut one session into slots (nothing if it was cut already)."""
    return cut_sessions(Session.objects.filter(pk=session.pk))


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
    slots_created = cut_sessions(pending)
    return GenerationResult(sessions_created=sessions_created, slots_created=slots_created)


SLOT_NOT_FREE = "Only a free slot can be blocked."
SLOT_NOT_BLOCKED = "Only a blocked slot can be released."


@transaction.atomic
def set_slots_blocked(*, slots: QuerySet[Slot], blocked: bool) -> tuple[int, int]:
    """Block free slots (or release blocked ones); returns (changed, skipped).

    A booked slot is never touched: blocking it would strand its appointment.
    """
    # Lock first, so a booking racing with the block either lands before it (and the slot is
    # skipped as booked) or finds the slot blocked.
    # A slot held for a waiting-list offer is free to block: its offers end.
    wanted_from = {SlotStatus.FREE, SlotStatus.HELD} if blocked else {SlotStatus.BLOCKED}
    locked = list(
        Slot.objects.filter(pk__in=slots.values("pk"))
        .select_for_update()
        # In id order, as every booking command locks slots: no deadlock with a booking or a
        # cancellation of several slots.
        .order_by("pk")
        .values_list("pk", "status")
    )
    eligible = [pk for pk, status in locked if status in wanted_from]
    if blocked:
        Slot.objects.filter(pk__in=eligible).update(status=SlotStatus.BLOCKED)
        held = [pk for pk, status in locked if status == SlotStatus.HELD]
        if held:
            slots_withdrawn.send(Slot, slot_ids=held)
    else:
        # Released now: the report's demand figures count from here.
        Slot.objects.filter(pk__in=eligible).update(
            status=SlotStatus.FREE, released_at=timezone.now()
        )
        slots_released.send(Slot, slot_ids=eligible)
    return len(eligible), len(locked) - len(eligible)


@transaction.atomic
def copy_sessions(*, sessions: QuerySet[Session], days: int = 7) -> int:
    """Copy sessions ``days`` later (a week by default), at the same local times.

    A copy that would overlap a session the clinician already has that day is skipped.
    """
    copies = []
    for session in sessions.select_related("practice"):
        tz = session.practice.tz
        day = session.date + dt.timedelta(days=days)
        local_start, local_end = session.start.astimezone(tz), session.end.astimezone(tz)
        start = local_to_utc(day, local_start.time(), tz)
        # The same wall-clock end, on the day after ``day`` for a session that runs past
        # midnight.
        end = local_to_utc(day + (local_end.date() - local_start.date()), local_end.time(), tz)
        clash = Session.objects.filter(
            clinician_id=session.clinician_id, start__lt=end, end__gt=start
        )
        if clash.exists():
            continue
        copies.append(
            Session(
                practice_id=session.practice_id,
                clinician_id=session.clinician_id,
                date=day,
                start=start,
                end=end,
                slot_minutes=session.slot_minutes,
                slot_type=session.slot_type,
                channel=session.channel,
                online_bookable=session.online_bookable,
            )
        )
    Session.objects.bulk_create(copies)
    return len(copies)
