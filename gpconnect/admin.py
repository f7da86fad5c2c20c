"""Operators register the systems allowed through the GP Connect door, and revoke them."""

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from accounts.admin import OperatorsOnly

from .models import ConsumerSystem


@admin.register(ConsumerSystem)
class ConsumerSystemAdmin(OperatorsOnly, admin.ModelAdmin):
    """Who may book through GP Connect is an operator's decision (superusers only), made with
    the key its supplier sent: compare the fingerprint with theirs before saving."""

    list_display = ("name", "client_id", "asid", "is_active", "revoked_at", "key_fingerprint")
    list_filter = ("is_active",)
    search_fields = ("name", "client_id", "asid")
    fields = (
        "name",
        "client_id",
        "asid",
        "organisations",
        "public_key",
        "key_fingerprint",
        "is_active",
        "revoked_at",
        "created_at",
        "user",
    )
    readonly_fields = ("key_fingerprint", "is_active", "revoked_at", "created_at", "user")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    # Revoked, never deleted: its bookings and audit rows keep naming it.
    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="Key fingerprint (SHA-256)")
    def key_fingerprint(self, obj: ConsumerSystem) -> str:
        return obj.key_fingerprint

    @admin.action(description="Revoke access through GP Connect", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ConsumerSystem]) -> None:
        revoked = [system for system in queryset if system.revoked_at is None]
        for system in revoked:
            system.revoke()
        self.message_user(
            request,
            f"Revoked {len(revoked)} consumer systems: their requests are refused from now on."
            if revoked
            else "The selected systems were already revoked.",
            level=messages.SUCCESS if revoked else messages.WARNING,
        )
