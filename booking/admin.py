"""The appointment book and patient records for practice staff.

Every change goes through booking.services with source "admin", so the admin cannot
double-book, book in the past or skip a rule. Appointments are never deleted. Every staff
view of a patient record or an appointment list is written to the audit trail.
"""

import datetime as dt
import secrets
import uuid
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import services as account_services
from accounts.audit import record_access
from accounts.authentication import signed_in_user
from accounts.models import PatientProfile, Role, User
from accounts.nhs import format_nhs_number, normalise_nhs_number
from core.exceptions import DomainError
from core.formats import uk_date, uk_datetime
from core.http.client import client_ip
from practices.admin_scoping import PracticeScopedAdmin, ScopedInline, slot_type_filter
from practices.appointment_types import display_name
from practices.gpad import Mode
from practices.models import Practice, Slot, SlotStatus, slot_type_name

from . import report_views, services
from .models import Appointment, AppointmentHistory, AppointmentStatus, Notification, Source
from .services import Actor, StaffAction, staff_may

SLOT_CHOICE_DAYS = 28


def _actor(request: HttpRequest) -> Actor:
    return Actor(user=signed_in_user(request), source=Source.ADMIN)


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, slot: Slot) -> str:
        kind = display_name(slot, slot.slot_type)
        held = ", held for the waiting list" if slot.status == SlotStatus.HELD else ""
        return (
            f"{uk_datetime(slot.start)} - {slot.clinician.display_name} "
            f"({kind}, {slot.get_channel_display().lower()}, {slot.duration_minutes} min{held})"
        )


def free_slots_for(request: HttpRequest, practices: QuerySet[Practice]) -> QuerySet[Slot]:
    """Slots staff may book: free ones, and those held for waiting-list offers (staff can
    always book over a hold; the offered patients are told it has gone)."""
    now = timezone.now()
    slots: QuerySet[Slot] = Slot.objects.filter(status__in=[SlotStatus.FREE, SlotStatus.HELD])
    return (
        slots.filter(
            practice__in=practices,
            start__gt=now,
            start__lt=now + dt.timedelta(days=SLOT_CHOICE_DAYS),
        )
        .select_related("clinician")
        .annotate(type_name=slot_type_name("slot_type"))
        .order_by("start", "clinician__display_name")
    )


class BookForm(forms.Form):
    patient = forms.ModelChoiceField(queryset=User.objects.none())
    slot = SlotChoiceField(queryset=Slot.objects.none())
    description = forms.CharField(max_length=100, required=False)
    comment = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practices = Practice.objects.staffed_by(request.user)
        patient_field = cast("forms.ModelChoiceField[User]", self.fields["patient"])
        patient_field.queryset = User.objects.filter(
            role=Role.PATIENT, is_active=True, patient_profile__registered_practice__in=practices
        ).order_by("family_name", "given_name")
        patient_field.label_from_instance = _patient_label  # type: ignore[method-assign,assignment]  # a per-instance label function
        cast(SlotChoiceField, self.fields["slot"]).queryset = free_slots_for(request, practices)


