"""A refresh token used twice means a copy is in someone else's hands: the whole family since
that sign-in is revoked, and the patient can see it happened (issue 17.4)."""

import datetime as dt

import jwt
import pytest
from django.db.models import F
from django.urls import reverse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import AuditEvent
from accounts.tokens import issue_tokens

pytestmark = pytest.mark.django_db

REFRESH = reverse("accounts:refresh")
LOGOUT = reverse("accounts:logout")


def refresh(api, token):
    return api.post(REFRESH, {"refresh": token}, format="json")


def a_minute_passes():
    """Move every first use a minute into the past, past the grace for retries."""
    BlacklistedToken.objects.update(blacklisted_at=F("blacklisted_at") - dt.timedelta(minutes=1))


def test_reusing_a_rotated_token_revokes_its_successor(api, alice):
    stolen = issue_tokens(user=alice).refresh
    successor = refresh(api, stolen).json()["refresh"]  # the real client rotates

    a_minute_passes()
    replay = refresh(api, stolen)  # the thief tries the copy

    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"
    assert refresh(api, successor).status_code == 401


def test_the_thief_loses_the_token_it_rotated_first(api, alice):
    stolen = issue_tokens(user=alice).refresh
    thiefs = refresh(api, stolen).json()["refresh"]  # the thief is quicker

    a_minute_passes()
    refresh(api, stolen)  # the real client's copy comes back: reuse

    assert refresh(api, thiefs).status_code == 401


def test_other_sign_ins_of_the_same_patient_carry_on(api, alice):
    phone = issue_tokens(user=alice).refresh
    laptop = issue_tokens(user=alice).refresh
    refresh(api, phone)

    a_minute_passes()
    refresh(api, phone)  # reuse in the phone's family

    assert refresh(api, laptop).status_code == 200


def test_a_logout_with_a_used_token_revokes_the_family_too(api, alice):
    stolen = issue_tokens(user=alice).refresh
    successor = refresh(api, stolen).json()["refresh"]
    a_minute_passes()

    assert api.post(LOGOUT, {"refresh": stolen}, format="json").status_code == 401
    assert refresh(api, successor).status_code == 401


def test_reuse_is_audited_where_the_patient_can_see_it(api, alice):
    stolen = issue_tokens(user=alice).refresh
    refresh(api, stolen)
    a_minute_passes()

    refresh(api, stolen)

    event = AuditEvent.objects.get(action="auth.refresh_token.reused")
    assert (event.patient, event.allowed, event.object_type) == (
        alice,
        False,
        "refresh_token_family",
    )


def test_a_merely_invalid_token_is_not_taken_for_reuse(api, alice):
    live = issue_tokens(user=alice).refresh

    assert refresh(api, live[:-4] + "AAAA").status_code == 401
    assert refresh(api, live).status_code == 200
    assert not AuditEvent.objects.filter(action="auth.refresh_token.reused").exists()


def test_access_tokens_do_not_carry_the_family(alice):
    tokens = issue_tokens(user=alice)

    claims = jwt.decode(tokens.access, options={"verify_signature": False})
    refresh_claims = jwt.decode(tokens.refresh, options={"verify_signature": False})

    assert "fam" not in claims
    assert refresh_claims["fam"]


def test_a_retry_within_seconds_is_refused_but_ends_nothing(api, alice):
    token = issue_tokens(user=alice).refresh
    successor = refresh(api, token).json()["refresh"]  # the answer was lost; the app retries

    retry = refresh(api, token)

    assert retry.status_code == 401
    assert refresh(api, successor).status_code == 200
    assert not AuditEvent.objects.filter(action="auth.refresh_token.reused").exists()
