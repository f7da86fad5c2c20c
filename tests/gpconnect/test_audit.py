"""What the audit trail records of a GP Connect request, and how the patient reads it in
their access log: the organisation the request was for, "through GP Connect".

Personas: alice (a Riverside patient), whose record NHS 111 North West looks at through its
Adastra system (``consumer_system``).
"""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from gpconnect.audit import record_interaction
from gpconnect.auth import READ_APPOINTMENT, authenticate
from tests.conftest import client_for

from .conftest import AUDIT_ORGANISATION

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumer(rf, gpc_headers):
    request = rf.get("/gpconnect/fhir/Appointment/1", headers=gpc_headers(READ_APPOINTMENT))
    return authenticate(request, interaction_id=READ_APPOINTMENT)


def test_an_interaction_writes_one_row_naming_the_organisation_and_the_system(
    rf, consumer, consumer_system, alice
):
    request = rf.get("/gpconnect/fhir/Appointment/1?x=9434765919", REMOTE_ADDR="10.1.2.3")

    record_interaction(
        request,
        consumer=consumer,
        action="gpconnect.appointment.read",
        object_type="appointment",
        object_id="1",
        patient=alice,
    )

    event = AuditEvent.objects.get()
    assert event.actor == consumer_system.user
    assert event.actor_role == "gp_connect"
    assert event.organisation == AUDIT_ORGANISATION
    assert event.via == consumer_system.name
    assert (event.action, event.object_type, event.object_id) == (
        "gpconnect.appointment.read",
        "appointment",
        "1",
    )
    assert (event.patient, event.allowed) == (alice, True)
    # The path only: a query string may carry an NHS number.
    assert event.path == "/gpconnect/fhir/Appointment/1"
    assert event.source_address == "10.1.2.3"


def test_a_request_refused_before_we_knew_who_sent_it_is_recorded_too(rf):
    record_interaction(
        rf.get("/gpconnect/fhir/Slot"),
        consumer=None,
        action="gpconnect.slot.search",
        allowed=False,
    )

    event = AuditEvent.objects.get()
    assert (event.actor, event.actor_role, event.allowed) == (None, "gp_connect", False)
    assert (event.organisation, event.via) == ("", "")


def test_the_patients_access_log_names_the_organisation_through_gp_connect(
    rf, client, consumer, alice
):
    record_interaction(
        rf.get("/gpconnect/fhir/Appointment/1"),
        consumer=consumer,
        action="gpconnect.appointment.read",
        patient=alice,
    )
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(reverse("account-pages:access-log"))

    assert response.status_code == 200
    assert f"{AUDIT_ORGANISATION} through GP Connect" in response.text
    # Not the system's service account, and no staff role under it.
    assert "Gp_connect" not in response.text
    assert "GP Connect NHS 111" not in response.text


def test_the_apis_access_log_names_it_alike(rf, consumer, alice):
    record_interaction(
        rf.get("/gpconnect/fhir/Appointment/1"),
        consumer=consumer,
        action="gpconnect.appointment.read",
        patient=alice,
    )

    response = client_for(alice).get("/api/v1/auth/me/access-log")

    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["who"] == f"{AUDIT_ORGANISATION} through GP Connect"
    assert row["role"] == "gp_connect"
