"""The practice report: what NHS England's GP appointment data (GPAD) asks of a practice, and
what its manager needs to run it, computed in SQL.

Every figure is an aggregate over indexed rows (slots and appointments by practice and start),
grouped in the database; nothing loops over appointments in Python. The page costs a fixed
number of statements whatever the period or the number of practices (pinned by a test):

1. slots per group and day (what was offered, and each day's slots for the 8am picture),
2. appointments per group and whole UK days from booking to appointment (booked, attended,
   missed, cancelled by whom, as conditional counts in one pass; the days are folded into
   GPAD's bands here, worked out once per row rather than once per band),
3. slots per day booked within the first hour after release (the 8am picture), from the
   appointments' side: a join, not a subquery per slot,
4. the waiting list: offers made in the period, how many slots they refilled, how many ran
   out, and the median time from a slot being freed to its rebooking from the list,
5. appointments booked through GP Connect, by booking organisation.

Days and weeks are UK days (Europe/London), as staff read them.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest, TruncDate, TruncWeek

from accounts.admin_site import STAFF_TIMEZONE
from core.formats import uk_date
from practices import gpad
from practices.models import Practice, Profession, Slot, SlotStatus

from .models import HOLDS_SLOT, Appointment, AppointmentStatus, CancelledBy, WaitingListOffer

DEFAULT_WEEKS = 4
LONGEST_PERIOD = dt.timedelta(days=366)
# The days a report may cover: nothing was booked here before 2000, nothing far ahead.
EARLIEST = dt.date(2000, 1, 1)
FURTHEST_AHEAD = dt.timedelta(days=2 * 366)
RELEASE_WINDOW = dt.timedelta(hours=1)

GROUPS = {
    "week": "Week",
    "clinician": "Clinician",
    "profession": "Profession",
    "category": "National category",
    "mode": "Mode",
}

# GPAD's "time between booking and appointment" bands, in whole UK days.
BANDS: list[tuple[str, int, int | None]] = [
    ("Same day", 0, 0),
    ("1 day", 1, 1),
    ("2 to 7 days", 2, 7),
    ("8 to 14 days", 8, 14),
    ("15 to 21 days", 15, 21),
    ("22 to 28 days", 22, 28),
    ("More than 28 days", 29, None),
    # GPAD's own name for a booking time after the start (only bulk-loaded data has them).
    ("Unknown / data quality", -1_000_000, -1),
]

ATTENDED = [AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED]


@dataclass(frozen=True)
class Period:
    """From ``first`` to ``last`` (both UK dates, inclusive)."""

    first: dt.date
    last: dt.date

    @classmethod
    def default(cls, today: dt.date) -> "Period":
        """The last four whole weeks up to yesterday."""
        return cls(first=today - dt.timedelta(weeks=DEFAULT_WEEKS), last=today - dt.timedelta(1))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time.min, STAFF_TIMEZONE)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min, STAFF_TIMEZONE)

    def __str__(self) -> str:
        return f"{uk_date(self.first)} to {uk_date(self.last)}"


@dataclass
class Row:
    """One group's figures."""

    key: Any
    label: str
    offered: int = 0
    booked: int = 0
    attended: int = 0
    did_not_attend: int = 0
    cancelled_by_patient: int = 0
    cancelled_by_practice: int = 0

    @property
    def utilisation(self) -> float | None:
        """Booked / offered."""
        return self.booked / self.offered if self.offered else None

    @property
    def dna_rate(self) -> float | None:
        """Did not attend / (attended + did not attend): of those who were expected."""
        seen = self.attended + self.did_not_attend
        return self.did_not_attend / seen if seen else None


@dataclass(frozen=True)
class DemandDay:
    day: dt.date
    slots: int
    gone_in_first_hour: int

    @property
    def share(self) -> float | None:
        return self.gone_in_first_hour / self.slots if self.slots else None


@dataclass(frozen=True)
class WaitingListFigures:
    """Offers made in the period and what came of them."""

    offers: int = 0
    slots_offered: int = 0
    refilled: int = 0
    expired: int = 0
    median_to_rebook: dt.timedelta | None = None

    @property
    def refill_rate(self) -> float | None:
        """Slots refilled / slots offered."""
        return self.refilled / self.slots_offered if self.slots_offered else None


@dataclass(frozen=True)
class OrganisationFigures:
    """Appointments one organisation booked through GP Connect (by its ODS code, under the
    name its bookings gave)."""

    ods_code: str
    name: str
    booked: int
    attended: int
    did_not_attend: int
    cancelled: int


@dataclass
class Report:
    period: Period
    group_by: str
    rows: list[Row]
    total: Row
    demand: list[DemandDay]
    bands: list[int]
    waiting_list: WaitingListFigures
    gp_connect: list[OrganisationFigures]


class _UkDaysBetween(Func):
    """Whole UK calendar days from the second timestamp to the first."""

    output_field = IntegerField()
    arg_joiner = f") AT TIME ZONE '{STAFF_TIMEZONE.key}')::date - (("
    template = f"(((%(expressions)s) AT TIME ZONE '{STAFF_TIMEZONE.key}')::date)"


