"""One audit row per API request that touches patient data, denied attempts included."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response


class AuditedViewMixin:
    """For views over patient data. A view may set ``request.audit_patient`` (a user) and
    ``request.audit_object_id`` once it knows them; the row is written as the response is
    finalised, so it is written exactly once, whatever the outcome."""

    audit_object_type = ""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        from accounts.audit import record_access

        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        view_action = getattr(self, "action", None) or request.method.lower()
        record_access(
            request,
            action=f"api.{self.audit_object_type}.{view_action}",
            object_type=self.audit_object_type,
            object_id=getattr(request, "audit_object_id", None) or kwargs.get("pk", ""),
            patient=getattr(request, "audit_patient", None),
            allowed=response.status_code < 400,
        )
        return response
