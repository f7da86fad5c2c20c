"""Creating an account on the patient pages: the same sign-up as the API's.

The form is checked by the API's own serializer (``RegisterInputSerializer``), so the pages
and the API accept the same input and refuse it in the same words, and the account is made by
the same service (``services.register_patient``): the same password rules, the same answer
whether or not the address already has an account, the same verification email. Sign-ups
count against the API's per-address limit, in the same counter, and every answer is in the
audit trail as the API's are.
"""

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_texts
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from core.http.client import client_ip
from core.http.throttling import count_scoped_hit
from core.page_forms import DateInputField, add_api_errors
from core.pages import add_refusal, in_uk_time, is_patient, render_page

from .. import emails, services
from ..api.serializers import RegisterInputSerializer
from ..audit import record_access
from ..models import PatientProfile, User

TOO_MANY_REGISTRATIONS = "Too many accounts made from here. Please wait a minute and try again."
REGISTERED_EMAIL = "registered_email"
NHS_NUMBER_HINT = "10 digits, on any letter from the NHS"
EMAIL = "email"
SMS = "sms"
REMINDER_CHOICES = [(EMAIL, "By email"), (SMS, "By text message to my mobile phone")]
# The API's names for what the pages ask as one question or under another name.
API_FIELDS = {
    "practice_id": "practice",
    "notify_by_email": "reminders",
    "notify_by_sms": "reminders",
}


class TelInput(forms.TextInput):
    input_type = "tel"


def practices() -> QuerySet[Any]:
    """The GP practices a patient may choose, by name. Through the profile's relation, as the
    API's serializer does: accounts does not import the practices app."""
    practice = PatientProfile._meta.get_field("registered_practice").related_model
    return cast(Any, practice).objects.active().order_by("name")


def practice_choices(current: Any = None) -> list[tuple[str, str]]:
    """The practice ``<select>``'s options: none chosen, then every active practice; and the
    patient's own, if it has closed since, so leaving it alone keeps it."""
    known = [(p.ods_code, p.name) for p in practices()]
    if current is not None and current.ods_code not in dict(known):
        known.append((current.ods_code, current.name))
    return [("", "Choose your practice"), *known]


TEXT_FIELDS = (
    "given_name",
    "family_name",
    "phone",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
)


def api_input(answers: Mapping[str, Any]) -> dict[str, Any]:
    """A form's answers as the API takes them: JSON types, the API's names, None for none."""
    fields: dict[str, Any] = {name: answers[name] for name in TEXT_FIELDS if name in answers}
    born = answers.get("date_of_birth")
    fields["date_of_birth"] = born.isoformat() if born else None
    fields["nhs_number"] = answers.get("nhs_number") or None
    fields["practice_id"] = answers.get("practice") or None
    chosen = answers.get("reminders") or []
    fields["notify_by_email"] = EMAIL in chosen
    fields["notify_by_sms"] = SMS in chosen
    return fields


class PersonFieldsForm(forms.Form):
    """What registration and "change my details" both ask."""

    given_name = forms.CharField(
        label="First name",
        error_messages={"required": "Enter your first name."},
        widget=forms.TextInput(attrs={"autocomplete": "given-name", "spellcheck": "false"}),
    )
    family_name = forms.CharField(
        label="Last name",
        error_messages={"required": "Enter your last name."},
        widget=forms.TextInput(attrs={"autocomplete": "family-name", "spellcheck": "false"}),
    )
    date_of_birth = DateInputField(
        label="Date of birth",
        help_text="For example, 15 3 1984",
        error_messages={"required": "Enter your date of birth."},
    )
    nhs_number = forms.CharField(
        label="NHS number (optional)",
        required=False,
        help_text=NHS_NUMBER_HINT,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label="Mobile phone number (optional)",
        required=False,
        help_text="For text message reminders, for example 07700 900123",
        widget=TelInput(attrs={"autocomplete": "tel"}),
    )
    reminders = forms.MultipleChoiceField(
        label="How should we send you appointment reminders?",
        required=False,
        choices=REMINDER_CHOICES,
        help_text="Select all that apply.",
        widget=forms.CheckboxSelectMultiple,
    )
    practice = forms.CharField(
        label="Your GP practice (optional)",
        required=False,
        widget=forms.Select,
    )


