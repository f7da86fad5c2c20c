"""Each worker keeps the access tokens it has verified, with their users; revocation still
takes effect at once (accounts.authentication, the versions of migration accounts 0011)."""

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework_simplejwt import tokens as simplejwt_tokens

from accounts import authentication
from accounts.models import User
from accounts.tokens import issue_tokens, token_backend
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ME = reverse("accounts:me")
LOGOUT = reverse("accounts:logout")


@pytest.fixture
def signature_checks(monkeypatch):
    """How many times a token's signature is verified."""
    backend = token_backend()
    calls = []
    decode = backend.decode

    def counting(token, verify=True):  # type: ignore[no-untyped-def]
        calls.append(token)
        return decode(token, verify)

    monkeypatch.setattr(backend, "decode", counting)
    return calls


def test_a_token_seen_again_is_not_verified_again(alice, signature_checks):
    client = client_for(alice)

    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 200

    assert len(signature_checks) == 1


def test_a_token_seen_again_costs_one_read_of_the_users_versions(alice):
    client = client_for(alice)
    client.get(ME)

    with CaptureQueriesContext(connection) as captured:
        assert client.get(ME).status_code == 200

    reads_of_users = [q["sql"] for q in captured.captured_queries if "accounts_user" in q["sql"]]
    assert len(reads_of_users) == 1
    assert reads_of_users[0].startswith("SELECT session_version, cache_version")


def test_a_token_with_a_known_signature_but_other_claims_is_refused(api, alice, bob):
    token = issue_tokens(user=alice).access
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get(ME).status_code == 200
    header, _, signature = token.split(".")
    bobs_claims = issue_tokens(user=bob).access.split(".")[1]

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {header}.{bobs_claims}.{signature}")

    assert api.get(ME).status_code == 401


def test_signing_out_ends_the_access_token_at_once(api, alice):
    tokens = issue_tokens(user=alice)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    assert api.get(ME).status_code == 200

    api.post(LOGOUT, {"refresh": tokens.refresh}, format="json")
    response = api.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_after_signing_out_a_new_sign_in_works(api, alice):
    tokens = issue_tokens(user=alice)
    api.post(LOGOUT, {"refresh": tokens.refresh}, format="json")

    assert client_for(User.objects.get(pk=alice.pk)).get(ME).status_code == 200


def test_a_role_change_ends_the_access_token_however_it_is_written(alice):
    client = client_for(alice)
    assert client.get(ME).status_code == 200

    # A queryset update: no model code runs, the database trigger still raises the version.
    User.objects.filter(pk=alice.pk).update(role="clinician")

    assert client.get(ME).status_code == 401


def test_a_deactivated_user_is_refused_at_once(alice):
    client = client_for(alice)
    client.get(ME)
    alice.is_active = False
    alice.save()

    assert client.get(ME).status_code == 401


def test_a_new_password_ends_the_access_token(alice):
    client = client_for(alice)
    client.get(ME)
    alice.set_password("An0ther-Secret!")
    alice.save()

    assert client.get(ME).status_code == 401


def test_a_stale_save_cannot_undo_a_sign_out(alice):
    client = client_for(alice)
    client.get(ME)
    stale = User.objects.get(pk=alice.pk)
    User.objects.filter(pk=alice.pk).update(session_version=stale.session_version + 1)

    stale.given_name = "Alicia"
    stale.save()

    assert client.get(ME).status_code == 401


def test_a_changed_profile_is_seen_on_the_next_request(alice, hilltop):
    client = client_for(alice)
    assert client.get(ME).json()["practice_id"] == "A81001"

    alice.patient_profile.registered_practice = hilltop
    alice.patient_profile.save()

    assert client.get(ME).json()["practice_id"] == "B82002"


def test_a_changed_name_is_seen_on_the_next_request_and_the_token_still_works(alice):
    client = client_for(alice)
    client.get(ME)

    User.objects.filter(pk=alice.pk).update(given_name="Alicia")
    response = client.get(ME)

    assert response.status_code == 200
    assert response.json()["given_name"] == "Alicia"


def test_an_expired_token_is_refused_although_cached(alice, monkeypatch):
    client = client_for(alice)
    client.get(ME)
    # An hour on, for the cache and for simplejwt's own check of a token it verifies.
    later = authentication.time.time() + 3600
    monkeypatch.setattr(authentication.time, "time", lambda: later)
    an_hour_on = simplejwt_tokens.aware_utcnow() + dt.timedelta(hours=1)
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: an_hour_on)

    assert client.get(ME).status_code == 401


@override_settings(AUTH_TOKEN_CACHE_SIZE=2)
def test_the_cache_keeps_the_most_recently_used_tokens(alice, bob, carol, signature_checks):
    clients = [client_for(user) for user in (alice, bob, carol)]
    for client in clients:
        client.get(ME)
    clients[1].get(ME)  # bob's and carol's tokens stay; alice's went first

    clients[0].get(ME)

    assert len(signature_checks) == 4


def test_a_change_a_request_leaves_unsaved_on_its_user_does_not_reach_the_next(alice):
    authenticate = authentication.BearerTokenAuthentication().authenticate
    token = issue_tokens(user=alice).access
    factory = APIRequestFactory()

    def signed_in():  # type: ignore[no-untyped-def]
        return authenticate(Request(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}")))[0]

    first = signed_in()
    first.given_name = "Mallory"
    first.patient_profile.registered_practice_id = None

    second = signed_in()

    assert second.given_name == "Alice"
    assert second.patient_profile.registered_practice_id is not None


def test_a_token_issued_after_a_password_rehash_on_sign_in_works(api, alice, settings):
    # A hash made with an older hasher is updated as the user signs in: the trigger counts
    # the new hash as a new password, and the token must carry the version it left.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert not alice.password.startswith("pbkdf2")

    response = api.post(
        reverse("accounts:login"),
        {"email": "alice@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")

    assert User.objects.get(pk=alice.pk).password.startswith("pbkdf2")
    assert api.get(ME).status_code == 200
