"""orjson renders and parses the API's JSON (core.http.renderers, core.http.parsers): the same
documents as DRF's standard-library renderer, the same errors for unreadable bodies."""

import datetime as dt
import decimal
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer as StandardJSONRenderer

from core.http.renderers import JSONRenderer
from tests.conftest import client_for
from tests.factories import free_slot

pytestmark = pytest.mark.django_db


def test_an_availability_page_renders_as_the_standard_renderer_would(alice, riverside):
    for hours in (24, 25, 26):
        free_slot(riverside, hours_ahead=hours)
    today = timezone.localdate(timezone=riverside.tz)
    response = client_for(alice).get(
        reverse("practices:practice-availability", args=["A81001"]),
        {"start": today.isoformat(), "end": (today + dt.timedelta(days=2)).isoformat()},
    )
    assert response.status_code == 200
    assert response.json()["count"] == 3

    assert response.content == StandardJSONRenderer().render(response.data)


def test_values_the_serializers_leave_alone_render_as_the_standard_renderer_would():
    data = {
        "at": dt.datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=dt.UTC),
        "day": dt.date(2026, 12, 1),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "amount": decimal.Decimal("12.50"),
        "lazy": gettext_lazy("Not found."),
        "name": "Zoë Ó Briain",
        7: [True, None, 1.5],
    }

    assert JSONRenderer().render(data) == StandardJSONRenderer().render(data)


def test_indented_output_is_still_given_when_asked_for():
    rendered = JSONRenderer().render({"a": 1}, "application/json; indent=2")

    assert rendered == b'{\n  "a": 1\n}'


def test_a_problem_keeps_its_content_type(api):
    response = api.get(reverse("accounts:me"))

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_body_that_is_not_json_is_a_400_with_the_parsers_reason(api):
    response = api.post(reverse("accounts:login"), b'{"email": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error - ")


def test_nan_is_not_json(api):
    response = api.post(
        reverse("accounts:login"), b'{"email": NaN}', content_type="application/json"
    )

    assert response.status_code == 400
