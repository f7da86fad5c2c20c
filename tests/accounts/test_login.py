import datetime as dt

import jwt
import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import LoginLockout, User
from accounts.tokens import issue_tokens
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

URL = reverse("accounts:login")


def login(api, email="alice@example.com", password=DEFAULT_PASSWORD):
    return api.post(URL, {"email": email, "password": password}, format="json")


def test_it_returns_cognito_shaped_tokens_for_good_credentials(api, alice):
    response = login(api)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "id_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60


def test_it_accepts_the_email_in_any_case(api, alice):
    assert login(api, email="ALICE@Example.com").status_code == 200


def test_the_access_token_opens_the_api(api, alice):
    access = login(api).json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = api.get(reverse("accounts:me"))

    assert response.status_code == 200
    assert response.json()["id"] == str(alice.id)


def test_it_refuses_a_wrong_password_with_401(api, alice):
    response = login(api, password="Wrong-Pass-1")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert response.json()["detail"] == services.INVALID_CREDENTIALS
    assert "access" not in response.json()


def test_it_gives_the_same_answer_for_an_unknown_email(api, alice):
    wrong_password = login(api, password="Wrong-Pass-1").json()
    unknown_email = login(api, email="nobody@example.com").json()

    assert unknown_email == wrong_password


def test_it_refuses_an_inactive_account(api, alice):
    alice.is_active = False
    alice.save()

    assert login(api).status_code == 401


def test_it_refuses_a_missing_password_with_400(api):
    response = api.post(URL, {"email": "alice@example.com"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["password"] == ["This field is required."]


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3, LOGIN_LOCKOUT_MINUTES=15)
def test_it_locks_the_account_after_repeated_failures_even_for_the_right_password(api, alice):
    for _ in range(3):
        assert login(api, password="Wrong-Pass-1").status_code == 401

    response = login(api)

    assert response.status_code == 429
    assert response.json()["code"] == "account_locked"
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60 + 1


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_it_locks_unknown_emails_the_same_way(api):
    for _ in range(3):
        login(api, email="ghost@example.com", password="Wrong-Pass-1")

    assert login(api, email="ghost@example.com").status_code == 429


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_the_lock_expires(api, alice):
    for _ in range(3):
        login(api, password="Wrong-Pass-1")
    LoginLockout.objects.filter(email="alice@example.com").update(
        locked_until=timezone.now() - dt.timedelta(seconds=1)
    )

    assert login(api).status_code == 200


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_a_successful_login_resets_the_failure_count(api, alice):
    login(api, password="Wrong-Pass-1")
    login(api, password="Wrong-Pass-1")
    assert login(api).status_code == 200

    login(api, password="Wrong-Pass-1")
    login(api, password="Wrong-Pass-1")

    assert login(api).status_code == 200


@override_settings(LOGIN_LOCKOUT_THRESHOLD=3)
def test_a_lock_on_one_email_leaves_others_alone(api, alice, bob):
    for _ in range(3):
        login(api, password="Wrong-Pass-1")

    assert login(api, email="bob@example.com").status_code == 200


def test_it_throttles_logins_per_client_with_retry_after(api, alice, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "2/min",
        },
    }
    login(api)
    login(api)

    response = login(api)

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_it_throttles_registration(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "register": "1/min",
        },
    }
    url = reverse("accounts:register")
    api.post(url, {"email": "a@example.com", "password": "Tr1cky-Pass!"}, format="json")

    response = api.post(url, {"email": "b@example.com", "password": "Tr1cky-Pass!"}, format="json")

    assert response.status_code == 429
    assert "Retry-After" in response


def test_the_id_token_describes_the_user(api, alice, settings):
    id_token = login(api).json()["id_token"]

    claims = jwt.decode(id_token, options={"verify_signature": False})

    assert claims["token_use"] == "id"
    assert claims["aud"] == settings.JWT_CLIENT_ID
    assert claims["email"] == "alice@example.com"
    assert claims["given_name"] == "Alice"
    assert claims["email_verified"] is True  # alice confirmed her address
    assert claims["sub"] == str(alice.id)


def test_the_id_token_says_when_the_address_is_not_confirmed(carol):
    # Staff made by an operator sign in before confirming; patients cannot.
    User.objects.filter(pk=carol.pk).update(email_verified_at=None)
    carol.refresh_from_db()

    id_token = issue_tokens(user=carol).id_token

    assert jwt.decode(id_token, options={"verify_signature": False})["email_verified"] is False
