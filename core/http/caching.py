"""No cache anywhere keeps an API answer unless its view says the answer is public.

Tokens and patient data must never sit in a browser's, a proxy's or a CDN's cache, and a
shared computer's back button must not show the last patient's appointments. Public reference
data (the practice directory, the schema) says so itself with ``public_for``.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

NO_STORE = "no-store"
PUBLIC_SECONDS = 300


def public_for(response: HttpResponse, seconds: int = PUBLIC_SECONDS) -> HttpResponse:
    """Mark a successful answer as the same for everyone, cacheable for ``seconds``."""
    if response.status_code == 200:
        response["Cache-Control"] = f"public, max-age={seconds}"
    return response


class ApiCacheControlMiddleware:
    """``Cache-Control: no-store`` on every /api/ answer (errors too) that set none itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and not response.has_header("Cache-Control"):
            response["Cache-Control"] = NO_STORE
        return response


def public_reference(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view whose successful answers are the same for everyone (its errors stay no-store)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return public_for(view(request, *args, **kwargs))

    return wrapped
