"""The waiting list in the admin: each practice's list with every entry's wishes and offers,
an offer made out of turn, and an entry removed with a reason. Every change goes through
``booking.services.waiting_list``; every view of the list is audited like the appointment book.
"""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.audit import record_access
from accounts.authentication import signed_in_user
from core.exceptions import DomainError
from core.formats import uk_date, uk_datetime
from practices.admin_scoping import PracticeScopedAdmin
from practices.models import Channel, Gender, Slot, SlotStatus, slot_type_name

from .admin import SlotChoiceField, _actor, is_uuid
from .models import TimeOfDay, WaitingListEntry, WaitingListOffer
from .services import StaffAction, staff_may, waiting_list


def wishes(entry: WaitingListEntry) -> str:
    """What the patient would accept, as staff read it."""
    parts = [f"{uk_date(entry.earliest_date)} to {uk_date(entry.latest_date)}"]
    if entry.appointment_types:
        parts.append(", ".join(entry.appointment_types))
    if entry.times_of_day:
        parts.append(
            ", ".join(TimeOfDay(t).label.split(" (")[0].lower() for t in entry.times_of_day)
        )
    if entry.channels:
        parts.append(", ".join(Channel(c).label.lower() for c in entry.channels))
    if entry.clinician_id:
        parts.append(f"with {entry.clinician}")
    if entry.clinician_gender:
        parts.append(f"{Gender(entry.clinician_gender).label.lower()} clinician")
    if entry.move_appointment_id:
        parts.append("moving an existing appointment earlier")
    return "; ".join(parts)


class OfferSlotForm(forms.Form):
    slot = SlotChoiceField(
        queryset=Slot.objects.none(),
        help_text="Free slots released for online booking within the patient's dates. The slot "
        "is held for them for the practice's offer time, and they are told by SMS and email.",
    )

    def __init__(self, *args: Any, entry: WaitingListEntry, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        tz = entry.practice.tz
        first = dt.datetime.combine(entry.earliest_date, dt.time.min, tzinfo=tz)
        after_last = dt.datetime.combine(
            entry.latest_date + dt.timedelta(days=1), dt.time.min, tzinfo=tz
        )
        self.fields["slot"].queryset = (  # type: ignore[attr-defined]
            Slot.objects.filter(
                practice=entry.practice,
                status__in=[SlotStatus.FREE, SlotStatus.HELD],
                online_bookable=True,
                start__gte=max(first, now),
                start__lt=after_last,
            )
            .select_related("clinician")
            .annotate(type_name=slot_type_name("slot_type"))
            .order_by("start", "clinician__display_name")
        )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        help_text='Kept with the entry, e.g. "Booked by phone" or "Moved away".',
    )


