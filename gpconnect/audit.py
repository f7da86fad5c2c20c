"""The audit trail of the GP Connect door: one row per interaction, refused ones included, as
GP Connect requires ("failed or rejected API transactions are recorded with the same detail as
for successful API requests")."""

from uuid import UUID

from django.http import HttpRequest

from accounts.audit import GP_CONNECT_ROLE, record_event
from accounts.models import AuditEvent, User
from core.http.client import client_ip

from .auth import Consumer


def record_interaction(
    request: HttpRequest,
    *,
    consumer: Consumer | None,
    action: str,
    object_type: str = "",
    object_id: object = "",
    patient: User | UUID | None = None,
    allowed: bool = True,
) -> AuditEvent:
    """One audit row for this GP Connect request. The actor is the consumer system's service
    user; the row also names the organisation the JWT says the request is for ("NHS 111 North
    West (RYA)"), which is what the patient's access log shows. ``consumer`` is None for a
    request refused before we knew who sent it."""
    organisation = via = ""
    if consumer is not None:
        org = consumer.organisation
        organisation = f"{org.name} ({org.ods_code})" if org.name else org.ods_code
        via = consumer.system.name
    return record_event(
        action=action,
        object_type=object_type,
        object_id=object_id,
        source_address=client_ip(request),
        patient=patient,
        actor=consumer.system.user if consumer is not None else None,
        actor_role=GP_CONNECT_ROLE,
        allowed=allowed,
        # The path only: query strings may carry search terms such as NHS numbers.
        path=request.path,
        organisation=organisation,
        via=via,
    )
