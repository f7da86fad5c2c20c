"""Bearer-token authentication for the API: our own RS256 tokens and, when configured,
access tokens from an Amazon Cognito user pool."""

import copy
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple, cast

import jwt
from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password

from core.exceptions import NotAuthenticated

from . import cognito, services
from .models import User
from .tokens import VERSION_CLAIM


class BearerTokenAuthentication(JWTAuthentication):
    """Routes a bearer token by its issuer; each issuer's tokens are then fully verified."""

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[User, Any] | None:  # type: ignore[override]  # simplejwt's AuthUser TypeVar: no override can match
        header = self.get_header(request)
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        pool = cognito.configured_pool()
        if pool is not None and _unverified_issuer(raw) == pool.issuer:
            return self._authenticate_cognito(raw.decode(), pool)
        return self._authenticate_ours(raw)

    def _authenticate_ours(self, raw: bytes) -> tuple[User, Token]:
        """A token seen before in this worker costs one indexed read (the user's versions);
        the signature check and the user's load are done once per token."""
        signed, _, signature = raw.rpartition(b".")
        entry = _recall(signature, signed)
        if entry is not None:
            versions = _current_versions(entry.user.pk)
            if versions is None:
                raise exceptions.AuthenticationFailed("User not found", code="user_not_found")
            session_version, cache_version = versions
            _refuse_if_revoked(entry.token, session_version)
            if cache_version == entry.user.cache_version:
                return _own_copy(entry.user), entry.token
            # The user or their profile changed since they were loaded: load them again (with
            # every check of a first sight: active, password).
            token = entry.token
        else:
            token = self.get_validated_token(raw)
        # get_user below makes simplejwt's user ours.
        user = self.get_user(token)
        _refuse_if_revoked(token, user.session_version)
        _remember(signature, _Verified(signed=signed, token=token, user=user))
        return _own_copy(user), token

    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]  # simplejwt's AuthUser TypeVar: no override can match
        """simplejwt's lookup and checks, with the patient profile and registered practice
        joined: booking and /auth/me need them, and a second query would cost more."""
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        if user_id is None:
            raise exceptions.AuthenticationFailed("Token contained no user", code="token_not_valid")
        user = (
            User.objects.select_related("patient_profile__registered_practice")
            .filter(**{api_settings.USER_ID_FIELD: user_id})
            .first()
        )
        if user is None:
            raise exceptions.AuthenticationFailed("User not found", code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise exceptions.AuthenticationFailed(
                "The user's password has been changed.", code="password_changed"
            )
        return user

    def _authenticate_cognito(self, raw: str, pool: cognito.CognitoPool) -> tuple[User, Any]:
        try:
            claims = cognito.verify_access_token(raw, pool=pool)
        except cognito.CognitoTokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc), code="token_not_valid") from exc
        role = services.role_from_groups(claims.get("cognito:groups"))
        user = User.objects.select_related("patient_profile").filter(pk=claims["sub"]).first()
        if user is None:
            try:
                attributes = cognito.fetch_user_attributes(
                    pool=pool, username=claims.get("username", claims["sub"])
                )
                user = services.provision_cognito_user(
                    sub=claims["sub"], role=role, attributes=attributes
                )
            except (cognito.CognitoTokenError, NotAuthenticated) as exc:
                raise exceptions.AuthenticationFailed(str(exc), code="token_not_valid") from exc
        elif user.role != role and not user.is_superuser:
            # Group membership is managed in Cognito; follow it.
            user.role = role
            user.save(update_fields=["role"])
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User is inactive", code="user_inactive")
        return user, claims


class _Verified(NamedTuple):
    signed: bytes  # the token's header and claims, as signed
    token: Token
    user: User

    @property
    def expires(self) -> float:
        return float(self.token["exp"])


# Per worker process: access tokens whose signature was verified, by signature, least
# recently used first. A lock, for workers that run threads (GUNICORN_THREADS).
_verified: OrderedDict[bytes, _Verified] = OrderedDict()
_verified_lock = threading.Lock()

TOKEN_REVOKED = "The token has been revoked: sign in again, or use your refresh token."  # noqa: S105 (a message, not a secret)


def _recall(signature: bytes, signed: bytes) -> _Verified | None:
    """The unexpired entry for this token, if this worker verified it before. The signed part
    must match too: a known signature under other claims is no token of ours."""
    with _verified_lock:
        entry = _verified.get(signature)
        if entry is None or entry.signed != signed or time.time() >= entry.expires:
            return None
        _verified.move_to_end(signature)
        return entry


def _remember(signature: bytes, entry: _Verified) -> None:
    with _verified_lock:
        _verified[signature] = entry
        while len(_verified) > settings.AUTH_TOKEN_CACHE_SIZE:
            _verified.popitem(last=False)


def _own_copy(user: User) -> User:
    """A copy of the cached user (and profile) for one request: what a request sets on it and
    does not save (a write that fails and rolls back) never reaches the next request."""
    copy_ = copy.copy(user)  # Django copies the instance's state and relation cache
    profile = user._state.fields_cache.get("patient_profile")
    if profile is not None:
        copy_._state.fields_cache["patient_profile"] = copy.copy(profile)
    return copy_


def forget_verified_tokens() -> None:
    """Empty this worker's cache (tests, and after settings change the keys)."""
    with _verified_lock:
        _verified.clear()


def _current_versions(user_id: Any) -> tuple[int, int] | None:
    # A plain cursor: the ORM's query building would cost more than the read itself.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_version, cache_version FROM accounts_user WHERE id = %s", [user_id]
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def _refuse_if_revoked(token: Token, session_version: int) -> None:
    # Tokens issued before versions existed carry none: they stand for version 0.
    if token.get(VERSION_CLAIM, 0) != session_version:
        raise exceptions.AuthenticationFailed(TOKEN_REVOKED, code="token_not_valid")


def signed_in_user(request: HttpRequest) -> User:
    """``request.user`` where a permission (IsAuthenticated, the admin's staff login) has
    already refused anonymous callers. A static narrowing only: nothing is checked here."""
    return cast(User, request.user)


def _unverified_issuer(raw: bytes) -> str | None:
    # Only to choose which verifier to run; the chosen one checks the signature.
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None
