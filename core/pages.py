"""What every patient page shares: who may open it, how it answers, how a refusal reads.

The pages are a second door to the services the API calls: a view reads a form, calls one
service and renders what came back. Rules live in the services, so a page and the API refuse
the same things with the same words. Pages answer with the status a refusal carries (a 409
page for a slot gone, a 422 for a rule), so tests and monitoring see what the API would.
"""

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from core.exceptions import DomainError, TooManyRequests
from core.http.throttling import count_scoped_hit

# Every practice is in England: times on the pages are UK times, whatever the server's zone.
PAGE_TIMEZONE = ZoneInfo("Europe/London")

STAFF_ONLY_ADMIN = (
    "These pages are for patients. Practice staff book and change appointments in the "
    "practice admin."
)

TOO_MANY = "You have made a lot of requests in a short time. Please wait a minute and try again."

View = Callable[..., HttpResponse]


def render_page(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(request, template, dict(context or {}), status=status)


def message_page(
    request: HttpRequest,
    *,
    title: str,
    message: str,
    status: int = 200,
    next_url: str = "",
    next_label: str = "",
) -> HttpResponse:
    return render_page(
        request,
        "pages/message.html",
        {"title": title, "message": message, "next_url": next_url, "next_label": next_label},
        status=status,
    )


def refusal_page(request: HttpRequest, refusal: DomainError, *, title: str) -> HttpResponse:
    """A refusal that no field of the form caused, as a page of its own."""
    response = message_page(
        request, title=title, message=refusal.detail, status=refusal.http_status
    )
    if isinstance(refusal, TooManyRequests):
        response["Retry-After"] = str(refusal.retry_after)
    return response


def add_refusal(
    form: forms.Form, refusal: DomainError, *, fields: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on the form: on the fields it names (``fields`` maps the
    service's names to the form's where they differ), else above the form."""
    unplaced = [] if refusal.errors else [refusal.detail]
    for name, messages in (refusal.errors or {}).items():
        field = (fields or {}).get(name, name)
        if field in form.fields:
            for message in messages:
                form.add_error(field, message)
        else:
            unplaced.extend(messages)
    for message in unplaced:
        form.add_error(None, message)


def page_links(request: HttpRequest, *, number: int, has_next: bool) -> dict[str, Any]:
    """The addresses of the pages before and after page ``number`` of a list, keeping the
    rest of the query (a search's filters), for pages/_pagination.html."""

    def url(page: int) -> str:
        query = request.GET.copy()
        query["page"] = str(page)
        return f"?{query.urlencode()}"

    return {
        "previous_page": number - 1,
        "next_page": number + 1,
        "previous_url": url(number - 1) if number > 1 else "",
        "next_url": url(number + 1) if has_next else "",
    }


def sign_in_url(next_path: str) -> str:
    return f"{reverse('account-pages:sign-in')}?{urlencode({'next': next_path})}"


def safe_next(request: HttpRequest, default: str) -> str:
    """Where ``?next=`` says to go after signing in, if it is a path on this site."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted.startswith("/") and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def _referring_path(request: HttpRequest) -> str:
    referer = urlsplit(request.headers.get("Referer", ""))
    if referer.netloc == request.get_host() and referer.path.startswith("/"):
        return referer.path
    return "/"


def is_patient(user: Any) -> bool:
    """A patient and nothing more: an operator (superuser) sees every record through the
    querysets, so they never use the patient pages, whatever their role says."""
    return bool(
        user.is_authenticated and user.is_patient and not user.is_staff and not user.is_superuser
    )


def in_uk_time(view: View) -> View:
    """Every page shows times as UK wall-clock times (the server works in UTC)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(PAGE_TIMEZONE):
            return view(request, *args, **kwargs)

    return wrapped


def patient_page(view: View) -> View:
    """A page for a signed-in patient: anyone else is sent to sign in, staff are told to use
    the admin (403). It counts against the patient's API rate (429 past it). Never cached:
    every one of them shows patient data."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            # After signing in, a GET comes back here; a form sent after the session ended
            # goes back to the page it was sent from (signing in cannot resend it).
            back = request.get_full_path() if request.method == "GET" else _referring_path(request)
            return redirect(sign_in_url(back))
        if not is_patient(request.user):
            return message_page(
                request,
                title="Use the practice admin",
                message=STAFF_ONLY_ADMIN,
                status=403,
                next_url=reverse("admin:index"),
                next_label="Go to the practice admin",
            )
        # The API's per-user budget, in the same counter: one budget whichever door is used.
        wait = count_scoped_hit("user", str(request.user.pk))
        if wait is not None:
            response = message_page(request, title="Please wait", message=TOO_MANY, status=429)
            response["Retry-After"] = str(int(wait))
            return response
        return view(request, *args, **kwargs)

    return never_cache(in_uk_time(wrapped))
