"""Bearer-token authentication for the API: our own RS256 tokens and, when configured,
access tokens from an Amazon Cognito user pool."""

from typing import Any, cast

import jwt
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
        # get_user below makes simplejwt's user ours.
        return cast("tuple[User, Token] | None", super().authenticate(request))

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
