import jwt
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tokens import issue_tokens
from tests.concurrency import run_concurrently
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

REFRESH = reverse("accounts:refresh")
LOGOUT = reverse("accounts:logout")


def test_a_refresh_token_buys_a_new_set_of_tokens(api, alice):
    tokens = issue_tokens(user=alice)

    response = api.post(REFRESH, {"refresh": tokens.refresh}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "id_token", "token_type", "expires_in"}
    assert body["refresh"] != tokens.refresh
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api.get(reverse("accounts:me")).status_code == 200


def test_a_refresh_keeps_the_original_auth_time(api, alice):
    tokens = issue_tokens(user=alice, auth_time=1_700_000_000)

    access = api.post(REFRESH, {"refresh": tokens.refresh}, format="json").json()["access"]

    assert jwt.decode(access, options={"verify_signature": False})["auth_time"] == 1_700_000_000


def test_a_refresh_token_works_only_once(api, alice):
    tokens = issue_tokens(user=alice)
    api.post(REFRESH, {"refresh": tokens.refresh}, format="json")

    response = api.post(REFRESH, {"refresh": tokens.refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_an_access_token_cannot_be_used_to_refresh(api, alice):
    response = api.post(REFRESH, {"refresh": issue_tokens(user=alice).access}, format="json")

    assert response.status_code == 401


def test_a_deactivated_user_cannot_refresh(api, alice):
    tokens = issue_tokens(user=alice)
    alice.is_active = False
    alice.save()

    assert api.post(REFRESH, {"refresh": tokens.refresh}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"refresh": 5}, 400), ({"refresh": "x", "extra": 1}, 400), ({"refresh": ""}, 422)],
)
def test_refresh_refuses_malformed_bodies(api, body, status):
    response = api.post(REFRESH, body, format="json")

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_logout_revokes_the_refresh_token(api, alice):
    tokens = issue_tokens(user=alice)

    response = api.post(LOGOUT, {"refresh": tokens.refresh}, format="json")

    assert response.status_code == 204
    assert api.post(REFRESH, {"refresh": tokens.refresh}, format="json").status_code == 401


def test_logout_with_a_forged_token_is_refused(api):
    assert api.post(LOGOUT, {"refresh": "a.b.c"}, format="json").status_code == 401


def test_logout_leaves_other_sessions_alone(api, alice):
    phone = issue_tokens(user=alice)
    laptop = issue_tokens(user=alice)

    api.post(LOGOUT, {"refresh": phone.refresh}, format="json")

    assert api.post(REFRESH, {"refresh": laptop.refresh}, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_replayed_concurrently_succeeds_exactly_once():
    user = PatientFactory()
    refresh = issue_tokens(user=user).refresh

    def attempt(client):
        return client.post(REFRESH, {"refresh": refresh}, format="json").status_code

    statuses = run_concurrently(attempt, [APIClient() for _ in range(10)])

    assert sorted(statuses) == [200] + [401] * 9
