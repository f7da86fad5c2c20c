import pytest
from django.core.management import call_command


def test_the_openapi_schema_generates_and_validates_without_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning into a failure.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )

    assert "/api/v1/auth/login" in (tmp_path / "schema.yml").read_text()


@pytest.mark.django_db
def test_the_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_the_swagger_ui_is_served(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", method, operation


def test_every_operation_documents_its_problem_answers(schema):
    for name, method, operation in _operations(schema):
        statuses = set(operation["responses"])
        errors = {s for s in statuses if s.startswith(("4", "5"))}
        assert "429" in statuses, name
        # A database outage (503 with Retry-After) is the one server error promised.
        assert {s for s in statuses if s.startswith("5")} == {"503"}, name
        for status in errors:
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (name, status)
        if method in {"post", "patch"}:
            assert {"400", "413", "415", "422"} <= statuses, name
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in statuses, name
        if any(requirement for requirement in operation.get("security", [{}])):
            assert "401" in statuses, name


def test_write_bodies_accept_no_unknown_property(schema):
    components = schema["components"]["schemas"]
    request_bodies = [name for name in components if name.endswith("Request")]

    assert request_bodies
    for name in request_bodies:
        component = components[name]
        if "oneOf" in component:
            continue  # the forms it lists are components of their own, checked here too
        assert component.get("additionalProperties") is False, name


def test_a_booking_body_is_exactly_one_of_its_two_forms(schema):
    body = schema["paths"]["/api/v1/appointments"]["post"]["requestBody"]

    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    forms = [f["$ref"].rsplit("/", 1)[1] for f in schema["components"]["schemas"][ref]["oneOf"]]
    assert forms == ["BookBySlotRequest", "BookByTimeRequest"]


def test_every_link_names_an_operation_that_exists(schema):
    operation_ids = {operation["operationId"] for _, _, operation in _operations(schema)}
    links = [
        link
        for _, _, operation in _operations(schema)
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]

    assert len(links) >= 30
    assert {link["operationId"] for link in links} <= operation_ids


ANONYMOUS = [
    "GET /.well-known/jwks.json",
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
    "POST /api/v1/auth/verify-email",
    "POST /api/v1/auth/verify-email/resend",
    "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset/confirm",
    "GET /api/v1/practices",
    "GET /api/v1/practices/{ods_code}",
    "GET /api/v1/practices/{ods_code}/clinicians",
    "GET /api/v1/practices/{ods_code}/appointment-types",
]


def test_operations_anyone_may_call_say_no_credentials_are_needed(schema):
    operations = {name: operation for name, _, operation in _operations(schema)}

    for name in ANONYMOUS:
        assert operations[name]["security"] == [], name
    assert operations["GET /api/v1/auth/me"]["security"] == [{"bearerAuth": []}]


def test_every_paginated_answer_takes_page_and_page_size(schema):
    paginated = [
        (name, operation)
        for name, _, operation in _operations(schema)
        if "/Paginated"
        in operation["responses"]
        .get("200", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref", "")
    ]

    assert "GET /api/v1/practices/{ods_code}/availability" in dict(paginated)
    for name, operation in paginated:
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"page", "page_size"} <= names, name


@pytest.mark.parametrize(
    ("operation", "status", "headers"),
    [
        ("POST /api/v1/appointments", "201", {"ETag", "Location", "Idempotent-Replayed"}),
        ("GET /api/v1/appointments/{id}", "200", {"ETag"}),
        ("POST /api/v1/appointments/{id}/cancel", "200", {"ETag", "Idempotent-Replayed"}),
        ("POST /api/v1/auth/login", "429", {"Retry-After"}),
        ("GET /api/v1/practices", "503", {"Retry-After"}),
    ],
)
def test_the_headers_an_answer_carries_are_declared(schema, operation, status, headers):
    operations = {name: op for name, _, op in _operations(schema)}

    declared = set(operations[operation]["responses"][status]["headers"])

    assert headers | {"X-Request-ID"} <= declared


def test_a_taken_slot_problem_has_typed_alternatives(schema):
    conflict = schema["paths"]["/api/v1/appointments"]["post"]["responses"]["409"]
    ref = conflict["content"]["application/problem+json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]

    assert ref.endswith("/SlotUnavailableProblem")
    assert component["properties"]["alternatives"]["type"] == "array"
    assert {"code", "detail", "status", "type", "title"} <= set(component["properties"])


def test_every_operation_has_a_description_of_its_own(schema):
    descriptions = [operation.get("description", "") for _, _, operation in _operations(schema)]

    assert all(descriptions)
    assert len(set(descriptions)) == len(descriptions)


def test_every_problem_answer_has_an_example_of_that_status(schema):
    for name, _, operation in _operations(schema):
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/problem+json")
            if content is None:
                continue
            examples = content["examples"].values()
            assert examples, (name, status)
            for example in examples:
                body = example["value"]
                assert body["status"] == int(status), (name, status, body["code"])
                assert body["type"] == f"urn:gp-booking:problem:{body['code']}"


def test_booking_documents_the_problems_it_really_answers(schema):
    responses = schema["paths"]["/api/v1/appointments"]["post"]["responses"]

    def examples(status):
        return responses[status]["content"]["application/problem+json"]["examples"].values()

    def codes(status):
        return {example["value"]["code"] for example in examples(status)}

    assert {"slot_taken", "no_free_slot", "overlapping_appointment"} <= codes("409")
    assert {"too_soon", "not_registered", "practice_mismatch"} <= codes("422")
    assert "email_not_verified" in codes("403")
    (taken,) = [e["value"] for e in examples("409") if e["value"]["code"] == "slot_taken"]
    assert taken["alternatives"][0]["slot_id"]
