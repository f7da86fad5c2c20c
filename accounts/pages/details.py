"""The patient's own details: see them, change them, and see who has looked at their record.

The same doors as the API's ``/auth/me`` and ``/auth/me/access-log``: changes are checked by
the API's serializer (``ProfileUpdateSerializer``) and made by ``services.update_profile``, so
the pages and the API allow the same changes and refuse them in the same words. Every look at
the details and every change is in the patient's access log, as the API's are; reading the
access log itself is not (nor is the API's).
"""

from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.core.paginator import InvalidPage, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.exceptions import DomainError
from core.page_forms import add_api_errors
from core.pages import add_refusal, page_links, patient_page, render_page

from .. import services
from ..api.serializers import AccessLogEntrySerializer, ProfileUpdateSerializer
from ..audit import GP_CONNECT_ROLE, record_access
from ..models import AuditEvent, User
from ..nhs import format_nhs_number
from .register import API_FIELDS, EMAIL, SMS, PersonFieldsForm, api_input, practice_choices

CHANGED = "changed"
# Rows of the access log on a page: a few months of a typical patient's.
ACCESS_LOG_PAGE_SIZE = 50


class ChangeDetailsForm(PersonFieldsForm):
    address_line_1 = forms.CharField(
        label="Address line 1",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line_2 = forms.CharField(
        label="Address line 2",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    town = forms.CharField(
        label="Town or city",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postcode = forms.CharField(
        label="Postcode",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "spellcheck": "false"}),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, patient: User) -> None:
        profile = patient.patient_profile
        practice = profile.registered_practice
        initial = {
            "given_name": patient.given_name,
            "family_name": patient.family_name,
            "date_of_birth": profile.date_of_birth,
            "nhs_number": profile.nhs_number or "",
            "phone": profile.phone,
            "address_line_1": profile.address_line_1,
            "address_line_2": profile.address_line_2,
            "town": profile.town,
            "postcode": profile.postcode,
            "reminders": [EMAIL] * profile.notify_by_email + [SMS] * profile.notify_by_sms,
            "practice": practice.ods_code if practice else "",
        }
        super().__init__(data, initial=initial)
        # Only the practice changes a confirmed number; a form sent with one anyway (opened
        # before the practice confirmed it) is answered by the service's refusal.
        if profile.nhs_number_confirmed and "nhs_number" not in self.data:
            del self.fields["nhs_number"]
        cast(forms.Select, self.fields["practice"].widget).choices = practice_choices(practice)
        self.changes: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        before, after = api_input(self.initial), api_input(data)
        # Only what was changed, as the API asks ("send only the fields to change"): what is
        # left alone is neither checked again nor written back.
        changed = {
            name: value
            for name, value in after.items()
            if API_FIELDS.get(name, name) in self.fields and value != before[name]
        }
        serializer = ProfileUpdateSerializer(data=changed, partial=True)
        if serializer.is_valid():
            self.changes = dict(serializer.validated_data)
        else:
            add_api_errors(self, serializer.errors, fields=API_FIELDS)
        return data


def _patient(request: HttpRequest) -> User:
    """The signed-in patient, with their profile and practice (one query)."""
    signed_in = cast(User, request.user)  # patient_page lets only signed-in patients through
    return User.objects.select_related("patient_profile__registered_practice").get(pk=signed_in.pk)


def _audit(request: HttpRequest, patient: User, action: str, *, allowed: bool = True) -> None:
    record_access(
        request,
        action=f"page.profile.{action}",
        object_type="profile",
        object_id=patient.pk,
        patient=patient,
        allowed=allowed,
    )


@patient_page
@require_GET
def my_details(request: HttpRequest) -> HttpResponse:
    patient = _patient(request)
    profile = patient.patient_profile
    _audit(request, patient, "read")
    return render_page(
        request,
        "accounts/pages/my_details.html",
        {
            "patient": patient,
            "profile": profile,
            "nhs_number": format_nhs_number(profile.nhs_number or ""),
            "changed": CHANGED in request.GET,
        },
    )


def _change_page(request: HttpRequest, form: ChangeDetailsForm, status: int = 200) -> HttpResponse:
    return render_page(
        request,
        "accounts/pages/change_details.html",
        {"form": form, "nhs_number_confirmed": "nhs_number" not in form.fields},
        status=status,
    )


@patient_page
@require_http_methods(["GET", "POST"])
def change_details(request: HttpRequest) -> HttpResponse:
    patient = _patient(request)
    if request.method == "GET":
        _audit(request, patient, "read")
        return _change_page(request, ChangeDetailsForm(patient=patient))
    form = ChangeDetailsForm(request.POST, patient=patient)
    response = _change(request, form, patient)
    _audit(request, patient, "update", allowed=response.status_code < 400)
    return response


def _change(request: HttpRequest, form: ChangeDetailsForm, patient: User) -> HttpResponse:
    if not form.is_valid():
        return _change_page(request, form, 400)
    try:
        services.update_profile(user=patient, changes=form.changes)
    except DomainError as refusal:
        add_refusal(form, refusal, fields=API_FIELDS)
        return _change_page(request, form, refusal.http_status)
    return redirect(f"{reverse('account-pages:my-details')}?{CHANGED}")


@patient_page
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    """Who has looked at the patient's record, newest first: AccessLogView's rows and words."""
    viewer = cast(User, request.user)  # patient_page lets only signed-in patients through
    events = (
        AuditEvent.objects.filter(patient=viewer).select_related("actor").order_by("-at", "-id")
    )
    paginator = Paginator(events, ACCESS_LOG_PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:  # not a number, or past the end
        page = paginator.page(1)
    describe = AccessLogEntrySerializer(context={"viewer": viewer})
    entries = [
        {
            "at": event.at,
            "who": describe.get_who(event),
            # "Through GP Connect" already says how another organisation came in.
            "role": "" if event.actor_role == GP_CONNECT_ROLE else event.actor_role,
            "action": event.action,
            "allowed": event.allowed,
        }
        for event in page
    ]
    links = page_links(request, number=page.number, has_next=page.has_next())
    return render_page(
        request,
        "accounts/pages/access_log.html",
        {"page": page, "entries": entries, "links": links},
    )
