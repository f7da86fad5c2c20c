"""Input and output shapes for /api/v1/auth/. Rules live in accounts.services."""

from typing import TYPE_CHECKING, Any, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.http.fields import BoundedCharField, StrictSerializer

from ..audit import GP_CONNECT_ROLE
from ..models import PatientProfile, Role
from ..nhs import (
    INVALID_NAME,
    has_invisible_characters,
    is_valid_nhs_number,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
)
from ..services import ROLE_NOT_ALLOWED

if TYPE_CHECKING:
    from practices.models import Practice


class NhsNumberField(serializers.CharField):
    default_error_messages = {
        "invalid_nhs_number": _("Enter a valid 10-digit NHS number."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 14)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = normalise_nhs_number(super().to_internal_value(data))
        if not is_valid_nhs_number(value):
            self.fail("invalid_nhs_number")
        return value


class PersonNameField(serializers.CharField):
    """A given or family name: optional, but never only spaces or invisible characters."""

    default_error_messages = {
        "blank": _("Enter the name, or leave it out: it cannot be only spaces."),
        "invalid_name": INVALID_NAME,
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and not value.strip():
            self.fail("blank")
        if has_invisible_characters(value):
            self.fail("invalid_name")
        return value.strip()


class PhoneField(serializers.CharField):
    default_error_messages = {
        "invalid_phone": _("Enter a mobile number such as 07700 900123 or +447700900123."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value == "":
            return value
        phone = normalise_phone(value)
        if phone is None:
            self.fail("invalid_phone")
        return phone


class PostcodeField(serializers.CharField):
    default_error_messages = {"invalid_postcode": _("Enter a UK postcode such as LS1 4AP.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value == "":
            return value
        postcode = normalise_postcode(value)
        if postcode is None:
            self.fail("invalid_postcode")
        return postcode


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z0-9]{1,9}$", "nullable": True})
class PracticeCodeField(serializers.SlugRelatedField):
    """A GP practice given by its ODS code, in any case; only active practices."""

    default_error_messages = {
        "does_not_exist": _("No active GP practice has the ODS code {value}."),
        "invalid": _("Enter an ODS code such as A81001."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="ods_code", **kwargs)

    def get_queryset(self) -> Any:
        # Through the relation, so accounts does not import the practices app.
        practice_model = cast(
            "type[Practice]", PatientProfile._meta.get_field("registered_practice").related_model
        )
        return practice_model.objects.filter(is_active=True)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data.strip().upper())


class ProfileFieldsMixin(serializers.Serializer):
    """The patient profile fields, shared by registration and profile updates."""

    nhs_number = NhsNumberField()
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    phone = PhoneField()
    address_line_1 = BoundedCharField(max_length=100, required=False, allow_blank=True)
    address_line_2 = BoundedCharField(max_length=100, required=False, allow_blank=True)
    town = BoundedCharField(max_length=60, required=False, allow_blank=True)
    postcode = PostcodeField()
    notify_by_email = serializers.BooleanField(required=False)
    notify_by_sms = serializers.BooleanField(required=False)
    practice_id = PracticeCodeField(
        source="registered_practice", required=False, allow_null=True, help_text="ODS code"
    )


class RegisterInputSerializer(StrictSerializer, ProfileFieldsMixin):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    # The original API's contract sends "role": "patient"; only patients sign themselves up.
    role = serializers.ChoiceField(
        choices=[Role.PATIENT],
        required=False,
        default=Role.PATIENT,
        error_messages={"invalid_choice": ROLE_NOT_ALLOWED},
    )
    given_name = PersonNameField()
    family_name = PersonNameField()


class ProfileUpdateSerializer(StrictSerializer, ProfileFieldsMixin):
    given_name = PersonNameField()
    family_name = PersonNameField()


class WorkplaceSerializer(serializers.Serializer):
    """A practice a staff member works at, and their role there."""

    ods_code = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=[Role.ADMIN, Role.CLINICIAN])


class MeSerializer(serializers.Serializer):
    """The caller's own account; patient fields are null for staff."""

    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    given_name = serializers.CharField(read_only=True)
    family_name = serializers.CharField(read_only=True)
    nhs_number = serializers.CharField(
        source="patient_profile.nhs_number", read_only=True, allow_null=True
    )
    nhs_number_confirmed = serializers.BooleanField(
        source="patient_profile.nhs_number_confirmed",
        read_only=True,
        allow_null=True,
        help_text="Whether the practice has checked the NHS number against the patient's "
        "identity; until then it is the patient's own entry, and may be corrected.",
    )
    date_of_birth = serializers.DateField(
        source="patient_profile.date_of_birth", read_only=True, allow_null=True
    )
    phone = serializers.CharField(source="patient_profile.phone", read_only=True, allow_null=True)
    address_line_1 = serializers.CharField(
        source="patient_profile.address_line_1", read_only=True, allow_null=True
    )
    address_line_2 = serializers.CharField(
        source="patient_profile.address_line_2", read_only=True, allow_null=True
    )
    town = serializers.CharField(source="patient_profile.town", read_only=True, allow_null=True)
    postcode = serializers.CharField(
        source="patient_profile.postcode", read_only=True, allow_null=True
    )
    notify_by_email = serializers.BooleanField(
        source="patient_profile.notify_by_email", read_only=True, allow_null=True
    )
    notify_by_sms = serializers.BooleanField(
        source="patient_profile.notify_by_sms", read_only=True, allow_null=True
    )
    email_verified = serializers.BooleanField(
        read_only=True,
        help_text="Whether the owner confirmed the address; patients book only once it is.",
    )
    practices = serializers.SerializerMethodField(
        help_text="Staff: the practices they work at, with their role in each. Empty for "
        "patients (their practice is practice_id)."
    )
    practice_id = serializers.CharField(
        source="patient_profile.registered_practice.ods_code",
        read_only=True,
        allow_null=True,
        help_text="ODS code of the patient's registered GP practice",
    )

    @extend_schema_field(WorkplaceSerializer(many=True))
    def get_practices(self, user: Any) -> list[dict[str, Any]]:
        return [
            {"ods_code": practice.ods_code, "name": practice.name, "role": role}
            for practice, role in user.workplaces()
        ]


class LoginInputSerializer(StrictSerializer):
    email = BoundedCharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class VerifyEmailSerializer(StrictSerializer):
    token = BoundedCharField(max_length=512, help_text="The token from the emailed link.")
    password = serializers.CharField(
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        help_text="The password chosen at registration: whoever confirms the address must "
        "also be whoever chose it.",
    )


class EmailInputSerializer(StrictSerializer):
    # Not trimmed before the length check: the schema's maxLength is what the server holds to
    # (the address is normalised, spaces and case, by the service).
    email = serializers.CharField(max_length=254, trim_whitespace=False)


class PasswordResetSerializer(StrictSerializer):
    token = BoundedCharField(max_length=512, help_text="The token from the emailed link.")
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)


class DetailSerializer(serializers.Serializer):
    """What happened, in a sentence for the person."""

    detail = serializers.CharField()


class RefreshInputSerializer(StrictSerializer):
    refresh = BoundedCharField(max_length=4096)


class TokenOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    id_token = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class AccessLogEntrySerializer(serializers.Serializer):
    """One access to the caller's record, as the patient sees it."""

    at = serializers.DateTimeField()
    who = serializers.SerializerMethodField()
    role = serializers.CharField(source="actor_role")
    action = serializers.CharField()
    allowed = serializers.BooleanField()

    def get_who(self, event: Any) -> str:
        if event.actor_role == GP_CONNECT_ROLE:
            # Another NHS service's request: the organisation it was for, not the system's
            # service account.
            return f"{event.organisation or 'another organisation'} through GP Connect"
        if event.actor_id is None:
            return "the booking system" if event.actor_role == "system" else "unknown"
        if event.actor_id == self.context["viewer"].pk:
            return "you"
        return f"{event.actor.given_name} {event.actor.family_name}".strip() or "a staff member"
