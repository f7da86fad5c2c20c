"""The UK date and time formats (config/formats/en_GB), for text built in Python."""

import datetime as dt

from django.utils import formats, timezone


def uk_datetime(value: dt.datetime | None) -> str:
    """ "Mon 30 Nov 2026, 14:30", in the current time zone (UK time in the admin)."""
    if value is None:
        return "-"
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def uk_date(value: dt.date | None) -> str:
    """ "9 Jan 1989"."""
    return "-" if value is None else formats.date_format(value, "DATE_FORMAT")
