"""The REST API's OpenAPI document leads a reader to the FHIR door, whose own description is
its CapabilityStatement."""

import pytest
from django.urls import reverse

from gpconnect.auth import READ_METADATA


@pytest.mark.django_db
def test_the_openapi_description_links_the_gp_connect_capability_statement(client, fhir):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert "/gpconnect/fhir/metadata" in schema["info"]["description"]
    assert "gpconnect" in schema["externalDocs"]["url"]
    # ... and that address is the CapabilityStatement.
    statement = fhir.get(reverse("gpconnect:metadata"), READ_METADATA).json()
    assert statement["resourceType"] == "CapabilityStatement"
