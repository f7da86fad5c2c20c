"""Every operation in the OpenAPI schema that takes an object id, tried as each persona.

alice owns the object (an appointment, a waiting-list entry, an offer made to her); bob is
another patient; dave is staff of its practice; erin is staff of another practice. Callers
who may not know the object exists get 404, anonymous callers 401, and nobody gets a 5xx.
Offers are the patient's alone: staff manage the waiting list in the admin.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from booking import services
from booking.models import Vacancy
from booking.services import Actor, waiting_list
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
OFFER_EXPECTED = {**EXPECTED, "dave": 404}


def private_object(path: str, alice, riverside):
    """The object of alice's that ``path`` is about."""
    if not path.startswith("/api/v1/waiting-list"):
        return services.book_appointment(actor=Actor(user=alice), slot_id=free_slot(riverside).pk)
    latest = timezone.localtime(timezone=riverside.tz).date() + dt.timedelta(days=5)
    entry = waiting_list.join_waiting_list(
        actor=Actor(user=alice),
        practice_ods=riverside.ods_code,
        wishes=waiting_list.Wishes(latest_date=latest),
    )
    if not path.startswith("/api/v1/waiting-list/offers"):
        return entry
    slot = free_slot(riverside, hours_ahead=30)
    Vacancy.objects.create(slot=slot, practice=riverside, cause=Vacancy.Cause.CANCELLED)
    waiting_list.match_due()
    return entry.offers.get()


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

    # Appointments, waiting-list entries and offers ({id}) are private objects; practices
    # ({ods_code}) are public. A new kind of id must be added to this matrix.
    assert parameters == {"id", "ods_code"}
    assert len(OPERATIONS) >= 5


@pytest.mark.parametrize("persona", list(EXPECTED))
@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS]
)
def test_no_operation_leaks_an_appointment(
    path, method, persona, alice, bob, dave, erin, riverside
):
    private = private_object(path, alice, riverside)
    expected = (OFFER_EXPECTED if "/offers/" in path else EXPECTED)[persona]
    people = {"alice": alice, "bob": bob, "dave": dave, "erin": erin}
    client = APIClient() if persona == "anonymous" else client_for(people[persona])
    url = path.replace("{id}", str(private.pk))

    response = getattr(client, method)(
        url, body_for(path, riverside) if method != "get" else None, format="json"
    )

    assert response.status_code < 500
    if expected == "allowed":
        assert response.status_code not in (401, 404), response.json()
    else:
        assert response.status_code == expected, response.json()
        assert str(alice.id) not in response.content.decode()
