"""Access tokens from an Amazon Cognito user pool, minted by moto's Cognito emulation."""

import time
from types import SimpleNamespace

import boto3
import jwt
import pytest
import responses
from django.urls import reverse
from moto import mock_aws
from moto.cognitoidp.models import cognitoidp_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.utilities.utils import load_resource

from accounts.models import User
from accounts.tokens import issue_tokens
from core.keys import generate_private_key_pem, public_jwk

pytestmark = pytest.mark.django_db

REGION = "eu-west-2"
ME = reverse("accounts:me")
PASSWORD = "Pool-Pass-123!"


@pytest.fixture
def pool(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(PoolName="gp-booking", UsernameAttributes=["email"])[
            "UserPool"
        ]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"]
        )["UserPoolClient"]["ClientId"]
        for group in ("patient", "clinician", "admin"):
            idp.create_group(UserPoolId=pool_id, GroupName=group)
        settings.COGNITO_REGION = REGION
        settings.COGNITO_USER_POOL_ID = pool_id
        settings.COGNITO_APP_CLIENT_IDS = [client_id]
        yield SimpleNamespace(idp=idp, id=pool_id, client_id=client_id)


def sign_up(pool, email, *, group=None, given_name="Gwen", verified=None):
    extra = [] if verified is None else [{"Name": "email_verified", "Value": verified}]
    pool.idp.admin_create_user(
        UserPoolId=pool.id,
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "given_name", "Value": given_name},
            {"Name": "family_name", "Value": "Roberts"},
            *extra,
        ],
    )
    pool.idp.admin_set_user_password(
        UserPoolId=pool.id, Username=email, Password=PASSWORD, Permanent=True
    )
    if group:
        pool.idp.admin_add_user_to_group(UserPoolId=pool.id, Username=email, GroupName=group)


