"""Request body limits, enforced before any parser reads the body.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE only guards ``request.body``; DRF's parsers read the
stream directly, so the limit is checked here from Content-Length.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import PROBLEM_CONTENT_TYPE, problem_body


class BodySizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
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