class OffersInline(admin.TabularInline):
    model = WaitingListOffer
    extra = 0
    can_delete = False
    fields = ("offered", "slot_time", "status", "expires", "closed", "offered_by", "appointment")
    readonly_fields = fields
    verbose_name = "offer"
    verbose_name_plural = "offers (newest first)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitingListOffer]:
        return (
            super()
            .get_queryset(request)
            .select_related("slot__clinician", "offered_by", "appointment")
            .order_by("-offered_at")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Offered")
    def offered(self, obj: WaitingListOffer) -> str:
        return uk_datetime(obj.offered_at)

    @admin.display(description="Slot")
    def slot_time(self, obj: WaitingListOffer) -> str:
        return f"{uk_datetime(obj.slot.start)}, {obj.slot.clinician.display_name}"

    @admin.display(description="Until")
    def expires(self, obj: WaitingListOffer) -> str:
        return uk_datetime(obj.expires_at)

    @admin.display(description="Ended")
    def closed(self, obj: WaitingListOffer) -> str:
        return uk_datetime(obj.closed_at)


@admin.register(WaitingListEntry)
class WaitingListEntryAdmin(PracticeScopedAdmin):
    list_display = ("joined", "patient_link", "wishes_shown", "status", "last_offer", "practice")
    list_filter = ("status", ("practice", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "patient__given_name",
        "patient__family_name",
        "=patient__patient_profile__nhs_number",
    )
    list_select_related = ("patient", "practice", "clinician")
    ordering = ("joined_at", "id")
    inlines = [OffersInline]
    fields = (
        "patient_link", "practice", "status", "joined", "wishes_shown", "closed", "closed_reason",
        "closed_by", "next_steps",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # patients join themselves; staff offer slots or book for them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removed with a reason, and kept

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitingListEntry]:
        return super().get_queryset(request).prefetch_related("offers")

    @admin.display(description="Joined", ordering="joined_at")
    def joined(self, obj: WaitingListEntry) -> str:
        return uk_datetime(obj.joined_at)

    @admin.display(description="Ended")
    def closed(self, obj: WaitingListEntry) -> str:
        return uk_datetime(obj.closed_at)

    @admin.display(description="Patient", ordering="patient__family_name")
    def patient_link(self, obj: WaitingListEntry) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:booking_patientproxy_change", args=[obj.patient_id]),
            obj.patient.full_name or obj.patient.email,
        )

    @admin.display(description="Would accept")
    def wishes_shown(self, obj: WaitingListEntry) -> str:
        return wishes(obj)

    @admin.display(description="Last offer")
    def last_offer(self, obj: WaitingListEntry) -> str:
        offers = sorted(obj.offers.all(), key=lambda o: o.offered_at)
        if not offers:
            return "-"
        last = offers[-1]
        return f"{last.get_status_display()}, {uk_datetime(last.offered_at)} ({len(offers)} in all)"

    @admin.display(description="Next steps")
    def next_steps(self, obj: WaitingListEntry) -> str:
        if obj.status != WaitingListEntry.Status.WAITING:
            return "-"
        return format_html_join(
            " ",
            '<a class="button" href="{}">{}</a>',
            [
                (reverse("admin:booking_waitinglistentry_offer", args=[obj.pk]), "Offer a slot"),
                (
                    reverse("admin:booking_waitinglistentry_remove", args=[obj.pk]),
                    "Remove from the list",
                ),
            ],
        )

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:pk>/offer/", wrap(self.offer_view), name="booking_waitinglistentry_offer"),
            path(
                "<uuid:pk>/remove/", wrap(self.remove_view), name="booking_waitinglistentry_remove"
            ),
            *super().get_urls(),
        ]

    def _entry(self, request: HttpRequest, pk: Any) -> WaitingListEntry:
        entry = get_object_or_404(self.get_queryset(request).select_related("practice"), pk=pk)
        record_access(
            request,
            action="admin.waiting_list.view",
            object_type="waiting_list_entry",
            object_id=entry.pk,
            patient=entry.patient,
        )
        return entry

    def offer_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        if not staff_may(signed_in_user(request), StaffAction.MANAGE_WAITING_LIST):
            return HttpResponseRedirect(reverse("admin:index"))
        entry = self._entry(request, pk)
        form = OfferSlotForm(request.POST or None, entry=entry)
        if request.method == "POST" and form.is_valid():
            try:
                offer = waiting_list.offer_slot(
                    actor=_actor(request), entry_id=entry.pk, slot_id=form.cleaned_data["slot"].pk
                )
            except DomainError as refusal:
                form.add_error(None, refusal.detail)
            else:
                self.message_user(
                    request,
                    f"Offered {uk_datetime(offer.slot.start)} to {entry.patient.full_name}, "
                    f"held until {uk_datetime(offer.expires_at)}.",
                )
                return HttpResponseRedirect(
                    reverse("admin:booking_waitinglistentry_change", args=[entry.pk])
                )
        return self._form_page(request, "Offer a slot", form, entry)

    def remove_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        if not staff_may(signed_in_user(request), StaffAction.MANAGE_WAITING_LIST):
            return HttpResponseRedirect(reverse("admin:index"))
        entry = self._entry(request, pk)
        form = RemoveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                waiting_list.remove_entry(
                    actor=_actor(request), entry_id=entry.pk, reason=form.cleaned_data["reason"]
                )
            except DomainError as refusal:
                form.add_error(None, refusal.detail)
            else:
                self.message_user(request, f"Removed {entry.patient.full_name} from the list.")
                return HttpResponseRedirect(reverse("admin:booking_waitinglistentry_changelist"))
        return self._form_page(request, "Remove from the list", form, entry)

    def _form_page(
        self, request: HttpRequest, title: str, form: forms.Form, entry: WaitingListEntry
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "entry": entry,
            "joined": uk_datetime(entry.joined_at),
            "wishes": wishes(entry),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/booking/waitinglistentry/form_page.html", context)

    # Audit -----------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        record_access(request, action="admin.waiting_list.list", object_type="waiting_list_entry")
        return super().changelist_view(request, {**(extra_context or {}), "title": "Waiting list"})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        entry = (
            self.get_queryset(request).filter(pk=object_id).select_related("patient").first()
            if is_uuid(object_id)
            else None
        )
        record_access(
            request,
            action="admin.waiting_list.view",
            object_type="waiting_list_entry",
            object_id=object_id,
            patient=entry.patient if entry else None,
            allowed=entry is not None,
        )
        # The patient's name is on the page, not in the tab (browser history).
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "title": "Waiting list entry"}
        )
