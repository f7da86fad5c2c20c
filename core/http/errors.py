"""One error body for the whole API, in the style of RFC 9457 (Problem Details):

    {"type": "urn:gp-booking:problem:<code>", "title": ..., "status": ..., "detail": ...,
     "code": ..., "errors": {field: [messages]}}

``code`` is stable for clients and tests; ``errors`` appears for field-level problems.

400 means the request does not match the published schema (a missing field, a wrong type, an
unknown field); 422 means it matches but breaks a rule the schema cannot express (an NHS
number whose check digit is wrong, an end before its start). Field errors are 422 when every
one of them carries a code from ``RULE_CODES``.
"""

import sys
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.db import database_unreachable
from core.exceptions import DomainError, TooManyRequests

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Validation codes of rules beyond the schema's reach (fields and serializers raise them).
RULE_CODES = frozenset(
    {
        "invalid_nhs_number",
        "invalid_phone",
        "invalid_postcode",
        "does_not_exist",
        "range_backwards",
        "range_too_wide",
        "out_of_range",
        # JSON allows NUL and lone surrogates in strings; we refuse them in text fields.
        "null_characters_not_allowed",
        # Text that is only whitespace: the schema's minLength counts the spaces, we do not.
        "blank",
        "surrogate_characters_not_allowed",
        # Control or invisible formatting characters in a person's name.
        "invalid_name",
    }
)


def problem_body(
    *, status: int, code: str, detail: str, errors: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:gp-booking:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structures as {"field.sub": [messages]}."""
    if isinstance(errors, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in errors.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(errors, list) and errors and all(isinstance(e, Mapping | list) for e in errors):
        flat = {}
        for index, value in enumerate(errors):
            flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = errors if isinstance(errors, list) else [errors]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


def _codes(codes: Any) -> list[str]:
    if isinstance(codes, Mapping):
        return [c for value in codes.values() for c in _codes(value)]
    if isinstance(codes, list):
        return [c for value in codes for c in _codes(value)]
    return [str(codes)]


def _first_code(exc: exceptions.APIException) -> str:
    codes = _codes(exc.get_codes())
    return codes[0] if codes else str(exc.default_code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, reshaped into problem details; domain errors mapped by their class."""
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else {}
        return Response(
            problem_body(
                status=exc.http_status,
                code=exc.code,
                detail=exc.detail,
                errors=exc.errors,
                **exc.extra,
            ),
            status=exc.http_status,
            headers=headers,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's handler500 answers with a generic problem body
    if isinstance(exc, exceptions.ValidationError):
        codes = _codes(exc.get_codes())
        if codes and all(code in RULE_CODES for code in codes):
            response.status_code = 422
        body = problem_body(
            status=response.status_code,
            code="validation_error",
            detail="The request has invalid fields.",
            errors=_flatten(response.data),
        )
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        body = problem_body(
            status=response.status_code,
            code=_first_code(exc) if isinstance(exc, exceptions.APIException) else "error",
            detail=str(detail) or HTTPStatus(response.status_code).phrase,
        )
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def wants_page(request: HttpRequest | None) -> bool:
    """A browser asking for a page (the patient pages, the admin), not an API client: it gets
    an HTML answer in the NHS design instead of a problem body."""
    return (
        request is not None
        and not request.path.startswith("/api/")
        and "text/html" in request.headers.get("Accept", "")
    )


def _error_page(status: int, title: str, message: str) -> HttpResponse:
    # Rendered without the request: no session or user is read, so it works with the
    # database down too.
    return HttpResponse(
        render_to_string("pages/error.html", {"title": title, "message": message}), status=status
    )


def _problem_view(
    status: int, code: str, detail: str, *, page_title: str, page_message: str
) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        if wants_page(request):
            return _error_page(status, page_title, page_message)
        return JsonResponse(
            problem_body(status=status, code=code, detail=detail),
            status=status,
            content_type=PROBLEM_CONTENT_TYPE,
        )

    return view


# Django-level handlers for what never reaches a DRF view (unknown URLs, crashes).
bad_request = _problem_view(
    400,
    "bad_request",
    "The request could not be understood.",
    page_title="Sorry, there is a problem with this request",
    page_message="Go back and try again.",
)
permission_denied = _problem_view(
    403,
    "permission_denied",
    "You may not do this.",
    page_title="You cannot do this",
    page_message="Go back and try again, or sign in again.",
)
page_not_found = _problem_view(
    404,
    "not_found",
    "There is nothing at this address.",
    page_title="Page not found",
    page_message="If you typed the web address, check it is correct. If you pasted it, check "
    "you copied the whole address.",
)


def api_not_found(request: HttpRequest) -> HttpResponse:
    """Any other path under /api/: the API's own 404, with DEBUG on too. A GET of a known
    address without its trailing slash (/api/docs) is sent to it, as APPEND_SLASH would."""
    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            return HttpResponsePermanentRedirect(request.path + "/")
    return page_not_found(request)


SERVICE_PROBLEM = "Sorry, there is a problem with the service"
_crash = _problem_view(
    500,
    "server_error",
    "Something went wrong on our side.",
    page_title=SERVICE_PROBLEM,
    page_message="Try again later. If you need to book an appointment now, call your practice.",
)

# While the database cannot be reached: come back shortly.
DATABASE_RETRY_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler for any exception nothing else answered.

    One that says the database is unreachable (a restart, a failover, a network blip) is not a
    bug in the request: 503 with Retry-After, so clients retry. Django drops the broken
    connection after the request, so service resumes by itself once the database is back. A
    query the database refused (a statement timeout, a deadlock) stays a 500: a bug to fix.
    """
    error = sys.exc_info()[1]
    if error is not None and database_unreachable(error):
        if wants_page(request):
            response = _error_page(503, SERVICE_PROBLEM, "Try again in a few seconds.")
            response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
            return response
        response = JsonResponse(
            problem_body(
                status=503,
                code="database_unavailable",
                detail="The service is briefly unavailable. Please try again in a few seconds.",
            ),
            status=503,
            content_type=PROBLEM_CONTENT_TYPE,
        )
        response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        return response
    return _crash(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form posted without its CSRF token, or with an old one (the page was open while the
    session ended): a page that says what to do, in place of Django's developer page."""
    if wants_page(request):
        return _error_page(
            403,
            "Sorry, this form has expired",
            "Go back, reload the page and try again. If you were signed out, sign in again.",
        )
    return permission_denied(request)
