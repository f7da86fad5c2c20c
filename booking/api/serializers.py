"""Input and output shapes for /api/v1/appointments. Rules live in booking.services."""

import datetime as dt
from typing import Any

from rest_framework import serializers

from config.http.fields import AwareDateTimeField, StrictSerializer
from practices.models import Channel

from ..models import Appointment, AppointmentStatus
from ..services import OUTCOMES

ONE_FORM_ONLY = (
    "Give either slot_id, or practice_id with appointment_datetime and appointment_type."
)
BY_TIME_FIELDS = ("practice_id", "appointment_datetime", "appointment_type")


class AppointmentCreateSerializer(StrictSerializer):
    """Book by ``slot_id``, or by practice, time and type as the original API did."""

    slot_id = serializers.UUIDField(required=False)
    practice_id = serializers.CharField(required=False, max_length=9, help_text="ODS code")
    appointment_datetime = AwareDateTimeField(required=False)
    appointment_type = serializers.CharField(required=False, max_length=40)
    channel = serializers.ChoiceField(required=False, choices=Channel.choices)
    clinician_id = serializers.UUIDField(required=False)
    patient_id = serializers.UUIDField(
        required=False, help_text="Patients may omit it; staff must give it."
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=100)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        by_time = [name for name in BY_TIME_FIELDS if name in attrs]
        if "slot_id" in attrs and by_time:
            raise serializers.ValidationError({"slot_id": [ONE_FORM_ONLY]})
        if "slot_id" not in attrs and len(by_time) != len(BY_TIME_FIELDS):
            missing = [name for name in BY_TIME_FIELDS if name not in attrs]
            raise serializers.ValidationError(
                {name: [ONE_FORM_ONLY] for name in missing or ["slot_id"]}
            )
        return attrs


class RescheduleSerializer(StrictSerializer):
    """The new time: a ``slot_id``, or an ``appointment_datetime`` at the same practice."""

    slot_id = serializers.UUIDField(required=False)
    appointment_datetime = AwareDateTimeField(required=False)
    appointment_type = serializers.CharField(
        required=False, max_length=40, help_text="Defaults to the current type"
    )
    channel = serializers.ChoiceField(required=False, choices=Channel.choices)
    clinician_id = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("slot_id" in attrs) == ("appointment_datetime" in attrs):
            message = "Give either slot_id or appointment_datetime."
            raise serializers.ValidationError({"slot_id": [message]})
        return attrs


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class OutcomeSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(choices=[(s, AppointmentStatus(s).label) for s in OUTCOMES])


class AmendSerializer(StrictSerializer):
    description = serializers.CharField(required=False, allow_blank=True, max_length=100)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500)


MAX_LIST_RANGE = dt.timedelta(days=366)
LIST_RANGE_TOO_WIDE = "The range may span at most 366 days."


class AppointmentListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(required=False, choices=AppointmentStatus.choices)
    start = AwareDateTimeField(required=False, help_text="Only appointments starting at or after")
    end = AwareDateTimeField(required=False, help_text="Only appointments starting before")
    practice = serializers.CharField(required=False, max_length=9, help_text="ODS code")
    clinician = serializers.UUIDField(required=False)
    patient = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "start" in attrs and "end" in attrs and attrs["end"] - attrs["start"] > MAX_LIST_RANGE:
            raise serializers.ValidationError({"end": [LIST_RANGE_TOO_WIDE]})
        return attrs


class AppointmentClinicianSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="clinician_id")
    name = serializers.CharField(source="clinician.display_name")


class AppointmentSerializer(serializers.ModelSerializer):
    patient_id = serializers.UUIDField()
    practice_id = serializers.CharField(source="practice.ods_code")
    slot_id = serializers.UUIDField()
    clinician = AppointmentClinicianSerializer(source="*")
    appointment_datetime = serializers.DateTimeField(source="start")

    class Meta:
        model = Appointment
        fields = [
            "id",
            "reference",
            "status",
            "patient_id",
            "practice_id",
            "slot_id",
            "clinician",
            "appointment_datetime",
            "start",
            "end",
            "appointment_type",
            "channel",
            "description",
            "comment",
            "cancellation_reason",
            "cancelled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