class _Median(Aggregate):
    """PostgreSQL's continuous median (of intervals, here)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


class _Days(Func):
    """``n`` days as an interval (a practice's booking horizon)."""

    template = "make_interval(days => %(expressions)s)"
    output_field = DurationField()


def _group_expression(group_by: str, *, for_slots: bool) -> Any:
    if group_by == "week":
        return TruncWeek("start", tzinfo=STAFF_TIMEZONE)
    if group_by == "clinician":
        return F("clinician_id")
    if group_by == "profession":
        return F("clinician__profession") if for_slots else F("clinician_profession")
    if group_by == "category":
        return F("kind__national_category")
    if group_by == "mode":
        # What a slot offers is the mode it would be booked with (gpad.mode_for, in SQL); an
        # appointment records its own.
        if for_slots:
            return gpad.mode_expression(channel="channel", default_mode="kind__default_mode")
        return F("mode")
    raise ValueError(f"Unknown grouping {group_by!r}")


def _label(group_by: str, key: Any, clinicians: dict[Any, str]) -> str:
    if group_by == "week":
        return f"Week of {uk_date(key.date() if isinstance(key, dt.datetime) else key)}"
    if group_by == "clinician":
        return clinicians.get(key, "Unknown clinician")
    if group_by == "profession":
        return Profession(key).label if key in Profession.values else "Not recorded"
    if group_by == "category":
        return gpad.category_label(key or "")
    return gpad.Mode(key).label if key in gpad.Mode.values else "Unknown"


def practice_report(
    *, practices: QuerySet[Practice], period: Period, group_by: str = "week"
) -> Report:
    """The figures for ``practices`` over ``period``, grouped by ``group_by`` (see GROUPS)."""
    slots = Slot.objects.filter(
        practice__in=practices, start__gte=period.start, start__lt=period.end
    ).exclude(status=SlotStatus.BLOCKED)
    appointments = Appointment.objects.filter(
        practice__in=practices, start__gte=period.start, start__lt=period.end
    )
    names = ["clinician__display_name"] if group_by == "clinician" else []
    clinicians: dict[Any, str] = {}
    rows: dict[Any, Row] = {}
    slots_per_day: dict[dt.date, int] = defaultdict(int)

    def row(item: dict[str, Any]) -> Row:
        key = item["group"]
        if group_by == "clinician":
            clinicians[key] = item["clinician__display_name"]
        if key not in rows:
            rows[key] = Row(key=key, label="")
        return rows[key]

    # 1. Slots by group and day: what was offered, and each day's slots for the 8am picture.
    for item in (
        slots.annotate(
            group=_group_expression(group_by, for_slots=True),
            day=TruncDate("start", tzinfo=STAFF_TIMEZONE),
        )
        .values("group", "day", *names)
        .annotate(n=Count("id"))
        .order_by()
    ):
        row(item).offered += item["n"]
        slots_per_day[item["day"]] += item["n"]

    # 2. Appointments by group and by whole days from booking to appointment: the outcomes,
    # and GPAD's bands (the day count worked out once a row, not once a band).
    bands = [0] * len(BANDS)
    for item in (
        appointments.annotate(
            group=_group_expression(group_by, for_slots=False),
            lead=_UkDaysBetween("start", "booked_at"),
        )
        .values("group", "lead", *names)
        .annotate(
            booked=Count("id", filter=HOLDS_SLOT),
            attended=Count("id", filter=Q(status__in=ATTENDED)),
            did_not_attend=Count("id", filter=Q(status=AppointmentStatus.DID_NOT_ATTEND)),
            cancelled_by_patient=Count(
                "id",
                filter=Q(status=AppointmentStatus.CANCELLED, cancelled_by=CancelledBy.PATIENT),
            ),
            cancelled_by_practice=Count(
                "id",
                filter=Q(status=AppointmentStatus.CANCELLED) & ~Q(cancelled_by=CancelledBy.PATIENT),
            ),
        )
        .order_by()
    ):
        target = row(item)
        for name in COUNTS[1:]:
            setattr(target, name, getattr(target, name) + item[name])
        bands[_band(item["lead"])] += item["booked"]

    for key, item in rows.items():
        item.label = _label(group_by, key, clinicians)
    ordered = sorted(
        rows.values(),
        key=lambda r: (r.key is None, r.key) if group_by == "week" else (r.label.lower(),),
    )
    # 3. The rush.
    gone = _gone_in_first_hour(appointments)
    return Report(
        period=period,
        group_by=group_by,
        rows=ordered,
        total=_total(ordered),
        demand=[
            DemandDay(day=day, slots=count, gone_in_first_hour=gone.get(day, 0))
            for day, count in sorted(slots_per_day.items())
        ],
        bands=bands,
        # 4. The waiting list.
        waiting_list=_waiting_list(practices=practices, period=period),
        # 5. GP Connect.
        gp_connect=_gp_connect(appointments),
    )


def _waiting_list(*, practices: QuerySet[Practice], period: Period) -> WaitingListFigures:
    """Offers made in ``period`` at ``practices``, in one aggregate."""
    claimed = Q(status=WaitingListOffer.Status.CLAIMED)
    figures = WaitingListOffer.objects.filter(
        slot__practice__in=practices, offered_at__gte=period.start, offered_at__lt=period.end
    ).aggregate(
        offers=Count("id"),
        slots_offered=Count("slot_id", distinct=True),
        refilled=Count("id", filter=claimed),
        expired=Count("id", filter=Q(status=WaitingListOffer.Status.EXPIRED)),
        median_to_rebook=_Median(
            ExpressionWrapper(
                F("appointment__booked_at") - F("vacancy__first_freed_at"),
                output_field=DurationField(),
            ),
            filter=claimed,
        ),
    )
    return WaitingListFigures(**figures)


def _gp_connect(appointments: QuerySet[Appointment]) -> list[OrganisationFigures]:
    """The period's appointments booked through GP Connect, grouped by booking organisation."""
    return [
        OrganisationFigures(**item)
        for item in appointments.exclude(booking_organisation_ods="")
        .values(ods_code=F("booking_organisation_ods"))
        .annotate(
            name=Max("booking_organisation_name"),
            booked=Count("id", filter=HOLDS_SLOT),
            attended=Count("id", filter=Q(status__in=ATTENDED)),
            did_not_attend=Count("id", filter=Q(status=AppointmentStatus.DID_NOT_ATTEND)),
            cancelled=Count("id", filter=Q(status=AppointmentStatus.CANCELLED)),
        )
        .order_by("ods_code")
    ]


COUNTS = (
    "offered",
    "booked",
    "attended",
    "did_not_attend",
    "cancelled_by_patient",
    "cancelled_by_practice",
)


def _band(lead: int) -> int:
    """Which of GPAD's bands ``lead`` whole days from booking to appointment fall in."""
    for index, (_, low, high) in enumerate(BANDS):
        if lead >= low and (high is None or lead <= high):
            return index
    raise AssertionError(f"no band for {lead} days")  # the bands cover every integer


def _total(rows: list[Row]) -> Row:
    total = Row(key=None, label="All")
    for item in rows:
        for name in COUNTS:
            setattr(total, name, getattr(total, name) + getattr(item, name))
    return total


def _gone_in_first_hour(appointments: QuerySet[Appointment]) -> dict[dt.date, int]:
    """For each day, how many of its slots were booked within the first hour after release:
    the 8am picture. A slot is released when it was put in the book (or unblocked), or when
    the practice's booking horizon reached it, whichever is later; one the practice booked
    before its release is not part of the rush."""
    released = Greatest(
        "slot__released_at",
        ExpressionWrapper(
            F("slot__start") - _Days(F("practice__booking_horizon_days")),
            output_field=DateTimeField(),
        ),
    )
    return {
        item["day"]: item["gone"]
        for item in appointments.annotate(
            day=TruncDate("start", tzinfo=STAFF_TIMEZONE), released=released
        )
        .filter(booked_at__gte=F("released"), booked_at__lte=F("released") + RELEASE_WINDOW)
        # As the day's count of slots: a slot since blocked is not counted on either side.
        .exclude(slot__status=SlotStatus.BLOCKED)
        .values("day")
        .annotate(gone=Count("slot_id", distinct=True))
        .order_by()
    }


def gpad_rows(*, practices: QuerySet[Practice], period: Period) -> Iterator[list[Any]]:
    """The CSV export in GPAD's shape: one row per practice, UK date, national category,
    mode, professional type and status, with its count. The values are mapped to GPAD's in
    the database and grouped there, so each combination is one row (arrived and completed
    are both "Attended"). Like GPAD, it holds care-related encounters (and unmapped types),
    not activities or administration. One statement, streamed."""
    yield ["practice_ods_code", "appointment_date", "national_category", "appointment_mode",
           "hcp_type", "appointment_status", "count"]  # fmt: skip
    status = Case(
        When(status__in=ATTENDED, then=Value("Attended")),
        When(status=AppointmentStatus.DID_NOT_ATTEND, then=Value("DNA")),
        When(status=AppointmentStatus.CANCELLED, then=Value("Cancelled")),
        default=Value("Booked"),
        output_field=CharField(),
    )
    columns = ["practice__ods_code", "day", "category", "gpad_mode", "hcp", "gpad_status"]
    rows = (
        Appointment.objects.filter(
            practice__in=practices, start__gte=period.start, start__lt=period.end
        )
        .exclude(kind__national_category__in=gpad.NOT_ENCOUNTERS)
        .annotate(
            day=TruncDate("start", tzinfo=STAFF_TIMEZONE),
            category=gpad.category_label_expression("kind__national_category"),
            gpad_mode=gpad.mode_label_expression("mode"),
            hcp=gpad.hcp_type_expression("clinician_profession"),
            gpad_status=status,
        )
        .values(*columns)
        .annotate(count=Count("id"))
        .order_by(*columns)
    )
    for item in rows.iterator(chunk_size=5000):
        yield [item["practice__ods_code"], item["day"].isoformat(), item["category"],
               item["gpad_mode"], item["hcp"], item["gpad_status"], item["count"]]  # fmt: skip
