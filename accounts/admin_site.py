"""The staff admin site: practice staff and operators only, shown in UK local time."""

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone

from core.exceptions import NotAuthenticated, TooManyRequests
from core.http.client import client_ip
from core.http.throttling import count_scoped_hit

from . import services
from .models import Role
from .services import ACCOUNT_LOCKED

STAFF_TIMEZONE = ZoneInfo("Europe/London")

# A home-page panel: given the request, {"template": ..., **its context}, or None.
HomePanel = Callable[[HttpRequest], "dict[str, Any] | None"]


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in through the same service, and so the same locks, as the API's."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": ACCOUNT_LOCKED,
        "throttled": "Too many sign-in attempts from here. Please wait a minute and try again.",
    }

    def clean(self) -> dict[str, Any]:
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if email and password:
            address = client_ip(self.request) if self.request is not None else ""
            # The API's login limit per client address, in the same counter: one budget of
            # attempts whichever door they come through.
            if count_scoped_hit("login", address) is not None:
                raise ValidationError(self.error_messages["throttled"], code="throttled")
            try:
                user = services.log_in(email=email, password=password, client_address=address)
            except TooManyRequests as exc:
                raise ValidationError(self.error_messages["locked"], code="locked") from exc
            except NotAuthenticated as exc:
                raise self.get_invalid_login_error() from exc
            self.confirm_login_allowed(user)
            self.user_cache = user
        return self.cleaned_data


class StaffAdminSite(admin.AdminSite):
    login_form = StaffAuthenticationForm
    site_header = "GP Booking: practice staff"
    site_title = "GP Booking"
    index_title = "Run the day"

    index_template = "admin/staff_index.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[Any] = []
        self._home_panels: list[HomePanel] = []

    def register_page(self, route: str, view: Callable[..., HttpResponse], *, name: str) -> None:
        """A staff page of an app above this one (the practice report), at /admin/<route>,
        added from that app's admin module: accounts imports none of them."""
        self._pages.append(path(route, self.admin_view(view), name=name))

    def register_home_panel(self, panel: "HomePanel") -> None:
        """Something the home page shows above the list of models (slot types still without
        a national category, the report's link): ``panel(request)`` gives the template to
        include and its context, or None when there is nothing to show."""
        self._home_panels.append(panel)

    def get_urls(self) -> list[Any]:
        return [*self._pages, *super().get_urls()]

    def index(self, request: HttpRequest, extra_context: Any = None) -> Any:
        panels = [shown for panel in self._home_panels if (shown := panel(request)) is not None]
        return super().index(request, {**(extra_context or {}), "home_panels": panels})

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
