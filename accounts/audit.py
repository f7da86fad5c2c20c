"""Writing the audit trail of access to patient data."""

from typing import Any

from django.http import HttpRequest

from config.http.request_id import client_ip

from .models import AuditEvent, User


def record_access(
    request: HttpRequest,
    *,
    action: str,
    object_type: str = "",
    object_id: object = "",
    patient: User | Any = None,
    allowed: bool = True,
) -> AuditEvent:
    """One audit row for this request's access to patient data."""
    user = (
        request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    )
    return AuditEvent.objects.create(
        actor=user,
        actor_role=("operator" if user.is_superuser else user.role) if user else "anonymous",
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        # A user, or just their id when that is all the caller has.
        patient_id=getattr(patient, "pk", patient),
        allowed=allowed,
        source_address=client_ip(request)[:45],
        request_id=getattr(request, "request_id", "")[:128],
        # The path only: query strings may carry search terms such as NHS numbers.
        path=request.path[:300],
    )
