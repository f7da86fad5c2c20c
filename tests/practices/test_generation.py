"""Weekly templates -> sessions -> slots, in local time, stored in UTC."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from practices.models import Session, Slot
from practices.services import copy_sessions, generate_session_slots, generate_slots
from tests.factories import ClosureFactory, SessionFactory, SessionTemplateFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
# 2026's clock changes in the UK: the last Sundays of March and October.
SPRING_FORWARD = dt.date(2026, 3, 29)
FALL_BACK = dt.date(2026, 10, 25)


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def local_starts(slots):
    return [s.start.astimezone(LONDON).strftime("%H:%M") for s in slots]


def test_a_template_makes_one_session_per_matching_weekday(riverside):
    SessionTemplateFactory(practice=riverside, weekday=0)  # Mondays

    generate_slots(weeks=2, today=dt.date(2026, 1, 1))  # a Thursday

    assert list(Session.objects.values_list("date", flat=True)) == [
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 12),
    ]


def test_a_session_is_cut_into_back_to_back_slots(riverside):
    template = SessionTemplateFactory(
        practice=riverside, weekday=0, start_time=dt.time(9), end_time=dt.time(10)
    )

    result = generate_slots(weeks=1, today=dt.date(2026, 1, 5))

    slots = list(Slot.objects.order_by("start"))
    assert result.slots_created == 6
    assert [s.start for s in slots] == [utc(2026, 1, 5, 9, 10 * i) for i in range(6)]
    assert all(s.end - s.start == dt.timedelta(minutes=10) for s in slots)
    assert {(s.clinician_id, s.practice_id, s.slot_type, s.status) for s in slots} == {
        (template.clinician_id, riverside.pk, "routine", "free")
    }


def test_slots_copy_type_channel_and_online_release_from_the_template(riverside):
    SessionTemplateFactory(
        practice=riverside,
        weekday=0,
        slot_type="urgent",
        channel="telephone",
        online_bookable=False,
    )

    generate_slots(weeks=1, today=dt.date(2026, 1, 5))

    assert set(Slot.objects.values_list("slot_type", "channel", "online_bookable")) == {
        ("urgent", "telephone", False)
    }


def test_a_slot_that_does_not_fit_whole_is_not_made(riverside):
    SessionTemplateFactory(
        practice=riverside,
        weekday=0,
        start_time=dt.time(9),
        end_time=dt.time(9, 25),
        slot_minutes=10,
    )

    generate_slots(weeks=1, today=dt.date(2026, 1, 5))

    assert Slot.objects.count() == 2


def test_generation_is_idempotent(riverside):
    SessionTemplateFactory(practice=riverside, weekday=0)
    first = generate_slots(weeks=3, today=dt.date(2026, 1, 5))

    second = generate_slots(weeks=3, today=dt.date(2026, 1, 5))

    assert (first.sessions_created, first.slots_created) == (3, 54)
    assert (second.sessions_created, second.slots_created) == (0, 0)
    assert Slot.objects.count() == 54


def test_recutting_a_session_creates_nothing_new(riverside):
    session = SessionFactory(practice=riverside, start=utc(2026, 1, 5, 9), end=utc(2026, 1, 5, 10))
    generate_session_slots(session=session)

    assert generate_session_slots(session=session) == 0
    assert Slot.objects.count() == 6


def test_a_template_is_used_only_inside_its_validity(riverside):
    SessionTemplateFactory(
        practice=riverside,
        weekday=0,
        valid_from=dt.date(2026, 1, 12),
        valid_until=dt.date(2026, 1, 19),
    )

    generate_slots(weeks=4, today=dt.date(2026, 1, 5))

    assert sorted(Session.objects.values_list("date", flat=True)) == [
        dt.date(2026, 1, 12),
        dt.date(2026, 1, 19),
    ]


def test_inactive_templates_make_nothing(riverside):
    SessionTemplateFactory(practice=riverside, weekday=0, is_active=False)

    assert generate_slots(weeks=2, today=dt.date(2026, 1, 5)).sessions_created == 0


def test_no_slot_is_made_during_a_closure(riverside):
    SessionTemplateFactory(
        practice=riverside, weekday=0, start_time=dt.time(9), end_time=dt.time(12)
    )
    # A training afternoon that starts at 10:30.
    ClosureFactory(practice=riverside, start=utc(2026, 1, 5, 10, 30), end=utc(2026, 1, 5, 17))

    generate_slots(weeks=1, today=dt.date(2026, 1, 5))

    assert Slot.objects.count() == 9
    assert max(Slot.objects.values_list("end", flat=True)) == utc(2026, 1, 5, 10, 30)


def test_a_bank_holiday_closure_removes_the_whole_day(riverside):
    SessionTemplateFactory(practice=riverside, weekday=0)
    ClosureFactory(
        practice=riverside,
        start=utc(2026, 5, 4, 0),
        end=utc(2026, 5, 5, 0),
        reason="Early May bank holiday",
    )

    generate_slots(weeks=2, today=dt.date(2026, 5, 4))

    assert {s.start.date() for s in Slot.objects.all()} == {dt.date(2026, 5, 11)}


def test_summer_time_sessions_are_stored_an_hour_earlier_in_utc(riverside):
    SessionTemplateFactory(
        practice=riverside, weekday=0, start_time=dt.time(9), end_time=dt.time(9, 30)
    )

    generate_slots(weeks=1, today=dt.date(2026, 6, 1))

    assert [s.start for s in Slot.objects.order_by("start")] == [
        utc(2026, 6, 1, 8, 0),
        utc(2026, 6, 1, 8, 10),
        utc(2026, 6, 1, 8, 20),
    ]


@pytest.mark.parametrize(
    ("day", "expected_utc_hour"),
    [
        (SPRING_FORWARD - dt.timedelta(days=1), 9),  # Saturday: still GMT
        (SPRING_FORWARD, 8),  # Sunday: BST from 01:00 GMT
        (FALL_BACK - dt.timedelta(days=1), 8),  # Saturday: still BST
        (FALL_BACK, 9),  # Sunday: GMT from 01:00 GMT
    ],
)
def test_a_morning_session_on_a_clock_change_weekend_starts_at_nine_local(
    riverside, day, expected_utc_hour
):
    SessionTemplateFactory(
        practice=riverside, weekday=day.weekday(), start_time=dt.time(9), end_time=dt.time(10)
    )

    generate_slots(weeks=1, today=day)

    slots = list(Slot.objects.order_by("start"))
    assert slots[0].start == utc(day.year, day.month, day.day, expected_utc_hour)
    assert local_starts(slots) == ["09:00", "09:10", "09:20", "09:30", "09:40", "09:50"]


def test_a_night_session_across_the_spring_change_skips_the_missing_hour(riverside):
    # 00:00-04:00 on the clock is only three real hours when the clocks go forward.
    SessionTemplateFactory(
        practice=riverside, weekday=6, start_time=dt.time(0), end_time=dt.time(4), slot_minutes=30
    )

    generate_slots(weeks=1, today=SPRING_FORWARD)

    slots = list(Slot.objects.order_by("start"))
    assert len(slots) == 6
    assert local_starts(slots) == ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]
    assert all(b.start == a.end for a, b in zip(slots, slots[1:], strict=False))


def test_a_night_session_across_the_autumn_change_covers_the_repeated_hour(riverside):
    # 00:00-04:00 on the clock is five real hours when the clocks go back.
    SessionTemplateFactory(
        practice=riverside, weekday=6, start_time=dt.time(0), end_time=dt.time(4), slot_minutes=30
    )

    generate_slots(weeks=1, today=FALL_BACK)

    slots = list(Slot.objects.order_by("start"))
    assert len(slots) == 10
    assert local_starts(slots) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "01:00",
        "01:30",
        "02:00",
        "02:30",
        "03:00",
        "03:30",
    ]
    assert len({s.start for s in slots}) == 10


def test_the_command_generates_and_reports(riverside, capsys):
    SessionTemplateFactory(practice=riverside, weekday=0)
    SessionTemplateFactory(practice=riverside, weekday=3)

    call_command("generate_slots", "--weeks", "2")
    call_command("generate_slots", "--weeks", "2")

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Created 4 sessions and 72 slots for the next 2 weeks."
    assert out[1] == "Created 0 sessions and 0 slots for the next 2 weeks."


def test_the_command_can_be_limited_to_one_practice(riverside, hilltop):
    SessionTemplateFactory(practice=riverside, weekday=0)
    SessionTemplateFactory(practice=hilltop, weekday=0)

    call_command("generate_slots", "--weeks", "1", "--practice", "a81001")

    assert set(Slot.objects.values_list("practice__ods_code", flat=True)) == {"A81001"}


@pytest.mark.parametrize("args", [["--weeks", "0"], ["--weeks", "99"], ["--practice", "NOPE1"]])
def test_the_command_refuses_bad_arguments(db, args):
    with pytest.raises(CommandError):
        call_command("generate_slots", *args)


def test_a_session_running_past_midnight_is_copied_whole_to_the_next_week(riverside):
    late = dt.datetime(2026, 12, 7, 23, 0, tzinfo=riverside.tz)
    session = SessionFactory(
        practice=riverside, start=late, end=late + dt.timedelta(hours=1), date=late.date()
    )

    assert copy_sessions(sessions=Session.objects.filter(pk=session.pk)) == 1

    copy = Session.objects.exclude(pk=session.pk).get()
    assert (copy.start, copy.end) == (
        session.start + dt.timedelta(days=7),
        session.end + dt.timedelta(days=7),
    )


def test_a_night_session_across_the_clock_change_keeps_its_wall_clock_times(riverside):
    # Sat 21 March 2026 22:00 to Sun 06:00 (GMT); a week later the clocks have gone forward.
    start = dt.datetime(2026, 3, 21, 22, 0, tzinfo=riverside.tz)
    end = dt.datetime(2026, 3, 22, 6, 0, tzinfo=riverside.tz)
    session = SessionFactory(practice=riverside, start=start, end=end, date=start.date())

    copy_sessions(sessions=Session.objects.filter(pk=session.pk))

    copy = Session.objects.exclude(pk=session.pk).get()
    local = [t.astimezone(riverside.tz) for t in (copy.start, copy.end)]
    assert [(t.day, t.hour) for t in local] == [(28, 22), (29, 6)]
