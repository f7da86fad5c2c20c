"""How the patient pages write times: the NHS style ("9am", "2:30pm", "midday"), in UK time."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from core.pages import PAGE_TIMEZONE
from core.templatetags.pages import nhs_time

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("wall_clock", "written"),
    [
        (dt.time(9, 0), "9am"),
        (dt.time(14, 30), "2:30pm"),
        (dt.time(12, 0), "midday"),
        (dt.time(0, 0), "midnight"),
        (dt.time(12, 5), "12:05pm"),
        (dt.time(0, 45), "12:45am"),
    ],
)
def test_times_are_written_the_nhs_way(wall_clock, written):
    at = dt.datetime.combine(dt.date(2027, 1, 15), wall_clock, tzinfo=LONDON)

    with timezone.override(PAGE_TIMEZONE):
        assert nhs_time(at) == written


def test_a_summer_time_is_written_in_uk_time_not_utc():
    at = dt.datetime(2027, 7, 1, 8, 0, tzinfo=dt.UTC)  # 9am in London (BST)

    with timezone.override(PAGE_TIMEZONE):
        assert nhs_time(at) == "9am"
