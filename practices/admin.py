"""Operator views of practices. Practice-scoped staff views come with the admin issue."""

from django.contrib import admin

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


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


class MembershipInline(admin.TabularInline):
    model = PracticeMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ("ods_code", "name", "postcode", "is_active")
    list_filter = ("is_active",)
    search_fields = ("ods_code", "name", "postcode")
    inlines = [OpeningHoursInline, ClosureInline, MembershipInline]


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = ("display_name", "profession", "gender")
    list_filter = ("profession",)
    search_fields = ("display_name", "user__email")
    autocomplete_fields = ["user"]


@admin.register(SessionTemplate)
class SessionTemplateAdmin(admin.ModelAdmin):
    list_display = ("practice", "clinician", "weekday", "start_time", "end_time", "slot_type")
    list_filter = ("practice", "weekday")


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("practice", "clinician", "date", "start", "end", "slots_generated_at")
    list_filter = ("practice",)
    date_hierarchy = "date"


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ("start", "end", "practice", "clinician", "slot_type", "channel", "status")
    list_filter = ("status", "channel", "practice")
    date_hierarchy = "start"
    list_select_related = ("practice", "clinician")
