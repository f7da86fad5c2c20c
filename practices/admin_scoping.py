"""Scoping every admin page to the practices the signed-in staff member works at."""

from typing import Any

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from practices.models import Practice


class PracticeScopedAdmin(admin.ModelAdmin):
    """Rows, foreign-key choices, search results and actions limited to the staff member's
    practices. ``practice_path`` is the lookup from this model to its Practice."""

    practice_path = "practice"

    @staticmethod
    def practices(request: HttpRequest) -> QuerySet[Practice]:
        return Practice.objects.staffed_by(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        lookup = f"{self.practice_path}__in" if self.practice_path else "pk__in"
        # A subquery rather than a join, so rows reached through several memberships appear
        # once without DISTINCT (which row locks in the services cannot work with).
        in_scope = self.model._default_manager.filter(**{lookup: self.practices(request)})
        return rows.filter(pk__in=in_scope.values("pk"))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            scoped = scoped_choices(db_field.related_model, request)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _in_scope(self, request: HttpRequest, obj: Model | None) -> bool:
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    # ``obj`` is Any, as in an unparameterised ModelAdmin: subclasses name their own model.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._in_scope(request, obj)


def scoped_choices(model: type[Model], request: HttpRequest) -> QuerySet[Any] | None:
    """What a staff member may pick for a foreign key to ``model``; None if not scoped."""
    from accounts.models import User
    from practices.models import Clinician, Session, SessionTemplate, Slot

    practices = Practice.objects.staffed_by(request.user)
    if model is Practice:
        return practices
    if model is Clinician:
        return Clinician.objects.filter(
            user__practice_memberships__practice__in=practices
        ).distinct()
    if model in (Session, SessionTemplate, Slot):
        return model.objects.filter(practice__in=practices)
    if model is User:
        # Patients registered here and staff working here: never anyone else's people.
        here = Q(patient_profile__registered_practice__in=practices)
        return User.objects.filter(
            here | Q(practice_memberships__practice__in=practices)
        ).distinct()
    return None


class ScopedInline(admin.TabularInline):
    """An inline whose foreign-key choices are scoped like PracticeScopedAdmin's."""

    extra = 0

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser:
            scoped = scoped_choices(db_field.related_model, request)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def slot_type_filter(field: str) -> type[admin.SimpleListFilter]:
    """A list filter on ``field`` (a slot type code) that shows the types by the names the
    staff member's practices gave them, never their codes."""

    class SlotTypeFilter(admin.SimpleListFilter):
        title = "type"
        parameter_name = "type"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            from practices.models import SlotType

            types = SlotType.objects.all()
            if not request.user.is_superuser:
                types = types.filter(practice__in=Practice.objects.staffed_by(request.user))
            return sorted(set(types.values_list("code", "name")), key=lambda pair: pair[1])

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    return SlotTypeFilter
