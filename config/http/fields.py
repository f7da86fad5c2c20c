"""Query and body fields shared by every app's API."""

import datetime as dt
import re
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# In a query string "+01:00" arrives as " 01:00" unless the client encoded the plus sign.
_UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time that must carry its offset (``Z`` or ``+01:00``)."""

    default_error_messages = {
        "naive": "Include a UTC offset, e.g. 2025-03-30T09:00:00+01:00 or 2025-03-30T08:00:00Z.",
        "invalid": "Enter an ISO 8601 date-time with an offset, e.g. 2025-03-30T09:00:00Z.",
    }

    def to_internal_value(self, value: Any) -> dt.datetime:
        if not isinstance(value, str):
            self.fail("invalid")
        text = _UNENCODED_PLUS.sub(r"\1+\2", value.strip())
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail("invalid")
        if parsed.tzinfo is None:
            self.fail("naive")
        return parsed.astimezone(dt.UTC)


class DateOrAwareDateTimeField(AwareDateTimeField):
    """A date (``2025-03-30``) or a date-time with offset; the caller decides what a date means."""

    default_error_messages = {
        "invalid": "Enter a date (2025-03-30) or an ISO 8601 date-time with an offset.",
    }

    def to_internal_value(self, value: Any) -> dt.date | dt.datetime:  # type: ignore[override]
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = parse_date(value.strip())
            except ValueError:
                day = None
            if day is None:
                self.fail("invalid")
            return day
        return super().to_internal_value(value)


class StrictSerializer(serializers.Serializer):
    """Rejects fields it does not know instead of silently ignoring them.

    A client that sends ``role`` or another privileged field learns at once that it was not
    applied, rather than believing it was.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("This field cannot be set here.")] for name in unknown}
                )
        return super().to_internal_value(data)
