"""Input and output shapes for /api/v1/practices/."""

import datetime as dt
from typing import TYPE_CHECKING, Any, TypedDict, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.http.fields import (
    BoundedCharField,
    DateOrAwareDateTimeField,
    WallClockTimeField,
    datetime_as_serialized,
)

from ..appointment_types import VOCABULARY, display_name, name_of
from ..models import Channel, Clinician, Closure, OpeningHours, Practice, Profession, Slot

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    class _UpcomingClosures(TypedDict):
        upcoming_closures: list[Closure]

    # A practice from PracticeViewSet's retrieve queryset, with its upcoming closures prefetched.
    PracticeWithClosures = WithAnnotations[Practice, _UpcomingClosures]

MAX_AVAILABILITY_DAYS = 14
RANGE_TOO_WIDE = f"The range may span at most {MAX_AVAILABILITY_DAYS} days."
RANGE_BACKWARDS = "The end must be after the start."
OUT_OF_RANGE = "Choose days between the years 1 and 9999."


class PracticeSerializer(serializers.ModelSerializer):
    address = serializers.CharField(read_only=True)

    class Meta:
        model = Practice
        fields = ["ods_code", "name", "address", "postcode", "phone"]


class OpeningHoursSerializer(serializers.ModelSerializer):
    opens = WallClockTimeField(read_only=True)
    closes = WallClockTimeField(read_only=True)

    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]


class ClosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Closure
        fields = ["start", "end", "reason"]


class BookingRulesSerializer(serializers.ModelSerializer):
    class Meta:
        model = Practice
        fields = [
            "booking_horizon_days",
            "min_notice_minutes",
            "cancellation_cutoff_minutes",
            "max_future_appointments",
            "registered_patients_only",
            "waiting_list_enabled",
            "offer_minutes",
            "max_waiting_entries",
        ]


class PracticeDetailSerializer(PracticeSerializer):
    opening_hours = OpeningHoursSerializer(many=True, read_only=True)
    closures = serializers.SerializerMethodField()
    booking_rules = BookingRulesSerializer(source="*", read_only=True)

    class Meta(PracticeSerializer.Meta):
        fields = [
            *PracticeSerializer.Meta.fields,
            "address_line_1",
            "address_line_2",
            "town",
            "email",
            "timezone",
            "opening_hours",
            "closures",
            "booking_rules",
        ]

    @extend_schema_field(ClosureSerializer(many=True))
    def get_closures(self, practice: "PracticeWithClosures") -> list[dict[str, Any]]:
        # Prefetched with only upcoming closures by the view. many=True makes a ListSerializer,
        # whose data is a list.
        return cast(
            "list[dict[str, Any]]", ClosureSerializer(practice.upcoming_closures, many=True).data
        )


class ClinicianSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name")
    role = serializers.ChoiceField(source="profession", choices=Profession.choices)

    class Meta:
        model = Clinician
        fields = ["id", "name", "role", "gender"]


class PracticeSearchQuerySerializer(serializers.Serializer):
    search = BoundedCharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Name (contains), ODS code or postcode prefix",
    )


class AvailabilityQuerySerializer(serializers.Serializer):
    """Query parameters of the availability search. Dates are days at the practice."""

    start = DateOrAwareDateTimeField(
        help_text="Date (from its midnight at the practice) or date-time with offset"
    )
    end = DateOrAwareDateTimeField(
        help_text="Date (inclusive: until the end of that day) or date-time with offset"
    )
    type = BoundedCharField(required=False, max_length=40, help_text=VOCABULARY)
    channel = serializers.ChoiceField(required=False, choices=Channel.choices)
    clinician = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tz = self.context["practice"].tz
        start, end = attrs["start"], attrs["end"]
        try:
            if not isinstance(start, dt.datetime):
                start = dt.datetime.combine(start, dt.time.min, tzinfo=tz).astimezone(dt.UTC)
            if not isinstance(end, dt.datetime):
                end = dt.datetime.combine(
                    end + dt.timedelta(days=1), dt.time.min, tzinfo=tz
                ).astimezone(dt.UTC)
        except OverflowError as exc:  # the first or last day of the calendar
            raise serializers.ValidationError({"end": [OUT_OF_RANGE]}, code="out_of_range") from exc
        if end <= start:
            raise serializers.ValidationError({"end": [RANGE_BACKWARDS]}, code="range_backwards")
        if end - start > dt.timedelta(days=MAX_AVAILABILITY_DAYS):
            raise serializers.ValidationError({"end": [RANGE_TOO_WIDE]}, code="range_too_wide")
        return {**attrs, "start": start, "end": end}


class AppointmentTypeSerializer(serializers.Serializer):
    """An appointment type a practice offers: its code, and what patients are shown."""

    code = serializers.CharField(help_text=VOCABULARY)
    name = serializers.CharField(help_text='What to show patients, e.g. "Follow-up appointment"')


class AvailableSlotSerializer(serializers.ModelSerializer):
    duration_minutes = serializers.IntegerField(read_only=True)
    appointment_type = serializers.CharField(source="slot_type", help_text=VOCABULARY)
    appointment_type_name = serializers.SerializerMethodField(
        help_text="The type as patients read it"
    )
    clinician = ClinicianSerializer()
    practice_id = serializers.CharField(source="practice.ods_code")
    practice_name = serializers.CharField(source="practice.name")
    practice_address = serializers.CharField(source="practice.address")

    class Meta:
        model = Slot
        fields = [
            "id",
            "start",
            "end",
            "duration_minutes",
            "appointment_type",
            "appointment_type_name",
            "channel",
            "online_bookable",
            "clinician",
            "practice_id",
            "practice_name",
            "practice_address",
        ]

    def get_appointment_type_name(self, slot: Slot) -> str:
        return display_name(slot, slot.slot_type)


# The hot path: an availability page built from .values() rows, the same documents
# AvailableSlotSerializer gives for the same slots (tests/practices/test_availability_rows.py
# holds them equal) at a fraction of the Python. The serializer still declares the schema.
AVAILABLE_SLOT_COLUMNS = (
    "id",
    "start",
    "end",
    "slot_type",
    "type_name",
    "channel",
    "online_bookable",
    "clinician_id",
    "clinician__display_name",
    "clinician__profession",
    "clinician__gender",
)


def available_slot_rows(rows: "list[dict[str, Any]]", practice: Practice) -> list[dict[str, Any]]:
    """``rows`` (of AVAILABLE_SLOT_COLUMNS, ``type_name`` annotated) at ``practice``, as
    AvailableSlotSerializer renders them."""
    at_practice = {
        "practice_id": practice.ods_code,
        "practice_name": practice.name,
        "practice_address": practice.address,
    }
    return [
        {
            "id": str(row["id"]),
            "start": datetime_as_serialized(row["start"]),
            "end": datetime_as_serialized(row["end"]),
            "duration_minutes": int((row["end"] - row["start"]).total_seconds() // 60),
            "appointment_type": row["slot_type"],
            "appointment_type_name": row["type_name"] or name_of(row["slot_type"]),
            "channel": row["channel"],
            "online_bookable": row["online_bookable"],
            "clinician": {
                "id": str(row["clinician_id"]),
                "name": row["clinician__display_name"],
                "role": row["clinician__profession"],
                "gender": row["clinician__gender"],
            },
            **at_practice,
        }
        for row in rows
    ]
