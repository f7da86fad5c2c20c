"""Writing the audit trail of access to patient data."""

from django.http import HttpRequest

from config.http.request_id import client_ip

from .models import AuditEvent, User


def record_access(
    request: HttpRequest,
    *,
    action: str,
    object_type: str = "",
    object_id: object = "",
    patient: User | None = None,
    allowed: bool = True,
) -> AuditEvent:
    """One audit row for this request's access to patient data."""
    user = request.user if request.user.is_authenticated else None
    return AuditEvent.objects.create(
        actor=user,
        actor_role=("operator" if user.is_superuser else user.role) if user else "anonymous",
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient=patient,
        allowed=allowed,
        source_address=client_ip(request)[:45],
        request_id=getattr(request, "request_id", "")[:128],
        path=request.get_full_path()[:300],
    )
