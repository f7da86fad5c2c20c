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
        assert not any(s.startswith("5") for s in statuses), name
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
