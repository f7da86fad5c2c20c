"""Request size limits, enforced before any view or parser runs.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE only guards ``request.body``; DRF's parsers read the
stream directly, so the body limit is checked here from Content-Length. The URL limit is ours
too (gunicorn's own is lifted in config/gunicorn.py) so that an over-long query string gets
the same JSON problem body as every other refusal, not a server's HTML page.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import PROBLEM_CONTENT_TYPE, problem_body


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        url_length = len(request.META.get("PATH_INFO", "")) + len(
            request.META.get("QUERY_STRING", "")
        )
        if url_length > settings.MAX_URL_LENGTH:
            return _problem(
                414, "uri_too_long", f"The URL may be at most {settings.MAX_URL_LENGTH} characters."
            )
        if request.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return _problem(411, "length_required", "Send a Content-Length header.")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _problem(400, "bad_request", "Content-Length is not a number.")
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return _problem(
                413,
                "body_too_large",
                f"The request body may be at most {settings.MAX_REQUEST_BODY_BYTES} bytes.",
            )
        return self.get_response(request)


def _problem(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(
        problem_body(status=status, code=code, detail=detail),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