class RescheduleForm(forms.Form):
    slot = SlotChoiceField(queryset=Slot.objects.none(), label="New slot")

    def __init__(
        self, *args: Any, appointment: Appointment, request: HttpRequest, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(SlotChoiceField, self.fields["slot"]).queryset = free_slots_for(
            request, Practice.objects.filter(pk=appointment.practice_id)
        )


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


def _patient_label(user: User) -> str:
    profile = getattr(user, "patient_profile", None)
    nhs = (
        format_nhs_number(profile.nhs_number) if profile and profile.nhs_number else "no NHS number"
    )
    return f"{user.family_name}, {user.given_name} ({nhs})"


class _SearchByTokenChangeList(ChangeList):
    """A changelist whose search term comes from the session, named by ``?search=<token>``."""

    def get_filters_params(self, params: Any = None) -> Any:
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(SEARCH_PARAM, None)
        return lookup_params

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        token = request.GET.get(SEARCH_PARAM)
        if token:
            self.query = request.session.get(SESSION_SEARCHES, {}).get(token, "")
        return super().get_queryset(request, exclude_parameters)


SEARCH_PARAM = "search"
SESSION_SEARCHES = "admin_searches"
KEPT_SEARCHES = 20


if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class NhsNumberSearch(_AdminBase):
    """Admin search for patient identifiers that never puts them in a URL.

    The search box posts its term; the term is kept in the session and the changelist is
    redirected to ``?search=<random token>``, so NHS numbers and names stay out of browser
    history, proxy and load-balancer logs and Referer headers (pagination and filter links
    carry the token, not the term). NHS numbers are found typed with spaces ("943 476 5919").
    """

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        posted = request.method == "POST" and "q" in request.POST and "action" not in request.POST
        # A term typed into a URL by hand is moved out of it at once, the same way.
        if posted or (request.method == "GET" and "q" in request.GET):
            term = (request.POST if posted else request.GET)["q"]
            searches = dict(
                list(request.session.get(SESSION_SEARCHES, {}).items())[1 - KEPT_SEARCHES :]
            )
            token = secrets.token_urlsafe(12)
            searches[token] = term.strip()[:200]
            request.session[SESSION_SEARCHES] = searches
            query = request.GET.copy()
            for name in ("q", SEARCH_PARAM, "p"):
                query.pop(name, None)
            if searches[token]:
                query[SEARCH_PARAM] = token
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _SearchByTokenChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> Any:
        digits = normalise_nhs_number(search_term)
        if digits.isdigit() and len(digits) == 10:
            search_term = digits
        return super().get_search_results(request, queryset, search_term)


class DayFilter(admin.SimpleListFilter):
    """The appointment book opens on today (UK time); yesterday and tomorrow are one click
    away, and the page's day bar steps a day either way."""

    title = "day"
    parameter_name = "day"
    ALL = "all"

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.day = chosen_day(request)
        super().__init__(request, *args, **kwargs)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        today = timezone.localdate()
        days = [
            ((today - dt.timedelta(days=1)).isoformat(), "Yesterday"),
            (today.isoformat(), "Today"),
            ((today + dt.timedelta(days=1)).isoformat(), "Tomorrow"),
        ]
        if self.day is not None and self.day.isoformat() not in dict(days):
            days.append((self.day.isoformat(), uk_date(self.day)))
        return [*days, (self.ALL, "All days")]

    def value(self) -> str:
        return self.ALL if self.day is None else self.day.isoformat()

    def choices(self, changelist: Any) -> Any:
        # No "All" entry of Django's own: without the parameter the book shows today.
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}, ["p"]),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.day is None:
            return queryset
        tz = timezone.get_current_timezone()
        return queryset.filter(
            start__gte=dt.datetime.combine(self.day, dt.time.min, tz),
            start__lt=dt.datetime.combine(self.day + dt.timedelta(days=1), dt.time.min, tz),
        )


def day_label(day: dt.date) -> str:
    """ "Today, Mon 30 Nov 2026"."""
    relative = {0: "Today, ", -1: "Yesterday, ", 1: "Tomorrow, "}.get(
        (day - timezone.localdate()).days, ""
    )
    return f"{relative}{formats.date_format(day, 'D j M Y')}"


def _with_day(request: HttpRequest, day: dt.date) -> str:
    query = request.GET.copy()
    query[DayFilter.parameter_name] = day.isoformat()
    query.pop("p", None)
    return f"?{query.urlencode()}"


def parse_day(value: str | None) -> dt.date | None:
    """A day the book can show (from 2000 to ten years ahead), else None."""
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return None
    latest = timezone.localdate() + dt.timedelta(days=3660)
    return day if dt.date(2000, 1, 1) <= day <= latest else None


def chosen_day(request: HttpRequest) -> dt.date | None:
    """The day the appointment book shows: ``?day=``, today without one, None for all days
    (and for a search without a day: reception looks a patient up across days)."""
    value = request.GET.get(DayFilter.parameter_name)
    if value == DayFilter.ALL or (value is None and SEARCH_PARAM in request.GET):
        return None
    return parse_day(value) or timezone.localdate()


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def status_label(value: str) -> str:
    return AppointmentStatus(value).label if value in AppointmentStatus.values else value or "-"


