from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from core.http.caching import public_reference
from core.http.errors import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path(".well-known/", include("accounts.api.wellknown")),
    # The schema is public reference data, the same for everyone.
    path("api/schema/", public_reference(SpectacularAPIView.as_view()), name="schema"),
    # Swagger UI from our own static files (drf-spectacular-sidecar), its start-up script
    # served apart from the page: the Content-Security-Policy allows no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="core/swagger_ui.html"
        ),
        name="docs",
    ),
    # ReDoc from our own files too. It styles itself with <style> elements and searches in a
    # worker made from a blob: its page alone allows those (no inline script).
    path(
        "api/redoc/",
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html")
        ),
        name="redoc",
    ),
    path("api/v1/auth/", include("accounts.api.urls")),
    path("api/v1/", include("practices.api.urls")),
    path("api/v1/", include("booking.api.urls")),
    # GP Connect (FHIR STU3) for NHS 111 and other NHS services: the same booking core.
    path("gpconnect/fhir/", include("gpconnect.urls")),
    # One practice's service root, as the Spine directory lists each practice's endpoint.
    path(
        "gpconnect/<str:ods>/fhir/",
        include(("gpconnect.urls", "gpconnect"), namespace="gpconnect-practice"),
    ),
    # Anything else under /api/ is the API's own 404 (a problem body), with DEBUG on too.
    re_path(r"^api(?:/.*)?$", csrf_exempt(api_not_found), name="api-not-found"),
    # The patient pages, from the front door: sign in, register, book and change appointments,
    # the waiting list, the account (and where the links in emails land).
    path("", include("accounts.page_urls")),
    path("", include("booking.page_urls")),
]

handler400 = "core.http.errors.bad_request"
handler403 = "core.http.errors.permission_denied"
handler404 = "core.http.errors.page_not_found"
handler500 = "core.http.errors.server_error"
