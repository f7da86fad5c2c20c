"""Practice staff's admin: their practices, clinicians, rota and slots. Superusers see all."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from practices.admin_scoping import PracticeScopedAdmin, ScopedInline

from . import services
from .models import (
    Clinician,
    Closure,
    OpeningHours,
    Practice,
    PracticeMembership,
    Session,
    SessionTemplate,
    Slot,
)

GENERATE_WEEKS = 4


class OpeningHoursInline(ScopedInline):
    model = OpeningHours


class ClosureInline(ScopedInline):
    model = Closure


class MembershipInline(admin.TabularInline):
    model = PracticeMembership
    extra = 0
    verbose_name = "staff member"
    verbose_name_plural = "staff"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user" and not request.user.is_superuser:
            # Staff accounts only (never a patient), and only people not yet at any practice
            # or already at one of ours: other practices' staff stay out of sight.
            practices = Practice.objects.staffed_by(request.user)
            kwargs["queryset"] = User.objects.filter(
                Q(practice_memberships__isnull=True)
                | Q(practice_memberships__practice__in=practices),
                is_staff=True,
                is_superuser=False,
            ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Practice)
class PracticeAdmin(PracticeScopedAdmin):
    practice_path = ""
    list_display = ("ods_code", "name", "postcode", "is_active")
    list_filter = ("is_active",)
    search_fields = ("ods_code", "name", "postcode")
    inlines = [OpeningHoursInline, ClosureInline, MembershipInline]
    fieldsets = (
        (None, {"fields": ("ods_code", "name", "is_active", "timezone")}),
        (
            "Contact",
            {"fields": ("address_line_1", "address_line_2", "town", "postcode", "phone", "email")},
        ),
        (
            "Booking rules",
            {
                "fields": (
                    "booking_horizon_days",
                    "min_notice_minutes",
                    "cancellation_cutoff_minutes",
                    "max_future_appointments",
                    "registered_patients_only",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Practice | None = None) -> Any:
        # The public identifier is fixed once issued; only operators add or rename practices.
        return () if request.user.is_superuser else ("ods_code", "is_active")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Practice | None = None) -> bool:
        return request.user.is_superuser


@admin.register(Clinician)
class ClinicianAdmin(PracticeScopedAdmin):
    practice_path = "user__practice_memberships__practice"
    list_display = ("display_name", "profession", "gender")
    list_filter = ("profession",)
    search_fields = ("display_name", "user__email")


@admin.register(SessionTemplate)
class SessionTemplateAdmin(PracticeScopedAdmin):
    list_display = (
        "clinician",
        "practice",
        "weekday",
        "start_time",
        "end_time",
        "slot_minutes",
        "slot_type",
        "channel",
        "online_bookable",
        "is_active",
    )
    list_filter = (
        ("practice", admin.RelatedOnlyFieldListFilter),
        "weekday",
        "channel",
        "is_active",
    )
    actions = ["generate"]

    @admin.action(description=f"Generate sessions and slots for the next {GENERATE_WEEKS} weeks")
    def generate(self, request: HttpRequest, queryset: QuerySet[SessionTemplate]) -> None:
        sessions = slots = 0
        for practice in Practice.objects.filter(pk__in=queryset.values("practice_id")):
            result = services.generate_slots(weeks=GENERATE_WEEKS, practice=practice)
            sessions, slots = sessions + result.sessions_created, slots + result.slots_created
        self.message_user(request, f"Created {sessions} sessions and {slots} slots.")


@admin.register(Session)
class SessionAdmin(PracticeScopedAdmin):
    list_display = (
        "date",
        "start",
        "end",
        "clinician",
        "practice",
        "slot_type",
        "channel",
        "slots_generated_at",
    )
    list_filter = (
        ("practice", admin.RelatedOnlyFieldListFilter),
        ("clinician", admin.RelatedOnlyFieldListFilter),
        "channel",
    )
    date_hierarchy = "start"
    exclude = ("date", "template", "slots_generated_at")
    actions = ["cut_into_slots", "copy_to_next_week"]

    def save_model(self, request: HttpRequest, obj: Session, form: Any, change: bool) -> None:
        obj.date = obj.start.astimezone(obj.practice.tz).date()
        super().save_model(request, obj, form, change)

    @admin.action(description="Cut into slots")
    def cut_into_slots(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        made = services.cut_sessions(queryset)
        self.message_user(request, f"Created {made} slots.")

    @admin.action(description="Copy to the following week")
    def copy_to_next_week(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        made = services.copy_sessions(sessions=queryset)
        skipped = queryset.count() - made
        self.message_user(
            request, f"Copied {made} sessions; {skipped} skipped as they would clash."
        )


@admin.register(Slot)
class SlotAdmin(PracticeScopedAdmin):
    list_display = (
        "start",
        "end",
        "clinician",
        "practice",
        "slot_type",
        "channel",
        "online_bookable",
        "status",
    )
    list_filter = (
        "status",
        "channel",
        "slot_type",
        "online_bookable",
        ("clinician", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "start"
    list_select_related = ("practice", "clinician")
    actions = ["block", "release"]
    readonly_fields = ("status",)

    def get_readonly_fields(self, request: HttpRequest, obj: Slot | None = None) -> Any:
        # A slot with an appointment keeps its time and clinician: moving it would move a
        # patient's appointment behind their back.
        if obj is not None and obj.appointments.exists():
            return ("practice", "clinician", "start", "end", "status")
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Slot | None = None) -> bool:
        if obj is not None and obj.appointments.exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Block (staff can no longer book them)")
    def block(self, request: HttpRequest, queryset: QuerySet[Slot]) -> None:
        changed, skipped = services.set_slots_blocked(slots=queryset, blocked=True)
        self._report(request, changed, skipped, "Blocked", services.SLOT_NOT_FREE)

    @admin.action(description="Release (free to book again)")
    def release(self, request: HttpRequest, queryset: QuerySet[Slot]) -> None:
        changed, skipped = services.set_slots_blocked(slots=queryset, blocked=False)
        self._report(request, changed, skipped, "Released", services.SLOT_NOT_BLOCKED)

    def _report(
        self, request: HttpRequest, changed: int, skipped: int, verb: str, why: str
    ) -> None:
        self.message_user(request, f"{verb} {changed} slots.")
        if skipped:
            self.message_user(request, f"Skipped {skipped}: {why}", level=messages.WARNING)
