"""JWTs shaped like Amazon Cognito's, issued and verified with djangorestframework-simplejwt.

Access tokens carry ``sub``, ``cognito:groups``, ``token_use: access``, ``client_id``,
``scope``, ``auth_time``, ``iss``, ``exp``, ``iat``, ``jti``, ``username`` and ``ver`` (the
user's session version at issue: signing out raises it, and every older token is refused);
ID tokens carry ``aud``, ``token_use: id``, ``email``, ``email_verified`` and the names. A
frontend written against a Cognito user pool can therefore talk to us unchanged.
"""

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken as SimpleAccessToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken
from rest_framework_simplejwt.tokens import Token

from core.keys import public_jwk

from .models import User

COGNITO_SCOPE = "aws.cognito.signin.user.admin"


class KeyIdTokenBackend(TokenBackend):
    """simplejwt's backend, plus the ``kid`` header that JWKS consumers need to pick a key, and
    a previous key that still verifies (never signs) while a rotation settles."""

    def __init__(self, *, private_key_pem: str, issuer: str, previous_key_pem: str = "") -> None:
        self.public_jwk = public_jwk(private_key_pem)
        self.public_jwks = [self.public_jwk]
        if previous_key_pem:
            self.public_jwks.append(public_jwk(previous_key_pem))
        # kid -> the parsed public key that verifies tokens naming it.
        self.verifying_keys = {
            jwk["kid"]: jwt.algorithms.RSAAlgorithm.from_jwk(jwk) for jwk in self.public_jwks
        }
        super().__init__(algorithm="RS256", signing_key=private_key_pem, issuer=issuer)
        self.verifying_key = self.verifying_keys[self.public_jwk["kid"]]  # type: ignore[assignment]  # simplejwt types it str; this is the parsed RSA key

    @property
    def prepared_verifying_key(self) -> Any:
        return self.verifying_key

    def get_verifying_key(self, token: Any) -> Any:
        """The key the token names in its ``kid``: the current one or the previous one."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        if kid is None:  # none of ours lacks one; verify against the current key all the same
            return self.verifying_key
        key = self.verifying_keys.get(kid)
        if key is None:
            raise TokenBackendError("Token is invalid")
        return key

    def encode(self, payload: dict[str, Any]) -> str:
        claims = {**payload, "iss": self.issuer} if self.issuer else dict(payload)
        return jwt.encode(
            claims,
            self.prepared_signing_key,
            algorithm=self.algorithm,
            headers={"kid": self.public_jwk["kid"]},
        )


@lru_cache(maxsize=4)
def _backend(private_key_pem: str, issuer: str, previous_key_pem: str) -> KeyIdTokenBackend:
    return KeyIdTokenBackend(
        private_key_pem=private_key_pem, issuer=issuer, previous_key_pem=previous_key_pem
    )


def token_backend() -> KeyIdTokenBackend:
    """The backend for the current settings (tests may override key or issuer)."""
    return _backend(settings.JWT_PRIVATE_KEY, settings.JWT_ISSUER, settings.JWT_PREVIOUS_KEY)


# The refresh token's claim naming its family (not copied into access tokens).
FAMILY_CLAIM = "fam"
# The access token's claim holding the user's session_version at issue: a token whose
# version is behind the user's has been revoked (accounts.authentication).
VERSION_CLAIM = "ver"


class _OurBackendMixin:
    @property
    def token_backend(self) -> KeyIdTokenBackend:
        return token_backend()


class AccessToken(_OurBackendMixin, SimpleAccessToken):
    """The bearer token the API accepts."""


class RefreshToken(_OurBackendMixin, SimpleRefreshToken):  # type: ignore[misc]  # simplejwt's own for_user clash (BlacklistMixin vs Token)
    """Long-lived, single-use (rotated on refresh) and revocable (blacklisted on logout)."""

    access_token_class = AccessToken
    no_copy_claims = (*SimpleRefreshToken.no_copy_claims, FAMILY_CLAIM)  # type: ignore[assignment]  # the stubs fix the tuple's length


class IdToken(_OurBackendMixin, Token):
    """Who the user is, for the frontend to display; never accepted as an access token."""

    token_type = "id"  # noqa: S105 (a token kind, not a secret)
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]


@dataclass(frozen=True)
class TokenSet:
    access: str
    refresh: str
    id_token: str
    expires_in: int


def issue_tokens(
    *, user: User, auth_time: int | None = None, family: str | None = None
) -> TokenSet:
    """A fresh access, refresh and ID token for ``user``.

    ``auth_time`` is when the user last typed their password; a refresh keeps the original.
    ``family`` names the chain of refresh tokens one sign-in starts (a refresh keeps it): if a
    used one comes back, the whole chain is revoked (accounts.services.refresh_session).
    """
    auth_time = auth_time or int(time.time())
    refresh = RefreshToken.for_user(user)
    refresh["cognito:groups"] = [user.role]
    refresh["client_id"] = settings.JWT_CLIENT_ID
    refresh["scope"] = COGNITO_SCOPE
    refresh["auth_time"] = auth_time
    refresh["username"] = str(user.id)
    refresh[FAMILY_CLAIM] = family or uuid.uuid4().hex
    # simplejwt stored the token when for_user made it, before these claims: store the one
    # the client gets, so a reused token's family can be found among the outstanding ones.
    OutstandingToken.objects.filter(jti=refresh["jti"]).update(token=str(refresh))
    access = refresh.access_token
    # From the row, not ``user``: signing in may itself have saved the user (Django updates a
    # password hash made with fewer iterations, which the trigger counts as a new password).
    access[VERSION_CLAIM] = (
        User.objects.filter(pk=user.pk).values_list("session_version", flat=True).first() or 0
    )

    id_token = IdToken()
    id_token["sub"] = str(user.id)
    id_token["aud"] = settings.JWT_CLIENT_ID
    id_token["auth_time"] = auth_time
    id_token["email"] = user.email
    # True once the owner followed the link we emailed (or Cognito confirmed it).
    id_token["email_verified"] = user.email_verified
    id_token["given_name"] = user.given_name
    id_token["family_name"] = user.family_name
    id_token["cognito:groups"] = [user.role]
    id_token["cognito:username"] = str(user.id)

    return TokenSet(
        access=str(access),
        refresh=str(refresh),
        id_token=str(id_token),
        expires_in=int(AccessToken.lifetime.total_seconds()),
    )
