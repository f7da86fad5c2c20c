"""Verifying access tokens issued by an Amazon Cognito user pool.

Active only when COGNITO_REGION, COGNITO_USER_POOL_ID and COGNITO_APP_CLIENT_IDS are set. The
checks follow AWS's guidance for verifying Cognito JWTs: the signature against the pool's
JWKS (looked up by ``kid``), ``iss`` equal to the pool's URL, ``token_use == "access"``,
``client_id`` among ours, and the expiry.
"""

import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import requests
from django.conf import settings

# A token with an unknown kid makes us fetch the JWKS again (the pool may have rotated its
# keys), but not more often than this, so forged kids cannot make us hammer Cognito.
_MIN_REFETCH_SECONDS = 60
_HTTP_TIMEOUT_SECONDS = 5


class CognitoTokenError(Exception):
    """The token is not a valid access token of the configured pool."""


@dataclass(frozen=True)
class CognitoPool:
    region: str
    user_pool_id: str
    client_ids: tuple[str, ...]

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"


def configured_pool() -> CognitoPool | None:
    if not (
        settings.COGNITO_REGION
        and settings.COGNITO_USER_POOL_ID
        and settings.COGNITO_APP_CLIENT_IDS
    ):
        return None
    return CognitoPool(
        region=settings.COGNITO_REGION,
        user_pool_id=settings.COGNITO_USER_POOL_ID,
        client_ids=tuple(settings.COGNITO_APP_CLIENT_IDS),
    )


class _JwksCache:
    """Public keys per JWKS URL, shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: dict[str, float] = {}

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._fetched_at.clear()

    def key(self, url: str, kid: str) -> Any:
        now = time.monotonic()
        with self._lock:
            keys = self._keys.get(url)
            age = now - self._fetched_at.get(url, float("-inf"))
            stale = age > settings.COGNITO_JWKS_CACHE_SECONDS
            if keys is None or stale or (kid not in keys and age > _MIN_REFETCH_SECONDS):
                keys = self._fetch(url)
                self._keys[url] = keys
                self._fetched_at[url] = now
        if kid not in keys:
            raise CognitoTokenError("Token signed with an unknown key")
        return keys[kid]

    @staticmethod
    def _fetch(url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=_HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            document = response.json()
            return {
                jwk["kid"]: jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
                for jwk in document.get("keys", [])
                if jwk.get("kty") == "RSA" and "kid" in jwk
            }
        except (requests.RequestException, ValueError, KeyError, jwt.PyJWTError) as exc:
            raise CognitoTokenError("Could not fetch the user pool's signing keys") from exc


jwks_cache = _JwksCache()


def verify_access_token(raw: str, *, pool: CognitoPool) -> dict[str, Any]:
    """The claims of a valid Cognito access token of ``pool``; raises CognitoTokenError."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError as exc:
        raise CognitoTokenError("Malformed token") from exc
    if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
        raise CognitoTokenError("Token must be RS256 with a key id")
    key = jwks_cache.key(pool.jwks_url, header["kid"])
    try:
        claims = jwt.decode(
            raw,
            key,
            algorithms=["RS256"],
            issuer=pool.issuer,
            options={
                "require": ["exp", "iat", "iss", "sub", "token_use", "client_id"],
                # Cognito access tokens have no "aud"; client_id is checked below instead.
                "verify_aud": False,
            },
        )
    except jwt.ExpiredSignatureError as exc:
        raise CognitoTokenError("Token has expired") from exc
    except jwt.PyJWTError as exc:
        raise CognitoTokenError(f"Token is invalid: {exc}") from exc
    if claims["token_use"] != "access":  # noqa: S105 (a claim value, not a secret)
        raise CognitoTokenError("Only access tokens are accepted")
    if claims["client_id"] not in pool.client_ids:
        raise CognitoTokenError("Token was issued to an unknown app client")
    return claims


def fetch_user_attributes(*, pool: CognitoPool, username: str) -> dict[str, str]:
    """The user's attributes (email, names) from the pool; access tokens do not carry them."""
    client = boto3.client("cognito-idp", region_name=pool.region)
    try:
        response = client.admin_get_user(UserPoolId=pool.user_pool_id, Username=username)
    except Exception as exc:  # botocore raises many classes; all mean "cannot provision"
        raise CognitoTokenError("Could not read the user from the user pool") from exc
    return {attr["Name"]: attr["Value"] for attr in response.get("UserAttributes", [])}