def pool_tokens(pool, email):
    result = pool.idp.admin_initiate_auth(
        UserPoolId=pool.id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return result["AccessToken"], result["IdToken"]


def call_me(api, token):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api.get(ME)


def moto_private_key():
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def test_a_first_seen_cognito_user_is_created_with_the_pools_details(api, pool):
    sign_up(pool, "gwen@example.com")
    access, _ = pool_tokens(pool, "gwen@example.com")

    response = call_me(api, access)

    assert response.status_code == 200, response.json()
    sub = jwt.decode(access, options={"verify_signature": False})["sub"]
    user = User.objects.get(email="gwen@example.com")
    assert str(user.id) == sub == response.json()["id"]
    assert (user.role, user.given_name, user.has_usable_password()) == ("patient", "Gwen", False)
    assert user.patient_profile is not None


@pytest.mark.parametrize(
    ("verified", "expected"), [("true", True), ("false", False), (None, False)]
)
def test_a_cognito_users_address_counts_as_confirmed_only_when_the_pool_says_so(
    api, pool, verified, expected
):
    sign_up(pool, "gwen@example.com", verified=verified)
    access, _ = pool_tokens(pool, "gwen@example.com")

    assert call_me(api, access).json()["email_verified"] is expected
    assert User.objects.get(email="gwen@example.com").email_verified is expected


def test_the_role_comes_from_the_cognito_group(api, pool):
    sign_up(pool, "carys@example.com", group="clinician")
    access, _ = pool_tokens(pool, "carys@example.com")

    assert call_me(api, access).json()["role"] == "clinician"


def test_a_known_cognito_user_is_not_created_twice(api, pool):
    sign_up(pool, "gwen@example.com")
    access, _ = pool_tokens(pool, "gwen@example.com")
    call_me(api, access)

    assert call_me(api, access).status_code == 200
    assert User.objects.filter(email="gwen@example.com").count() == 1


def test_a_pool_user_whose_email_belongs_to_a_local_account_is_refused(api, pool, alice):
    sign_up(pool, "alice@example.com")
    access, _ = pool_tokens(pool, "alice@example.com")

    assert call_me(api, access).status_code == 401
    assert User.objects.get(email="alice@example.com") == alice


def test_it_refuses_a_cognito_id_token(api, pool):
    sign_up(pool, "gwen@example.com")
    _, id_token = pool_tokens(pool, "gwen@example.com")

    response = call_me(api, id_token)

    assert response.status_code == 401
    assert not User.objects.filter(email="gwen@example.com").exists()


def test_it_refuses_a_token_for_an_app_client_not_ours(api, pool, settings):
    sign_up(pool, "gwen@example.com")
    access, _ = pool_tokens(pool, "gwen@example.com")
    settings.COGNITO_APP_CLIENT_IDS = ["some-other-client"]

    assert call_me(api, access).status_code == 401


def test_it_refuses_a_token_from_another_user_pool(api, pool):
    other_id = pool.idp.create_user_pool(PoolName="other", UsernameAttributes=["email"])[
        "UserPool"
    ]["Id"]
    other_client = pool.idp.create_user_pool_client(
        UserPoolId=other_id, ClientName="web", ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"]
    )["UserPoolClient"]["ClientId"]
    pool.idp.admin_create_user(
        UserPoolId=other_id, Username="eve@example.com", MessageAction="SUPPRESS"
    )
    pool.idp.admin_set_user_password(
        UserPoolId=other_id, Username="eve@example.com", Password=PASSWORD, Permanent=True
    )
    access = pool.idp.admin_initiate_auth(
        UserPoolId=other_id,
        ClientId=other_client,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": "eve@example.com", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]

    assert call_me(api, access).status_code == 401


def test_it_refuses_an_expired_cognito_token(api, pool):
    sign_up(pool, "gwen@example.com")
    moto_pool = cognitoidp_backends[DEFAULT_ACCOUNT_ID][REGION].user_pools[pool.id]
    expired, _ = moto_pool.create_jwt(pool.client_id, "gwen@example.com", "access", expires_in=-60)

    response = call_me(api, expired)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_it_refuses_a_tampered_cognito_signature(api, pool):
    sign_up(pool, "gwen@example.com")
    access, _ = pool_tokens(pool, "gwen@example.com")
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"

    assert call_me(api, tampered).status_code == 401


def test_it_refuses_a_cognito_token_with_an_unknown_kid(api, pool):
    sign_up(pool, "gwen@example.com")
    access, _ = pool_tokens(pool, "gwen@example.com")
    claims = jwt.decode(access, options={"verify_signature": False})
    forged = jwt.encode(claims, moto_private_key(), algorithm="RS256", headers={"kid": "unknown"})

    assert call_me(api, forged).status_code == 401


def test_it_refuses_motos_public_test_key_when_the_pool_is_not_motos(api, settings):
    # A real pool publishes its own keys. Moto's private key is public (it ships in moto), so
    # a token signed with it must never pass against a real pool, even with the right claims.
    settings.COGNITO_REGION = REGION
    settings.COGNITO_USER_POOL_ID = "eu-west-2_RealPool1"
    settings.COGNITO_APP_CLIENT_IDS = ["real-client"]
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/eu-west-2_RealPool1"
    real_jwk = public_jwk(generate_private_key_pem())
    now = int(time.time())
    claims = {
        "sub": "8f7c1f9e-6f7e-4f8a-9a5e-2f3c1d0b9a77",
        "iss": issuer,
        "client_id": "real-client",
        "token_use": "access",
        "iat": now,
        "exp": now + 600,
        "username": "mallory",
    }
    with responses.RequestsMock() as mocked:
        mocked.get(f"{issuer}/.well-known/jwks.json", json={"keys": [real_jwk]})
        for kid in ("dummy", real_jwk["kid"]):
            forged = jwt.encode(claims, moto_private_key(), algorithm="RS256", headers={"kid": kid})

            assert call_me(api, forged).status_code == 401

    assert not User.objects.filter(pk=claims["sub"]).exists()


def test_our_own_tokens_still_work_when_cognito_is_configured(api, pool, alice):
    assert call_me(api, issue_tokens(user=alice).access).status_code == 200
