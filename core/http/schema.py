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

What generated clients need besides bodies is added here too: ``security: []`` on operations
anyone may call (a generator then calls them with a plain client), the page parameters of
every paginated answer, and the response headers the server sends (``X-Request-ID`` on every
answer, ``Retry-After`` on 429 and 503, ``ETag`` where an appointment is returned, ``Location``
on a 201, ``Idempotent-Replayed`` where an ``Idempotency-Key`` is read).

Strict write serializers (which refuse unknown fields) are published with
``additionalProperties: false``, so the schema promises no more than the server accepts.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .errors import PROBLEM_CONTENT_TYPE, problem_body
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
    503: "The database cannot be reached for a moment: retry after Retry-After seconds.",
}

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id, as logged (quote it when reporting a problem).",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "ETag": {
        "description": 'The appointment\'s version, such as "3": send it back in If-Match.',
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The address of what was created.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotent-Replayed": {
        "description": "Present (true) when this is the stored answer to an earlier request "
        "with the same Idempotency-Key, not a new change.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
APPOINTMENT_REF = "#/components/schemas/Appointment"
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


def problem(status: int, code: str, detail: str, **extra: Any) -> OpenApiExample:
    """An example problem body, as the server would send it."""
    return OpenApiExample(
        code,
        value=problem_body(status=status, code=code, detail=detail, **extra),
        response_only=True,
        status_codes=[str(status)],
        media_type=PROBLEM_CONTENT_TYPE,
    )


def problems(
    *statuses: int,
    shapes: dict[int, type[serializers.Serializer]] | None = None,
    examples: list[OpenApiExample] | None = None,
) -> dict[tuple[int, str], OpenApiResponse]:
    """Responses for ``extend_schema``: the rule-driven problem answers of one operation.

    ``shapes`` gives a status whose problems carry extra members (RFC 9457 extensions, such as
    a 409's ``alternatives``) its own problem schema; ``examples`` (made with ``problem``) are
    the problems this operation really answers, each under its status. A status without one
    gets a generic example.
    """
    shapes = shapes or {}
    examples = examples or []
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            shapes.get(status, ProblemSerializer),
            description=WHY[status],
            examples=[e for e in examples if str(status) in (e.status_codes or [])],
        )
        for status in statuses
    }


# For answers no view describes itself: what the structural problems look like, in the
# server's own words (400 and 422 are filled in with a field of the operation itself).
GENERIC_PROBLEMS: dict[int, OpenApiExample] = {
    int((example.status_codes or ["0"])[0]): example
    for example in [
        problem(403, "permission_denied", "You do not have permission to perform this action."),
        problem(404, "not_found", "Not found."),
        problem(409, "conflict", "The current state of the object forbids the change."),
        problem(
            412,
            "stale_version",
            "The appointment has changed since you read it. Reload it and try again.",
        ),
        problem(413, "body_too_large", "The request body may be at most 65536 bytes."),
        problem(414, "uri_too_long", "The URL may be at most 4096 characters."),
        problem(415, "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
        problem(429, "throttled", "Request was throttled. Expected available in 42 seconds."),
        problem(
            503,
            "database_unavailable",
            "The service is briefly unavailable. Please try again in a few seconds.",
        ),
    ]
}
MISSING_TOKEN = problem(401, "not_authenticated", "Authentication credentials were not provided.")
BAD_TOKEN = problem(401, "token_not_valid", "Given token not valid for any token type")


def _invalid_field(status: int, field: tuple[str, bool]) -> OpenApiExample:
    name, in_body = field
    message = "This field is required." if status == 400 and in_body else "Enter a valid value."
    return problem(
        status, "validation_error", "The request has invalid fields.", errors={name: [message]}
    )


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
        if "503" not in responses:  # any request, while the database cannot be reached
            responses["503"] = self._get_response_for_code(
                OpenApiResponse(ProblemSerializer, description=WHY[503]),
                "503",
                [PROBLEM_CONTENT_TYPE],
            )
        view_action = getattr(self.view, "action", None) or self.method.lower()
        links = getattr(self.view, "schema_links", {}).get(view_action)
        if links:
            for status, response in responses.items():
                if status.startswith("2"):
                    response["links"] = links
        if self._anyone_may_call():
            operation["security"] = []  # no credentials needed: a plain client will do
        self._add_page_parameters(operation)
        self._add_headers(operation)
        self._add_generic_examples(operation)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _add_generic_examples(self, operation: dict[str, Any]) -> None:
        field = self._first_field(operation)
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get(PROBLEM_CONTENT_TYPE)
            if content is None or content.get("examples"):
                continue
            if status in ("400", "422"):
                example = _invalid_field(int(status), field)
            elif status == "401":
                # Where anyone may call, only a bad token is refused.
                example = BAD_TOKEN if self._anyone_may_call() else MISSING_TOKEN
            else:
                example = GENERIC_PROBLEMS[int(status)]
            content["examples"] = {example.name: {"value": example.value}}

    def _first_field(self, operation: dict[str, Any]) -> tuple[str, bool]:
        """A field this operation takes: its body's first, or its first query parameter."""
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        ref = body.get("schema", {}).get("$ref", "")
        if ref:
            component = self.registry._components.get((ref.rsplit("/", 1)[1], "schemas"))
            properties = getattr(component, "schema", None) or {}
            names = list(properties.get("properties", {}))
            if names:
                return names[0], True
        query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        return (query[0] if query else "non_field_errors"), False

    def _anyone_may_call(self) -> bool:
        return all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _add_page_parameters(self, operation: dict[str, Any]) -> None:
        """A paginated answer takes ``page`` and ``page_size``, on custom actions too."""
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if "/Paginated" not in ok.get("schema", {}).get("$ref", ""):
            return
        parameters = operation.setdefault("parameters", [])
        if any(p["name"] == "page" for p in parameters):
            return
        paginator = self._get_paginator()
        if paginator is not None:
            parameters.extend(paginator.get_schema_operation_parameters(self.view))
            parameters.sort(key=lambda p: (p["in"], p["name"]))
            operation["responses"].setdefault(
                "404",
                self._get_response_for_code(
                    OpenApiResponse(ProblemSerializer, description=WHY[404]),
                    "404",
                    [PROBLEM_CONTENT_TYPE],
                ),
            )

    def _add_headers(self, operation: dict[str, Any]) -> None:
        idempotent = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for status, response in operation["responses"].items():
            names = ["X-Request-ID"]
            if status in ("429", "503"):
                names.append("Retry-After")
            if status.startswith("2"):
                body = response.get("content", {}).get("application/json", {}).get("schema", {})
                if body.get("$ref") == APPOINTMENT_REF:
                    names.append("ETag")
                if status == "201":
                    names.append("Location")
                if idempotent:
                    names.append("Idempotent-Replayed")
            response["headers"] = {name: HEADERS[name] for name in names}

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
