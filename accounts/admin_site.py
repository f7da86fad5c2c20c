"""The staff admin site: practice staff and operators only, shown in UK local time."""

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import Role

STAFF_TIMEZONE = ZoneInfo("Europe/London")


class StaffAdminSite(admin.AdminSite):
    site_header = "GP Booking: practice staff"
    site_title = "GP Booking"
    index_title = "Run the day"

    def has_permission(self, request: HttpRequest) -> bool:
        # Patients never get in, even if someone set is_staff on one (the database refuses
        # that too).
        user = request.user
        return bool(
            user.is_active and user.is_staff and (user.is_superuser or user.role != Role.PATIENT)
        )


class AdminTimezoneMiddleware:
    """Staff read and type times in UK local time; the API and storage stay in UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/admin/"):
            with timezone.override(STAFF_TIMEZONE):
                return self.get_response(request)
        return self.get_response(request)
