"""The audit trail of access to patient data: one row per request, denied attempts included."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response

from core.http.client import client_ip
from core.http.request_id import current_request_id

from .models import AuditEvent, User

# The actor_role of what another organisation's system did through GP Connect (gpconnect.audit):
# the access log names the organisation instead of a staff member.
GP_CONNECT_ROLE = "gp_connect"

if TYPE_CHECKING:
    from rest_framework.views import APIView

    _ViewBase = APIView
else:
    _ViewBase = object


def record_access(
    request: HttpRequest,
    *,
    action: str,
    object_type: str = "",
    object_id: object = "",
    patient: User | UUID | None = None,
    allowed: bool = True,
) -> AuditEvent:
    """One audit row for this request's access to patient data."""
    user = (
        request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    )
    return record_event(
        action=action,
        object_type=object_type,
        object_id=object_id,
        source_address=client_ip(request),
        patient=patient,
        actor=user,
        allowed=allowed,
        # The path only: query strings may carry search terms such as NHS numbers.
        path=request.path,
    )


def record_event(
    *,
    action: str,
    object_type: str,
    object_id: object,
    source_address: str,
    patient: User | UUID | None = None,
    actor: User | None = None,
    actor_role: str | None = None,
    allowed: bool = False,
    path: str = "",
    organisation: str = "",
    via: str = "",
) -> AuditEvent:
    """One audit row. Views call ``record_access``; services call this for what they notice
    themselves (a lock set or lifted), where no request is at hand; ``actor_role`` "system"
    marks what the service did by itself (a waiting-list offer). ``organisation`` and ``via``
    are for a request another organisation made through another system (GP Connect): who it
    was for ("NHS 111 North West (RYA)") and which system brought it."""
    return AuditEvent.objects.create(
        actor=actor,
        actor_role=actor_role
        or (("operator" if actor.is_superuser else actor.role) if actor else "anonymous"),
        action=action,
        object_type=object_type,
        object_id=_storable(str(object_id or ""))[:64],
        # A user, or just their id when that is all the caller has.
        patient_id=patient.pk if isinstance(patient, User) else patient,
        allowed=allowed,
        source_address=source_address[:45],
        # The middleware's id for this request, if there is one.
        request_id=current_request_id.get()[:128],
        path=_storable(path)[:300],
        organisation=_storable(organisation)[:200],
        via=_storable(via)[:200],
    )


def _storable(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL cannot store: an address a client
    made up (``/gpconnect/fhir/%00``) is still recorded."""
    return text.replace("\x00", "")


@dataclass(slots=True)
class AuditRecord:
    """What a view tells the audit trail about the request it is answering.

    Slotted, so a misspelt field (``audit.patinet = ...``) raises instead of silently leaving
    the patient out of the row.
    """

    object_type: str
    patient: User | UUID | None = None
    object_id: object = ""


class AuditedViewMixin(_ViewBase):
    """For views over patient data. The view fills ``self.audit`` once it knows the patient
    and the object; the row is written as the response is finalised, so exactly once,
    whatever the outcome (an authentication failure is audited too)."""

    audit_object_type = ""
    audit: AuditRecord

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        self.audit = AuditRecord(object_type=self.audit_object_type)
        return super().initialize_request(request, *args, **kwargs)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # A request always has a method; only a bare HttpRequest() lacks one.
        view_action = getattr(self, "action", None) or cast(str, request.method).lower()
        record_access(
            request,
            action=f"api.{self.audit.object_type}.{view_action}",
            object_type=self.audit.object_type,
            object_id=self.audit.object_id or kwargs.get("pk", ""),
            patient=self.audit.patient,
            allowed=response.status_code < 400,
        )
        return response