class RegisterForm(PersonFieldsForm):
    email = forms.CharField(
        label="Email address",
        error_messages={"required": "Enter your email address."},
        help_text="We will send you an email to check it is yours.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Create a password",
        strip=False,
        error_messages={"required": "Enter a password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    field_order = [
        "given_name",
        "family_name",
        "date_of_birth",
        "email",
        "password",
        "nhs_number",
        "phone",
        "reminders",
        "practice",
    ]

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(data, initial={"reminders": [EMAIL]})
        # The rules the service applies (AUTH_PASSWORD_VALIDATORS), in their own words.
        self.fields["password"].help_text = " ".join(password_validators_help_texts())
        cast(forms.Select, self.fields["practice"].widget).choices = practice_choices()
        self.checked: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Left out when empty, as an API client leaves out what it does not know.
        fields = {k: v for k, v in api_input(data).items() if v is not None}
        fields["email"] = data.get("email", "")
        fields["password"] = data.get("password", "")
        serializer = RegisterInputSerializer(data=fields)
        if serializer.is_valid():
            self.checked = dict(serializer.validated_data)
        else:
            add_api_errors(self, serializer.errors, fields=API_FIELDS)
        return data


def _register_page(request: HttpRequest, form: RegisterForm, status: int = 200) -> HttpResponse:
    return render_page(request, "accounts/pages/register.html", {"form": form}, status=status)


@never_cache
@in_uk_time
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if is_patient(request.user):
            return redirect("booking-pages:home")
        return _register_page(request, RegisterForm())
    response, patient = _sign_up(request)
    # Every answer, as RegisterView's (AuditedViewMixin): the new patient's once one is made.
    record_access(
        request,
        action="page.profile.register",
        object_type="profile",
        object_id=patient.pk if patient else "",
        patient=patient,
        allowed=response.status_code < 400,
    )
    return response


def _sign_up(request: HttpRequest) -> tuple[HttpResponse, User | None]:
    form = RegisterForm(request.POST)
    # Every attempt counts, valid or not, as the API's throttle counts every request.
    if (wait := count_scoped_hit("register", client_ip(request))) is not None:
        form.is_valid()  # so the page shows what was typed
        form.add_error(None, TOO_MANY_REGISTRATIONS)
        response = _register_page(request, form, 429)
        response["Retry-After"] = str(int(wait))
        return response, None
    if not form.is_valid():
        return _register_page(request, form, 400), None
    fields = dict(form.checked)
    try:
        patient = services.register_patient(
            email=fields.pop("email"),
            password=fields.pop("password"),
            role=fields.pop("role"),
            given_name=fields.pop("given_name", ""),
            family_name=fields.pop("family_name", ""),
            profile=fields,
        )
    except DomainError as refusal:
        add_refusal(form, refusal, fields=API_FIELDS)
        return _register_page(request, form, refusal.http_status), None
    # The same page whether or not an account was made: sign-up tells nobody who is registered.
    # Shown after a redirect, so refreshing it does not send the form (and an email) again.
    request.session[REGISTERED_EMAIL] = form.cleaned_data["email"]
    return redirect("account-pages:check-email"), patient


@never_cache
@in_uk_time
@require_http_methods(["GET"])
def check_email(request: HttpRequest) -> HttpResponse:
    email = request.session.get(REGISTERED_EMAIL)
    if not email:
        return redirect("account-pages:register")
    return render_page(
        request,
        "accounts/pages/check_email.html",
        {
            "email": email,
            "verify_link": settings.ACCOUNT_LINK_BASE_URL.rstrip("/") + emails.VERIFY_PATH,
            "verify_hours": settings.EMAIL_VERIFICATION_HOURS,
        },
    )
