from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.http.caching import public_reference

urlpatterns = [
    path("admin/", admin.site.urls),
    path(".well-known/", include("accounts.api.wellknown")),
    # Where the links in account emails land (accounts.emails names these paths).
    path("account/", include("accounts.page_urls")),
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
    path("api/v1/auth/", include("accounts.api.urls")),
    path("api/v1/", include("practices.api.urls")),
    path("api/v1/", include("booking.api.urls")),
]

handler400 = "core.http.errors.bad_request"
handler403 = "core.http.errors.permission_denied"
handler404 = "core.http.errors.page_not_found"
handler500 = "core.http.errors.server_error"
