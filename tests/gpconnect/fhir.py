"""Every GP Connect answer, checked against the FHIR STU3 models of ``fhir.resources``.

``FhirClient`` is the Django test client for the FHIR door: it sends an interaction's headers
and validates every JSON body it gets back (Bundles entry by entry), so no test can see a
response that is not valid FHIR.
"""

import json
from typing import Any

from django.test import Client
from fhir.resources.STU3 import get_fhir_model_class

FHIR_JSON = "application/fhir+json;charset=utf-8"


def validate(resource: dict[str, Any]) -> None:
    """Raises if ``resource`` is not a valid STU3 resource of its type (unknown elements
    included); Bundle entries and contained resources are validated as their own types."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    for entry in resource.get("entry", []):
        validate(entry["resource"])
    for contained in resource.get("contained", []):
        validate(contained)
    # GP Connect's profiles: every resource we answer names its profile (Bundles and the
    # CapabilityStatement have none).
    if resource["resourceType"] not in {"Bundle", "CapabilityStatement"}:
        assert resource["meta"]["profile"], resource


class FhirClient:
    """Requests as a consumer system sends them; every response body validated."""

    def __init__(self, client: Client, headers: Any) -> None:
        self.client = client
        self.headers = headers
        self.seen = 0

    def _check(self, response: Any) -> Any:
        if response.content:
            assert response["Content-Type"] == FHIR_JSON
            validate(response.json())
        assert response["Cache-Control"] == "no-store"
        self.seen += 1
        return response

    def get(self, url: str, interaction: str, **options: Any) -> Any:
        extra = options.pop("headers", {})
        return self._check(
            self.client.get(url, headers=self.headers(interaction, **options) | extra)
        )

    def send(self, method: str, url: str, interaction: str, body: Any, **options: Any) -> Any:
        extra = options.pop("headers", {})
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self._check(
            self.client.generic(
                method,
                url,
                data=data,
                content_type="application/fhir+json",
                headers=self.headers(interaction, **options) | extra,
            )
        )


def outcome_code(response: Any) -> str:
    """The Spine error code of an OperationOutcome answer."""
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["details"]["coding"][0]["code"])
