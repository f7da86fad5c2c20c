"""Liveness (/healthz) and readiness (/readyz) probes.

Answered by a middleware placed first, because the load balancer probes each task by its
private IP over plain HTTP: that Host is not in ALLOWED_HOSTS and HTTPS redirect is on, so a
normal view would answer 400 or 301 and the task would be killed as unhealthy.
"""

import logging
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import PROBLEM_CONTENT_TYPE, problem_body

logger = logging.getLogger(__name__)


def healthz() -> JsonResponse:
    """The process is up. Deliberately no database: a DB blip must not restart every task."""
    return JsonResponse({"status": "ok"})


def readyz() -> JsonResponse:
    """The process can serve traffic: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure to reach the database means "not ready"
        logger.warning("readiness check failed: database unreachable", exc_info=True)
        return JsonResponse(
            problem_body(
                status=503, code="database_unavailable", detail="The database is unreachable."
            ),
            status=503,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    return JsonResponse({"status": "ok", "database": "ok"})


PROBES: dict[str, Callable[[], JsonResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            response = probe()
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
