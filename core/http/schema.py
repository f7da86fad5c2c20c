"""The OpenAPI schema says every answer an operation can give, not only the happy one.

Clients generate code from the schema and Schemathesis (scripts/fuzz.py) holds the server to
it, so each operation documents its problem responses (core.http.errors) as well:

- the ones that follow from how the view is built, added here for every operation: 400 for
  malformed input and 422 for input that breaks a rule (core.http.errors), 401 where a
  bearer token is read, 404 for an id in the path or a page past the end, 413/415 for bodies,
  414 for over-long URLs, 429 where a throttle applies;
- the ones that follow from rules (403, 409, 412, 422), declared by the view itself with
  ``problems(...)`` in its ``extend_schema(responses=...)``.

A view's ``schema_links`` ({action: {name: OpenAPI link}}) are added to its success answers,
so clients (and Schemathesis's stateful phase) know which call can follow which.

Strict write serializers (which refuse unknown fields) are published with
``additionalProperties: false``, so the schema promises no more than the server accepts.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .errors import PROBLEM_CONTENT_TYPE
from .fields import StrictSerializer

WHY = {
    400: "The request is malformed or a field is invalid (`errors` names the fields).",
    401: "No valid credentials: the bearer token is missing, invalid or expired.",
    403: "Signed in, but this role may not do this.",
    404: "No such object, or one you may not see; or a page past the last.",
    409: "The current state of the object forbids the change.",
    412: "If-Match named a version that is no longer current.",
    413: "The request body is too large.",
    414: "The URL is too long.",
    415: "The request body is not JSON.",
    422: "The request is well formed but breaks a rule (`code` says which).",
    429: "Too many requests: wait for Retry-After seconds.",
}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class ProblemSerializer(serializers.Serializer):
    """An error, in the shape of RFC 9457 problem details."""

    type = serializers.CharField(help_text="urn:gp-booking:problem:<code>")
    title = serializers.CharField(help_text="The HTTP status phrase")
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="A sentence for people")
    code = serializers.CharField(help_text="Stable, for programs")
    errors = serializers.DictField(  # type: ignore[assignment]  # a declared field, moved off the class: Serializer.errors stays
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field name: messages",
    )

    class Meta:
        ref_name = "Problem"


def problems(*statuses: int) -> dict[tuple[int, str], OpenApiResponse]:
    """Responses for ``extend_schema``: the rule-driven problem answers of one operation."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=WHY[status])
        for status in statuses
    }


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in sorted(self._structural_problems(operation)):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(ProblemSerializer, description=WHY[status]),
                    str(status),
                    [PROBLEM_CONTENT_TYPE],
                )
        view_action = getattr(self.view, "action", None) or self.method.lower()
        links = getattr(self.view, "schema_links", {}).get(view_action)
        if links:
            for status, response in responses.items():
                if status.startswith("2"):
                    response["links"] = links
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _structural_problems(self, operation: dict[str, Any]) -> set[int]:
        statuses: set[int] = set()
        parameters = operation.get("parameters", [])
        if self.method in BODY_METHODS:
            statuses |= {400, 413, 415, 422}
        if any(p["in"] in {"query", "header"} for p in parameters):
            statuses |= {400, 422}
        if parameters:
            statuses.add(414)
        if any(p["in"] == "path" for p in parameters) or any(
            p["in"] == "query" and p["name"] == "page" for p in parameters
        ):
            statuses.add(404)
        if self.view.get_authenticators():
            statuses.add(401)  # a bad token is refused even where none is needed
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses.add(401)
        if self.view.get_throttles():
            statuses.add(429)
        return statuses

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(serializer, PolymorphicProxySerializer):
            required = True  # each of its forms has required fields
        return schema, required

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        if type(serializer).__dict__.get("__doc__") is None:
            schema.pop("description", None)  # not a base class's docstring
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
        return schema
