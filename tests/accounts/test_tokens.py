"""Our own Cognito-shaped tokens: their claims, the JWKS that verifies them, and rejections."""

import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.urls import reverse
from jwt.utils import base64url_encode

from accounts.tokens import issue_tokens
from core.keys import generate_private_key_pem, public_jwk

pytestmark = pytest.mark.django_db

ME = reverse("accounts:me")


def call_me(api, token):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api.get(ME)


def jwks_key(api, token):
    keys = api.get(reverse("jwks")).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key


def test_the_access_token_has_cognitos_claims(api, alice, settings):
    token = issue_tokens(user=alice).access

    claims = jwt.decode(
        token, jwks_key(api, token), algorithms=["RS256"], issuer=settings.JWT_ISSUER
    )

    assert claims["sub"] == str(alice.id)
    assert claims["cognito:groups"] == ["patient"]
    assert claims["token_use"] == "access"
    assert claims["client_id"] == settings.JWT_CLIENT_ID
    assert claims["scope"] == "aws.cognito.signin.user.admin"
    assert claims["username"] == str(alice.id)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["auth_time"] <= claims["iat"]
    assert {"jti", "iss"} <= set(claims)


def test_the_jwks_serves_an_rs256_key_with_a_kid(api):
    response = api.get(reverse("jwks"))

    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"]
    assert "d" not in key  # never the private exponent


def test_the_groups_claim_carries_the_staff_role(carol):
    claims = jwt.decode(issue_tokens(user=carol).access, options={"verify_signature": False})

    assert claims["cognito:groups"] == ["clinician"]


def test_it_refuses_an_id_token_as_an_access_token(api, alice):
    response = call_me(api, issue_tokens(user=alice).id_token)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_refuses_a_refresh_token_as_an_access_token(api, alice):
    assert call_me(api, issue_tokens(user=alice).refresh).status_code == 401


def test_it_refuses_a_tampered_signature(api, alice):
    header, payload, signature = issue_tokens(user=alice).access.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    assert call_me(api, f"{header}.{payload}.{flipped}").status_code == 401


def test_it_refuses_a_tampered_payload(api, alice, bob):
    token = issue_tokens(user=alice).access
    bobs_payload = issue_tokens(user=bob).access.split(".")[1]
    header, _, signature = token.split(".")

    assert call_me(api, f"{header}.{bobs_payload}.{signature}").status_code == 401


def _forge(claims, key_pem, kid):
    return jwt.encode(claims, key_pem, algorithm="RS256", headers={"kid": kid})


def _claims_like(alice, settings, **overrides):
    now = int(time.time())
    return {
        "sub": str(alice.id),
        "token_use": "access",
        "iss": settings.JWT_ISSUER,
        "iat": now,
        "exp": now + 600,
        "jti": "x" * 32,
        **overrides,
    }


def test_it_refuses_a_token_signed_by_another_key_under_our_kid(api, alice, settings):
    kid = public_jwk(settings.JWT_PRIVATE_KEY)["kid"]
    forged = _forge(_claims_like(alice, settings), generate_private_key_pem(), kid)

    assert call_me(api, forged).status_code == 401


def test_it_refuses_an_expired_token(api, alice, settings):
    expired = _claims_like(alice, settings, iat=int(time.time()) - 7200, exp=int(time.time()) - 60)
    token = _forge(expired, settings.JWT_PRIVATE_KEY, public_jwk(settings.JWT_PRIVATE_KEY)["kid"])

    assert call_me(api, token).status_code == 401


def test_it_refuses_a_token_from_another_issuer(api, alice, settings):
    claims = _claims_like(alice, settings, iss="https://evil.example.com")
    token = _forge(claims, settings.JWT_PRIVATE_KEY, public_jwk(settings.JWT_PRIVATE_KEY)["kid"])

    assert call_me(api, token).status_code == 401


def test_it_refuses_an_unsigned_token(api, alice, settings):
    token = jwt.encode(_claims_like(alice, settings), None, algorithm="none")

    assert call_me(api, token).status_code == 401


def test_it_refuses_an_hs256_token_signed_with_the_public_key(api, alice, settings):
    # The classic algorithm-confusion attack: the public key used as an HMAC secret.
    public_pem = jwt.PyJWK(public_jwk(settings.JWT_PRIVATE_KEY)).key.public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    header = base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = base64url_encode(json.dumps(_claims_like(alice, settings)).encode())
    signing_input = header + b"." + payload
    signature = base64url_encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())

    assert call_me(api, (signing_input + b"." + signature).decode()).status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer not.a.jwt", "Bearer a b", "Basic Zm9vOmJhcg=="]
)
def test_it_answers_garbage_authorization_headers_with_401_or_anonymous(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)

    response = api.get(ME)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_deactivated_user_is_refused_even_with_a_live_token(api, alice):
    token = issue_tokens(user=alice).access
    alice.is_active = False
    alice.save()

    assert call_me(api, token).status_code == 401


# Rotating the signing key without signing everyone out -------------------------------------


def rotate(settings, *, previous_as_public=False):
    """What the runbook does: a new key signs; the old one (or its public half) verifies."""
    old = settings.JWT_PRIVATE_KEY
    if previous_as_public:
        private = serialization.load_pem_private_key(old.encode(), password=None)
        old = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        old = old.decode()
    settings.JWT_PREVIOUS_KEY = old
    settings.JWT_PRIVATE_KEY = generate_private_key_pem()


@pytest.mark.parametrize("previous_as_public", [False, True])
def test_tokens_signed_before_a_rotation_still_work(api, alice, settings, previous_as_public):
    before = issue_tokens(user=alice)

    rotate(settings, previous_as_public=previous_as_public)

    assert call_me(api, before.access).status_code == 200
    refreshed = api.post(reverse("accounts:refresh"), {"refresh": before.refresh}, format="json")
    assert refreshed.status_code == 200


def test_after_a_rotation_new_tokens_name_the_new_key_and_the_jwks_lists_both(api, alice, settings):
    old_kid = public_jwk(settings.JWT_PRIVATE_KEY)["kid"]
    rotate(settings)
    new_kid = public_jwk(settings.JWT_PRIVATE_KEY)["kid"]

    after = issue_tokens(user=alice)
    listed = [k["kid"] for k in api.get(reverse("jwks")).json()["keys"]]

    assert jwt.get_unverified_header(after.access)["kid"] == new_kid
    assert listed == [new_kid, old_kid]


def test_once_the_previous_key_is_removed_its_tokens_are_refused(api, alice, settings):
    before = issue_tokens(user=alice)
    rotate(settings)

    settings.JWT_PREVIOUS_KEY = ""

    assert call_me(api, before.access).status_code == 401
    assert [k["kid"] for k in api.get(reverse("jwks")).json()["keys"]] == [
        public_jwk(settings.JWT_PRIVATE_KEY)["kid"]
    ]


def test_a_token_naming_an_unknown_key_is_refused(api, alice, settings):
    stranger = generate_private_key_pem()
    claims = jwt.decode(issue_tokens(user=alice).access, options={"verify_signature": False})
    forged = jwt.encode(
        claims, stranger, algorithm="RS256", headers={"kid": public_jwk(stranger)["kid"]}
    )

    assert call_me(api, forged).status_code == 401
