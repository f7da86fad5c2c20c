"""Operator views of accounts. Practice-scoped staff views come with the admin issue."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import LoginLockout, PatientProfile, User


class PatientProfileInline(admin.StackedInline):
    model = PatientProfile
    can_delete = False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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


@admin.register(LoginLockout)
class LoginLockoutAdmin(admin.ModelAdmin):
    list_display = ("email", "failed_attempts", "locked_until", "last_failed_at")
    search_fields = ("email",)
