"""Every operation in the OpenAPI schema that takes an object id, tried as each persona.

alice owns the appointment; bob is another patient; dave is staff of its practice; erin is
staff of another practice. Callers who may not know the object exists get 404, anonymous
callers 401, and nobody gets a 5xx.
"""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from booking import services
from booking.services import Actor
from tests.conftest import client_for
from tests.factories import free_slot

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method)
    for path, item in SCHEMA["paths"].items()
    for method in item
    if method in {"get", "post", "patch", "put", "delete"} and "{id}" in path
]
EXPECTED = {"alice": "allowed", "dave": "allowed", "bob": 404, "erin": 404, "anonymous": 401}


def body_for(path: str, riverside) -> dict:
    if path.endswith("/reschedule"):
        return {"slot_id": str(free_slot(riverside, hours_ahead=72).id)}
    if path.endswith("/cancel"):
        return {"reason": "access matrix"}
    if path.endswith("/outcome"):
        return {"outcome": "arrived"}
    return {"comment": "access matrix"}


def test_the_schema_names_every_operation_taking_an_id():
    parameters = {p for path in SCHEMA["paths"] for p in re.findall(r"{(\w+)}", path)}

    # Only appointments ({id}) are private objects; practices ({ods_code}) are public. A new
    # kind of id must be added to this matrix.
    assert parameters == {"id", "ods_code"}
    assert len(OPERATIONS) >= 5


@pytest.mark.parametrize("persona", list(EXPECTED))
@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS]
)
def test_no_operation_leaks_an_appointment(
    path, method, persona, alice, bob, dave, erin, riverside
):
    appointment = services.book_appointment(
        actor=Actor(user=alice), slot_id=free_slot(riverside).pk
    )
    people = {"alice": alice, "bob": bob, "dave": dave, "erin": erin}
    client = APIClient() if persona == "anonymous" else client_for(people[persona])
    url = path.replace("{id}", str(appointment.pk))

    response = getattr(client, method)(
        url, body_for(path, riverside) if method != "get" else None, format="json"
    )

    assert response.status_code < 500
    if EXPECTED[persona] == "allowed":
        assert response.status_code not in (401, 404), response.json()
    else:
        assert response.status_code == EXPECTED[persona], response.json()
        assert str(alice.id) not in response.content.decode()
