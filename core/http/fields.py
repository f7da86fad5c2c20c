"""Query and body fields shared by every app's API."""

import datetime as dt
import re
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# In a query string "+01:00" arrives as " 01:00" unless the client encoded the plus sign.
_UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time that must carry its offset (``Z`` or ``+01:00``)."""

    default_error_messages = {
        "naive": "Include a UTC offset, e.g. 2025-03-30T09:00:00+01:00 or 2025-03-30T08:00:00Z.",
        "invalid": "Enter an ISO 8601 date-time with an offset, e.g. 2025-03-30T09:00:00Z.",
        "out_of_range": "Enter a date-time between the years 1 and 9999 in UTC.",
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
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is the year 0 in UTC
            self.fail("out_of_range")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date"},
            {"type": "string", "format": "date-time"},
        ]
    }
)
class DateOrAwareDateTimeField(AwareDateTimeField):
    """A date (``2025-03-30``) or a date-time with offset; the caller decides what a date means."""

    default_error_messages = {
        "invalid": "Enter a date (2025-03-30) or an ISO 8601 date-time with an offset.",
    }

    def to_internal_value(self, value: Any) -> dt.date | dt.datetime:  # type: ignore[override]  # a date too, unlike DateTimeField
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                day = parse_date(value.strip())
            except ValueError:
                day = None
            if day is None:
                self.fail("invalid")
            return day
        return super().to_internal_value(value)


_DATETIME = serializers.DateTimeField()


def datetime_as_serialized(value: dt.datetime | None) -> str | None:
    """``value`` as a DateTimeField of a serializer renders it (None stays None): for answers
    built from rows, which must read exactly as their serializers' would."""
    return None if value is None else _DATETIME.to_representation(value)


def query_data(request: Any) -> dict[str, str]:
    """The query string as a plain dict (the last value of a repeated name).

    A QueryDict makes DRF treat the input as an HTML form, where an empty optional field counts
    as absent: ``?status=`` would then list everything instead of being refused.
    """
    return {name: request.query_params[name] for name in request.query_params}


class BoundedCharField(serializers.CharField):
    """A CharField whose ``max_length`` holds for the text as sent, as the schema's
    ``maxLength`` says, before surrounding whitespace is trimmed: otherwise 600 characters
    ending in 100 spaces pass a limit of 500 (Schemathesis found a comment that did)."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().run_validation(data)


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
            wrong_type = {
                name: [_("Expected {kind}.").format(kind=kind)]
                for name, value in data.items()
                if value is not None
                and (kind := _json_type(self.fields[name]))
                and not isinstance(value, _JSON_TYPES[kind])
            }
            if wrong_type:
                raise serializers.ValidationError(wrong_type)
        return super().to_internal_value(data)


# DRF coerces 0 into "0" and "yes" into True; a JSON API should take the types it publishes.
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {"a string": str, "true or false": bool}


def _json_type(field: serializers.Field) -> str | None:
    if isinstance(field, serializers.BooleanField):
        return "true or false"
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.UUIDField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.RelatedField,
    ):
        return "a string"
    return None


# OpenAPI's "time" format is RFC 3339's full-time, which needs an offset; a practice's opening
# hours are wall-clock times in its own timezone, so they are published as a pattern instead.
@extend_schema_field(
    {
        "type": "string",
        "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
        "example": "08:00:00",
        "description": "Local time at the practice (HH:MM:SS)",
    }
)
class WallClockTimeField(serializers.TimeField):
    pass
