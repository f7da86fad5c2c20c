"""The edges of the service an outsider reaches first (issue 17): each test fails without
its fix."""

import pytest
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


def test_a_deeply_nested_body_to_an_anonymous_endpoint_is_a_400_problem(api):
    response = api.post(reverse("accounts:login"), DEEP, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "nested too deeply" in response.json()["detail"]


def test_a_deeply_nested_profile_update_is_a_400_problem(alice):
    response = client_for(alice).patch(
        reverse("accounts:me"), DEEP, content_type="application/json"
    )

    assert response.status_code == 400