class HistoryInline(admin.TabularInline):
    model = AppointmentHistory
    extra = 0
    can_delete = False
    fields = ("when", "actor", "action", "from_label", "to_label", "reason", "source")
    readonly_fields = fields

    @admin.display(description="When")
    def when(self, obj: AppointmentHistory) -> str:
        return uk_datetime(obj.at)

    @admin.display(description="From")
    def from_label(self, obj: AppointmentHistory) -> str:
        return status_label(obj.from_status)

    @admin.display(description="To")
    def to_label(self, obj: AppointmentHistory) -> str:
        return status_label(obj.to_status)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NotificationInline(admin.TabularInline):
    """Sending status, so staff can see whether the patient was told."""

    model = Notification
    extra = 0
    can_delete = False
    fields = ("kind", "medium", "status", "attempts", "sent", "last_error")
    readonly_fields = fields

    @admin.display(description="Sent")
    def sent(self, obj: Notification) -> str:
        return uk_datetime(obj.sent_at)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Appointment)
class AppointmentAdmin(NhsNumberSearch, PracticeScopedAdmin):
    list_display = (
        "local_start",
        "patient_link",
        "clinician",
        "kind_and_channel",
        "status",
        "outcome_buttons",
        "reference",
    )
    list_filter = (
        DayFilter,
        ("clinician", admin.RelatedOnlyFieldListFilter),
        "status",
        slot_type_filter("appointment_type"),
        "channel",
    )
    list_display_links = ("reference",)
    list_per_page = 200  # a whole day on one page
    search_fields = (
        "reference",
        "patient__given_name",
        "patient__family_name",
        "=patient__patient_profile__nhs_number",
    )
    list_select_related = ("patient", "clinician", "practice")
    ordering = ("start",)
    inlines = [HistoryInline, NotificationInline]
    actions = ["mark_arrived", "mark_completed", "mark_did_not_attend", "cancel_selected"]
    fields = (
        "reference", "status", "patient_link", "nhs_number", "practice", "clinician",
        "local_start", "local_end", "kind_and_channel", "mode", "description", "comment",
        "booked", "booked_through", "cancellation_reason", "cancelled", "cancelled_by",
        "slot_status",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        return super().get_queryset(request).annotate(type_name=slot_type_name("appointment_type"))

    def get_list_display(self, request: HttpRequest) -> Any:
        # The outcome buttons only for those whose role records outcomes.
        if staff_may(signed_in_user(request), StaffAction.RECORD_OUTCOME):
            return self.list_display
        return tuple(name for name in self.list_display if name != "outcome_buttons")

    # Display -----------------------------------------------------------------------------

    @admin.display(description="Time", ordering="start")
    def local_start(self, obj: Appointment) -> str:
        return uk_datetime(obj.start)

    @admin.display(description="Ends")
    def local_end(self, obj: Appointment) -> str:
        return uk_datetime(obj.end)

    @admin.display(description="Booked")
    def booked(self, obj: Appointment) -> str:
        return uk_datetime(obj.booked_at)

    @admin.display(description="Booked through GP Connect by")
    def booked_through(self, obj: Appointment) -> str:
        if not obj.booking_organisation_ods:
            return "-"
        parts = [f"{obj.booking_organisation_name} ({obj.booking_organisation_ods})".strip()]
        if obj.booking_organisation_telecom:
            parts.append(obj.booking_organisation_telecom)
        return ", ".join(parts)

    @admin.display(description="Cancelled")
    def cancelled(self, obj: Appointment) -> str:
        return uk_datetime(obj.cancelled_at)

    @staticmethod
    def _patient_name(obj: Appointment) -> str:
        return obj.patient.full_name or obj.patient.email

    @admin.display(description="Patient", ordering="patient__family_name")
    def patient_link(self, obj: Appointment) -> str:
        name = self._patient_name(obj)
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:booking_patientproxy_change", args=[obj.patient_id]),
            name,
        )

    @admin.display(description="Type", ordering="appointment_type")
    def kind_and_channel(self, obj: Appointment) -> str:
        return f"{display_name(obj, obj.appointment_type)}, {obj.get_channel_display().lower()}"

    @admin.display(description="Record")
    def outcome_buttons(self, obj: Appointment) -> str:
        return self._outcome_buttons(obj, with_mode=False)

    def _outcome_buttons(self, obj: Appointment, *, with_mode: bool) -> str:
        """Buttons that post to the outcome view from inside the page's own form (the
        changelist's or the appointment page's, which carry the CSRF token)."""
        outcomes = services.possible_outcomes(appointment=obj, now=timezone.now())
        if not outcomes:
            return ""
        url = reverse("admin:booking_appointment_outcome", args=[obj.pk])
        patient = obj.patient.full_name
        when = timezone.localtime(obj.start).strftime("%H:%M")
        buttons = format_html_join(
            " ",
            '<button type="submit" class="button outcome" formaction="{}" formmethod="post" '
            'formnovalidate name="outcome" value="{}" aria-label="{}: {} at {}">{}</button>',
            (
                (url, outcome, AppointmentStatus(outcome).label, patient, when,
                 AppointmentStatus(outcome).label)
                for outcome in outcomes
            ),
        )  # fmt: skip
        if not with_mode:
            return format_html('<span class="outcomes">{}</span>', buttons)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, " selected" if value == obj.mode else "", label)
                for value, label in Mode.choices
            ),
        )
        return format_html(
            '<span class="outcomes"><label for="id_outcome_mode">It took place</label> '
            '<select id="id_outcome_mode" name="mode">{}</select> {}</span>',
            options,
            buttons,
        )

    @admin.display(description="NHS number")
    def nhs_number(self, obj: Appointment) -> str:
        profile = getattr(obj.patient, "patient_profile", None)
        return format_nhs_number(profile.nhs_number) if profile and profile.nhs_number else "-"

    @admin.display(description="Slot")
    def slot_status(self, obj: Appointment) -> str:
        return obj.slot.get_status_display()

    def next_steps(self, request: HttpRequest, obj: Appointment) -> str:
        """What can be done next, as the rules allow it now, shown at the top of the
        appointment's page; each view and service checks again."""
        parts = []
        if staff_may(signed_in_user(request), StaffAction.RECORD_OUTCOME):
            parts.append(self._outcome_buttons(obj, with_mode=True))
        if obj.status == AppointmentStatus.BOOKED:
            parts.append(
                format_html(
                    '<a class="button" href="{}">Reschedule</a> '
                    '<a class="button" href="{}">Cancel</a>',
                    reverse("admin:booking_appointment_reschedule", args=[obj.pk]),
                    reverse("admin:booking_appointment_cancel", args=[obj.pk]),
                )
            )
        shown = [part for part in parts if part]
        return format_html_join(" ", "{}", ((part,) for part in shown)) if shown else "-"

    # Permissions: shown, never deleted; changes only through the buttons and actions ------

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and staff_may(
            signed_in_user(request), StaffAction.BOOK_FOR_PATIENT
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Offered exactly as the staff policy allows (booking.services.rules.STAFF_MAY).
        actions = super().get_actions(request)
        user = signed_in_user(request)
        if not staff_may(user, StaffAction.RECORD_OUTCOME):
            for name in ("mark_arrived", "mark_completed", "mark_did_not_attend"):
                actions.pop(name, None)
        if not staff_may(user, StaffAction.CANCEL):
            actions.pop("cancel_selected", None)
        return actions

    # Audit -----------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        record_access(request, action="admin.appointment.list", object_type="appointment")
        day = chosen_day(request)
        extra_context = {**(extra_context or {}), "title": "Appointments"}
        if day is not None:
            extra_context["title"] = f"Appointments: {day_label(day)}"
            extra_context["day_bar"] = {
                "label": day_label(day),
                "previous": _with_day(request, day - dt.timedelta(days=1)),
                "next": _with_day(request, day + dt.timedelta(days=1)),
                "today": _with_day(request, timezone.localdate()),
                "is_today": day == timezone.localdate(),
            }
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        appointment = (
            self.get_queryset(request)
            .select_related("patient", "practice")
            .filter(pk=object_id)
            .first()
            if is_uuid(object_id)
            else None
        )
        record_access(
            request,
            action="admin.appointment.view",
            object_type="appointment",
            object_id=object_id,
            patient=appointment.patient if appointment else None,
            allowed=appointment is not None,
        )
        if appointment is not None:
            extra_context = {
                **(extra_context or {}),
                "next_steps": self.next_steps(request, appointment),
                "title": f"{appointment.reference}: {uk_datetime(appointment.start)}",
                "subtitle": self._patient_name(appointment),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # Booking, rescheduling and cancelling through the services ---------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<uuid:pk>/reschedule/",
                wrap(self.reschedule_view),
                name="booking_appointment_reschedule",
            ),
            path("<uuid:pk>/cancel/", wrap(self.cancel_view), name="booking_appointment_cancel"),
            path("<uuid:pk>/outcome/", wrap(self.outcome_view), name="booking_appointment_outcome"),
            *super().get_urls(),
        ]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        # "Book an appointment" on a patient's page names the patient.
        form = BookForm(
            request.POST or None, request=request, initial={"patient": request.GET.get("patient")}
        )
        if request.method == "POST" and form.is_valid():
            try:
                appointment = services.book_appointment(
                    actor=_actor(request),
                    slot_id=form.cleaned_data["slot"].pk,
                    patient_id=form.cleaned_data["patient"].pk,
                    description=form.cleaned_data["description"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as refusal:
                form.add_error(None, refusal.detail)
            else:
                self.message_user(request, f"Booked {appointment.reference}.")
                return HttpResponseRedirect(
                    reverse("admin:booking_appointment_change", args=[appointment.pk])
                )
        return self._form_page(request, "Book an appointment", form, None)

    @method_decorator(require_POST)
    def outcome_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        """One click on a row or the appointment's page: arrived, completed or did not
        attend (with how it took place, from the page), through the same service and rules
        as the API and the bulk actions."""
        appointment = get_object_or_404(self.get_queryset(request), pk=pk)
        outcome = request.POST.get("outcome", "")
        mode = request.POST.get("mode") or None
        if outcome not in services.OUTCOMES:
            self.message_user(
                request, "Choose arrived, completed or did not attend.", messages.ERROR
            )
            return HttpResponseRedirect(self._back(request, appointment))
        try:
            services.record_outcome(
                actor=_actor(request), appointment_id=appointment.pk, outcome=outcome, mode=mode
            )
        except DomainError as refusal:
            self.message_user(
                request, f"{appointment.reference}: {refusal.detail}", level=messages.ERROR
            )
        else:
            name = appointment.patient.full_name
            self.message_user(
                request,
                f"{name} ({appointment.reference}, {uk_datetime(appointment.start)}): "
                f"{AppointmentStatus(outcome).label.lower()}.",
            )
        return HttpResponseRedirect(self._back(request, appointment))

    def _back(self, request: HttpRequest, appointment: Appointment) -> str:
        """Back where the button was pressed (the day list with its filters, or the
        appointment's page), if that is a page of this site."""
        referer = request.headers.get("referer", "")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return referer
        return reverse("admin:booking_appointment_change", args=[appointment.pk])

    def reschedule_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        appointment = get_object_or_404(self.get_queryset(request), pk=pk)
        if not staff_may(signed_in_user(request), StaffAction.RESCHEDULE):
            return HttpResponseRedirect(reverse("admin:index"))
        form = RescheduleForm(request.POST or None, appointment=appointment, request=request)
        if request.method == "POST" and form.is_valid():
            try:
                services.reschedule_appointment(
                    actor=_actor(request),
                    appointment_id=appointment.pk,
                    new_slot_id=form.cleaned_data["slot"].pk,
                )
            except DomainError as refusal:
                form.add_error(None, refusal.detail)
            else:
                self.message_user(
                    request, f"Moved {appointment.reference}; the old slot is free again."
                )
                return HttpResponseRedirect(
                    reverse("admin:booking_appointment_change", args=[appointment.pk])
                )
        return self._form_page(request, f"Reschedule {appointment.reference}", form, appointment)

    def cancel_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        appointment = get_object_or_404(self.get_queryset(request), pk=pk)
        if not staff_may(signed_in_user(request), StaffAction.CANCEL):
            return HttpResponseRedirect(reverse("admin:index"))
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.cancel_appointment(
                    actor=_actor(request),
                    appointment_id=appointment.pk,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as refusal:
                form.add_error(None, refusal.detail)
            else:
                self.message_user(
                    request, f"Cancelled {appointment.reference}; its slot is free again."
                )
                return HttpResponseRedirect(reverse("admin:booking_appointment_changelist"))
        return self._form_page(request, f"Cancel {appointment.reference}", form, appointment)

    def _form_page(
        self, request: HttpRequest, title: str, form: forms.Form, appointment: Appointment | None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "appointment": appointment,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/booking/appointment/form_page.html", context)

    # Bulk actions ------------------------------------------------------------------------

    def _outcome(self, request: HttpRequest, queryset: QuerySet[Appointment], outcome: str) -> None:
        done = 0
        for appointment in queryset:
            try:
                services.record_outcome(
                    actor=_actor(request), appointment_id=appointment.pk, outcome=outcome
                )
                done += 1
            except DomainError as refusal:
                self.message_user(
                    request, f"{appointment.reference}: {refusal.detail}", level=messages.ERROR
                )
        if done:
            self.message_user(
                request, f"Marked {done} as {AppointmentStatus(outcome).label.lower()}."
            )

    @admin.action(description="Mark arrived")
    def mark_arrived(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._outcome(request, queryset, AppointmentStatus.ARRIVED)

    @admin.action(description="Mark completed")
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._outcome(request, queryset, AppointmentStatus.COMPLETED)

    @admin.action(description="Mark did not attend")
    def mark_did_not_attend(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._outcome(request, queryset, AppointmentStatus.DID_NOT_ATTEND)

    @admin.action(description="Cancel with a reason...")
    def cancel_selected(
        self, request: HttpRequest, queryset: QuerySet[Appointment]
    ) -> HttpResponse | None:
        form = CancelForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for appointment in queryset:
                try:
                    services.cancel_appointment(
                        actor=_actor(request),
                        appointment_id=appointment.pk,
                        reason=form.cleaned_data["reason"],
                    )
                    done += 1
                except DomainError as refusal:
                    self.message_user(
                        request, f"{appointment.reference}: {refusal.detail}", level=messages.ERROR
                    )
            if done:
                self.message_user(request, f"Cancelled {done}; their slots are free again.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel appointments",
            "form": form,
            "appointments": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/booking/appointment/cancel_selected.html", context)


class AppointmentsOfPatientInline(admin.TabularInline):
    model = Appointment
    fk_name = "patient"
    extra = 0
    can_delete = False
    fields = ("reference", "when", "practice", "clinician", "kind", "status")
    readonly_fields = fields
    ordering = ("-start",)
    show_change_link = True
    verbose_name_plural = "appointments"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        # Only the appointments at the staff member's own practices: a patient may have been
        # seen elsewhere, which is no business of this practice.
        visible: QuerySet[Appointment] = Appointment.objects.visible_to(signed_in_user(request))
        return visible.select_related("practice", "clinician").annotate(
            type_name=slot_type_name("appointment_type")
        )

    @admin.display(description="When")
    def when(self, obj: Appointment) -> str:
        return uk_datetime(obj.start)

    @admin.display(description="Type")
    def kind(self, obj: Appointment) -> str:
        return display_name(obj, obj.appointment_type)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RegistrationInline(ScopedInline, admin.StackedInline):
    """The registered practice is the one thing staff change here (choices: their practices)."""

    model = PatientProfile
    can_delete = False
    fields = ("registered_practice",)
    verbose_name = "registration"
    verbose_name_plural = "registration"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _book_for(patient: User) -> str:
    return f"{reverse('admin:booking_appointment_add')}?patient={patient.pk}"


class PatientProxy(User):
    class Meta:
        proxy = True
        verbose_name = "patient"
        verbose_name_plural = "patients"


@admin.register(PatientProxy)
class PatientAdmin(NhsNumberSearch, PracticeScopedAdmin):
    """Patients registered at the staff member's practices: profile and appointment history."""

    practice_path = "patient_profile__registered_practice"
    list_display = (
        "family_name",
        "given_name",
        "nhs",
        "date_of_birth",
        "registered_practice",
        "book",
    )
    ordering = ("family_name", "given_name", "pk")
    search_fields = ("given_name", "family_name", "email", "=patient_profile__nhs_number")
    list_select_related = ("patient_profile__registered_practice",)
    fields = (
        "given_name",
        "family_name",
        "email",
        "nhs",
        "date_of_birth",
        "phone",
        "address",
        "preferences",
    )
    readonly_fields = fields
    inlines = [RegistrationInline, AppointmentsOfPatientInline]
    actions = ["unlock_sign_in", "confirm_nhs_number"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(role=Role.PATIENT)

    @admin.action(
        description="Confirm NHS number (after checking the patient's identity)",
        permissions=["change"],
    )
    def confirm_nhs_number(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The queryset is already this staff member's own patients (PracticeScopedAdmin).
        confirmed, refused = 0, []
        for patient in queryset.select_related("patient_profile"):
            try:
                account_services.confirm_nhs_number(
                    actor=signed_in_user(request),
                    patient=patient,
                    client_address=client_ip(request),
                )
                confirmed += 1
            except DomainError as exc:
                refused.append(f"{patient.full_name or patient.email}: {exc.detail}")
        if confirmed:
            self.message_user(request, f"Confirmed the NHS number of {confirmed} patients.")
        for message in refused:
            self.message_user(request, message, level=messages.ERROR)

    @admin.action(
        description="Unlock sign-in (after too many wrong passwords)", permissions=["change"]
    )
    def unlock_sign_in(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The queryset is already this staff member's own patients (PracticeScopedAdmin).
        unlocked = [
            patient
            for patient in queryset
            if account_services.unlock_sign_in(
                actor=signed_in_user(request), patient=patient, client_address=client_ip(request)
            )
        ]
        self.message_user(
            request,
            f"Unlocked {len(unlocked)} of {queryset.count()} selected patients' sign-in."
            if unlocked
            else "None of the selected patients was locked out.",
        )

    @admin.display(description="NHS number")
    def nhs(self, obj: User) -> str:
        profile = getattr(obj, "patient_profile", None)
        if profile is None or not profile.nhs_number:
            return "-"
        # What the patient typed is a claim until the practice has checked it.
        suffix = "" if profile.nhs_number_confirmed else " (unconfirmed)"
        return format_nhs_number(profile.nhs_number) + suffix

    @admin.display(description="Date of birth", ordering="patient_profile__date_of_birth")
    def date_of_birth(self, obj: User) -> str:
        return uk_date(getattr(getattr(obj, "patient_profile", None), "date_of_birth", None))

    @admin.display(description="Book")
    def book(self, obj: User) -> str:
        return format_html(
            '<a href="{}" aria-label="Book an appointment for {}">Book an appointment</a>',
            _book_for(obj),
            obj.full_name or obj.email,
        )

    @admin.display(description="Mobile")
    def phone(self, obj: User) -> str:
        return getattr(getattr(obj, "patient_profile", None), "phone", "")

    @admin.display(description="Address")
    def address(self, obj: User) -> str:
        profile = getattr(obj, "patient_profile", None)
        if profile is None:
            return "-"
        parts = (profile.address_line_1, profile.address_line_2, profile.town, profile.postcode)
        return ", ".join(p for p in parts if p)

    @admin.display(description="Registered practice")
    def registered_practice(self, obj: User) -> Any:
        return getattr(getattr(obj, "patient_profile", None), "registered_practice", None)

    @admin.display(description="Messages")
    def preferences(self, obj: User) -> str:
        profile = getattr(obj, "patient_profile", None)
        if profile is None:
            return "-"
        channels = [
            name
            for name, on in (("email", profile.notify_by_email), ("SMS", profile.notify_by_sms))
            if on
        ]
        return ", ".join(channels) or "none"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_list_display(self, request: HttpRequest) -> Any:
        if staff_may(signed_in_user(request), StaffAction.BOOK_FOR_PATIENT):
            return self.list_display
        return tuple(name for name in self.list_display if name != "book")

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        record_access(request, action="admin.patient.list", object_type="patient")
        return super().changelist_view(request, {**(extra_context or {}), "title": "Patients"})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        patient = (
            self.get_queryset(request)
            .select_related("patient_profile")
            .filter(pk=object_id)
            .first()
            if is_uuid(object_id)
            else None
        )
        record_access(
            request,
            action="admin.patient.view",
            object_type="patient",
            object_id=object_id,
            patient=patient,
            allowed=patient is not None,
        )
        if patient is not None:
            # Headed by the patient's name, with booking for them one click away.
            extra_context = {
                **(extra_context or {}),
                "title": patient.full_name or patient.email,
                "subtitle": "Patient record",
            }
            if staff_may(signed_in_user(request), StaffAction.BOOK_FOR_PATIENT):
                extra_context["book_url"] = _book_for(patient)
        return super().change_view(request, object_id, form_url, extra_context)


def report_panel(request: HttpRequest) -> dict[str, Any] | None:
    """The report's way in, on the home page, for those who may read it."""
    if request.user.is_superuser or request.user.has_perm(report_views.PERMISSION):
        return {"template": "admin/booking/report_panel.html"}
    return None


admin.site.register_page("report/", report_views.practice_report, name="practice_report")  # type: ignore[attr-defined]
admin.site.register_home_panel(report_panel)  # type: ignore[attr-defined]

from . import waiting_list_admin  # noqa: E402, F401  # registers the waiting list's pages
