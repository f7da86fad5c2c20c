"""Pages anyone may read: the accessibility statement and the privacy notice."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from core.pages import in_uk_time, render_page


@in_uk_time
@require_http_methods(["GET"])
def accessibility(request: HttpRequest) -> HttpResponse:
    return render_page(request, "booking/pages/accessibility.html")


@in_uk_time
@require_http_methods(["GET"])
def privacy(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "booking/pages/privacy.html",
        {"session_minutes": settings.SESSION_IDLE_MINUTES},
    )
