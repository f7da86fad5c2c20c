"""Practice staff's admin: their practices, clinicians, rota and slots. Superusers see all."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.forms import SimpleArrayField
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from accounts.models import User
from practices.admin_scoping import PracticeScopedAdmin, ScopedInline, slot_type_filter

from . import services
from .appointment_types import display_name
from .models import (
    Clinician,
    Closure,
    ExternalBookability,
    OpeningHours,
    OrganisationType,
    Practice,
    PracticeMembership,
    Session,
    SessionTemplate,
    Slot,
    SlotType,
    slot_type_name,
)

GENERATE_WEEKS = 4


class SlotTypeChoice(PracticeScopedAdmin):
    """Templates, sessions and slots pick their type from the practice's slot types by name
    (the model's clean() checks it belongs to the chosen practice)."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "slot_type":
            types = SlotType.objects.filter(is_active=True)
            if not request.user.is_superuser:
                types = types.filter(practice__in=Practice.objects.staffed_by(request.user))
            choices = sorted(set(types.values_list("code", "name")), key=lambda pair: pair[1])
            return forms.ChoiceField(
                choices=[("", "---------"), *choices],
                label="Slot type",
                help_text="Add types, and map them to national categories, under Slot types.",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(type_name=slot_type_name("slot_type"))

    @admin.display(description="Slot type", ordering="slot_type")
    def kind(self, obj: Any) -> str:
        return display_name(obj, obj.slot_type)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return form if obj is not None else _from_slot_type(form)


def _from_slot_type(form: Any) -> Any:
    """A new template, session or slot's form in which the length and online booking say
    "as the slot type says" until someone chooses otherwise."""

    class FromSlotType(form):  # a form class made per admin
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if "slot_minutes" in self.fields:
                self.fields["slot_minutes"] = forms.IntegerField(
                    label="Slot minutes", required=False, min_value=5, max_value=240,
                    help_text="Leave empty for the slot type's length.",
                )  # fmt: skip
            if "online_bookable" in self.fields:
                self.fields["online_bookable"] = forms.TypedChoiceField(
                    label="Online bookable", required=False, empty_value=None,
                    choices=[("", "As the slot type says"), ("yes", "Yes"), ("no", "No")],
                    coerce=lambda value: value == "yes",
                )  # fmt: skip

        def clean(self) -> dict[str, Any]:
            data = super().clean()
            kind = SlotType.objects.filter(
                practice=data.get("practice"), code=data.get("slot_type") or ""
            ).first()
            if "slot_minutes" in self.fields and data.get("slot_minutes") is None:
                data["slot_minutes"] = kind.duration_minutes if kind else 10
            if "online_bookable" in self.fields and data.get("online_bookable") is None:
                data["online_bookable"] = kind.online_bookable if kind else True
            return data

    return FromSlotType


class CategoryFilter(admin.SimpleListFilter):
    title = "national category"
    parameter_name = "mapped"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Not mapped yet"), ("yes", "Mapped")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "no":
            return queryset.filter(national_category="")
        if self.value() == "yes":
            return queryset.exclude(national_category="")
        return queryset


class ExternalBookabilityForm(forms.ModelForm):
    organisation_types = forms.MultipleChoiceField(
        choices=OrganisationType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Only organisations of these types",
        help_text="None ticked: any type.",
    )
    ods_codes = SimpleArrayField(
        forms.CharField(max_length=10),
        required=False,
        label="Only these organisations (ODS codes)",
        help_text="Separated by commas, e.g. RYA, A81002. Empty: any organisation.",
    )

    class Meta:
        model = ExternalBookability
        fields = ("bookable", "organisation_types", "ods_codes", "daily_limit")

    def has_changed(self) -> bool:
        # The inline shows no empty row (extra = 0): a new row is only posted when someone
        # chose to add it, so it is saved even if they kept every default ("any organisation
        # may book"), which Django would otherwise skip as an untouched extra form.
        return self.instance._state.adding or super().has_changed()


GP_CONNECT_MATCHING = (
    "Other NHS organisations (NHS 111, other practices) book through GP Connect only if the "
    "practice has GP Connect enabled, and within its GP Connect notice and days ahead. With no "
    "type ticked and no ODS code, any organisation may book. With types ticked, it must be of "
    "one of them; with ODS codes, it must be one of them; with both, both. An organisation "
    "that does not say its type (or code) sees only slots not restricted by type (or code)."
)


class ExternalBookabilityInline(admin.StackedInline):
    """A slot type's or a session's GP Connect setting (one at most). It is part of the slot
    type or session: whoever may change that may change its setting."""

    model = ExternalBookability
    form = ExternalBookabilityForm
    template = "admin/practices/gp_connect_inline.html"
    extra = 0
    max_num = 1
    parent = ""  # the model name of the slot type or session
    help_text = ""  # shown above the inline, with or without a row

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # A second row would break the one-per-slot-type (or session) constraint: say so on
        # the form rather than fail at the database.
        return super().get_formset(request, obj, validate_max=True, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(f"practices.view_{self.parent}") or self._may_change(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change(request)

    def _may_change(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"practices.change_{self.parent}")


class SlotTypeBookabilityInline(ExternalBookabilityInline):
    parent = "slottype"
    help_text = (
        "Slots of this type are offered through GP Connect only with a setting here that makes "
        "them bookable; a session's own setting, if it has one, takes precedence. "
        + GP_CONNECT_MATCHING
    )


class SessionBookabilityInline(ExternalBookabilityInline):
    parent = "session"
    help_text = (
        "Add a setting only for a session that differs from its slot type: it then replaces "
        "the slot type's GP Connect setting for this session's slots. " + GP_CONNECT_MATCHING
    )


@admin.register(SlotType)
class SlotTypeAdmin(PracticeScopedAdmin):
    """A practice's kinds of appointment, each mapped to NHS England's national category,
    service setting and mode (GPAD): what the practice report and its export count by."""

    list_display = (
        "name",
        "code",
        "practice",
        "category",
        "service_setting",
        "default_mode",
        "duration_minutes",
        "online_bookable",
        "is_active",
    )
    list_filter = (
        CategoryFilter,
        "national_category",
        "default_mode",
        "is_active",
        ("practice", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "code")
    ordering = ("practice__name", "name")
    list_select_related = ("practice",)
    inlines = [SlotTypeBookabilityInline]
    fields = (
        "practice",
        "name",
        "code",
        "national_category",
        "service_setting",
        "default_mode",
        "duration_minutes",
        "online_bookable",
        "is_active",
    )

    @admin.display(description="National category", ordering="national_category")
    def category(self, obj: SlotType) -> str:
        return obj.category_label if obj.national_category else "Not mapped yet"

    def get_readonly_fields(self, request: HttpRequest, obj: SlotType | None = None) -> Any:
        # Apps and stored appointments speak the code: it is fixed once the type exists.
        return ("practice", "code") if obj is not None else ()

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # No bulk delete: each type is checked for use on its own delete page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: SlotType | None = None) -> bool:
        # A type in use stays (the database refuses otherwise): switch it off instead.
        if obj is not None and _slot_type_in_use(obj):
            return False
        return super().has_delete_permission(request, obj)


def _slot_type_in_use(slot_type: SlotType) -> bool:
    # Through the (practice, code) relations, appointments' included (booking's, by name).
    return any(
        getattr(slot_type, related).exists()
        for related in ("session_templates", "sessions", "slots", "appointments")
    )


def unmapped_slot_types_panel(request: HttpRequest) -> dict[str, Any] | None:
    """The home page's warning: the staff member's slot types still without a national
    category (NHS England's appointment data reports them as "Unmapped")."""
    unmapped = SlotType.objects.unmapped().select_related("practice")
    if not request.user.is_superuser:
        unmapped = unmapped.filter(practice__in=Practice.objects.staffed_by(request.user))
    found = list(unmapped.order_by("practice__name", "name")[:20])
    if not found:
        return None
    return {"template": "admin/practices/unmapped_panel.html", "slot_types": found}


admin.site.register_home_panel(unmapped_slot_types_panel)  # type: ignore[attr-defined]


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
        (
            "Waiting list",
            {
                "description": "A slot freed by a cancellation or a move, or released, is "
                "offered to waiting patients in the order they joined, and held for them.",
                "fields": (
                    "waiting_list_enabled",
                    "offer_minutes",
                    "offer_batch_size",
                    "max_waiting_entries",
                ),
            },
        ),
        (
            "GP Connect",
            {
                "description": "Other NHS organisations, such as NHS 111, may book here through "
                "GP Connect: only slots whose slot type or session is marked bookable by GP "
                "Connect, and only within these limits (the patients' booking rules above do "
                "not apply to them).",
                "fields": (
                    "gp_connect_enabled",
                    "external_horizon_days",
                    "external_min_notice_minutes",
                ),
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

    def save_model(self, request: HttpRequest, obj: Practice, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:  # a new practice starts with the common slot types, already mapped
            services.ensure_default_slot_types(practice=obj)


@admin.register(Clinician)
class ClinicianAdmin(PracticeScopedAdmin):
    practice_path = "user__practice_memberships__practice"
    list_display = ("display_name", "profession", "gender")
    list_filter = ("profession",)
    search_fields = ("display_name", "user__email")


@admin.register(SessionTemplate)
class SessionTemplateAdmin(SlotTypeChoice):
    list_display = (
        "clinician",
        "practice",
        "weekday",
        "start_time",
        "end_time",
        "slot_minutes",
        "kind",
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
class SessionAdmin(SlotTypeChoice):
    list_display = (
        "date",
        "start",
        "end",
        "clinician",
        "practice",
        "kind",
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

    def get_inlines(self, request: HttpRequest, obj: Session | None) -> list[Any]:
        # A session's GP Connect setting is an exception to its slot type's, made on a session
        # that exists (most are generated from templates): the add form stays short.
        return [SessionBookabilityInline] if obj is not None else []

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
class SlotAdmin(SlotTypeChoice):
    list_display = (
        "start",
        "end",
        "clinician",
        "practice",
        "kind",
        "channel",
        "online_bookable",
        "status",
    )
    list_filter = (
        "status",
        "channel",
        slot_type_filter("slot_type"),
        "online_bookable",
        ("clinician", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "start"
    list_select_related = ("practice", "clinician")
    actions = ["block", "release"]
    readonly_fields = ("status",)

    @staticmethod
    def _holds_appointment(slot: Slot) -> bool:
        """Any appointment's slot, or one of the later slots of an appointment spanning several
        (related names only: booking sits above this app)."""
        return slot.appointments.exists() or slot.extra_of.filter(released=False).exists()

    def get_readonly_fields(self, request: HttpRequest, obj: Slot | None = None) -> Any:
        # A slot with an appointment keeps its time and clinician: moving it would move a
        # patient's appointment behind their back.
        if obj is not None and self._holds_appointment(obj):
            return ("practice", "clinician", "start", "end", "slot_type", "status")
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Slot | None = None) -> bool:
        if obj is not None and self._holds_appointment(obj):
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
