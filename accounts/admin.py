"""Operator views of accounts. Practice-scoped staff views come with the admin issue."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model
from django.http import HttpRequest

from . import services
from .models import (
    AccountEmail,
    AddressLockout,
    AuditEvent,
    LoginLockout,
    PatientProfile,
    Role,
    User,
)


class OperatorsOnly:
    """Accounts, lockouts and the audit trail are for operators (superusers) only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser


class PatientProfileInline(admin.StackedInline):
    model = PatientProfile
    can_delete = False


@admin.register(User)
class UserAdmin(OperatorsOnly, DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "given_name", "family_name", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("email", "given_name", "family_name")
    readonly_fields = ("id", "date_joined", "last_login")
    inlines = [PatientProfileInline]
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Name", {"fields": ("given_name", "family_name")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # Staff get their role's permission group; patients can never be staff.
        obj.is_staff = obj.role != Role.PATIENT and (obj.is_staff or not change)
        super().save_model(request, obj, form, change)
        services.sync_staff_groups(obj)


@admin.register(LoginLockout)
class LoginLockoutAdmin(OperatorsOnly, admin.ModelAdmin):
    list_display = ("email", "failed_attempts", "locked_until", "last_failed_at")
    search_fields = ("email",)


@admin.register(AddressLockout)
class AddressLockoutAdmin(OperatorsOnly, admin.ModelAdmin):
    """Client addresses locked after many failed sign-ins; operators may lift one."""

    list_display = ("address", "failed_attempts", "locked_until", "last_failed_at")
    search_fields = ("address",)


@admin.register(AuditEvent)
class AuditEventAdmin(OperatorsOnly, admin.ModelAdmin):
    """Who looked at which patient's data, and when. Read-only, operators only."""

    list_display = (
        "at",
        "actor",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "patient",
        "allowed",
        "source_address",
    )
    list_filter = ("action", "allowed", "actor_role")
    search_fields = ("actor__email", "patient__email", "object_id", "request_id")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


@admin.register(AccountEmail)
class AccountEmailAdmin(OperatorsOnly, admin.ModelAdmin):
    """Account emails (confirmation, reset, notices) and how their sending went. Read-only,
    operators only; no row holds a link."""

    list_display = ("created_at", "kind", "user", "status", "attempts", "sent_at", "last_error")
    list_filter = ("kind", "status")
    search_fields = ("user__email",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AccountEmail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AccountEmail | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AccountEmail | None = None) -> bool:
        return False
