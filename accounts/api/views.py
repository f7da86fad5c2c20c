"""Thin views for /api/v1/auth/ and the JWKS document."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import AuditedViewMixin, record_access
from core.http.client import client_ip
from core.http.schema import problem, problems
from core.http.throttling import ScopedRateThrottle

from .. import services, verification
from ..authentication import signed_in_user
from ..models import AuditEvent
from ..tokens import TokenSet, issue_tokens, token_backend
from .serializers import (
    AccessLogEntrySerializer,
    DetailSerializer,
    EmailInputSerializer,
    LoginInputSerializer,
    MeSerializer,
    PasswordResetSerializer,
    ProfileUpdateSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
    TokenOutputSerializer,
    VerifyEmailSerializer,
)


def _token_response(tokens: TokenSet) -> Response:
    return Response(
        TokenOutputSerializer(
            {
                "access": tokens.access,
                "refresh": tokens.refresh,
                "id_token": tokens.id_token,
                "token_type": "Bearer",
                "expires_in": tokens.expires_in,
            }
        ).data
    )


REGISTRATION_RECEIVED = (
    "Thank you. We have sent an email to this address: follow the link in it to finish "
    "registering. If you already have an account, the email says how to sign in."
)
VERIFICATION_SENT = (
    "If an account with this email address still needs confirming, we have sent it a new link."
)
EMAIL_CONFIRMED = "Your email address is confirmed."
RESET_REQUESTED = (
    "If an account uses this email address, we have sent it a link to reset the password."
)
PASSWORD_CHANGED = "Your password has been changed. Sign in with the new one."  # noqa: S105 (a message)


WEAK_PASSWORD_PROBLEM = problem(
    422,
    "weak_password",
    "The password is not strong enough.",
    errors={"password": ["This password is too common."]},
)
LINK_INVALID_PROBLEM = problem(
    422, "link_invalid", verification.LINK_INVALID, errors={"token": [verification.LINK_INVALID]}
)


def _detail(message: str, code: int = status.HTTP_200_OK) -> Response:
    return Response(DetailSerializer({"detail": message}).data, status=code)


class RegisterView(AuditedViewMixin, APIView):
    """Self-service sign-up, for patients only.

    Answers 202 alike whether or not the email or NHS number already has an account: a new
    account gets a verification link by email, the holder of a taken one a notice instead.
    """

    audit_object_type = "profile"
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterInputSerializer,
        responses={
            202: DetailSerializer,
            **problems(
                422,
                examples=[WEAK_PASSWORD_PROBLEM],
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RegisterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        user = services.register_patient(
            email=fields.pop("email"),
            password=fields.pop("password"),
            role=fields.pop("role"),
            given_name=fields.pop("given_name", ""),
            family_name=fields.pop("family_name", ""),
            profile=fields,
        )
        self.audit.patient = user
        return _detail(REGISTRATION_RECEIVED, status.HTTP_202_ACCEPTED)


class _AnonymousAccountEmailView(APIView):
    """Anyone may call; the per-address limit of account emails (register has its own)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "account_email"


class VerifyEmailView(_AnonymousAccountEmailView):
    """Confirm an email address with the token from the emailed link and the account's
    password (wrong passwords count towards the sign-in lock)."""

    @extend_schema(
        request=VerifyEmailSerializer,
        responses={
            200: DetailSerializer,
            **problems(
                401,
                422,
                429,
                examples=[
                    LINK_INVALID_PROBLEM,
                    problem(
                        401,
                        "wrong_password",
                        verification.CONFIRMATION_REFUSED,
                        errors={"password": [verification.CONFIRMATION_REFUSED]},
                    ),
                    problem(429, "account_locked", services.ACCOUNT_LOCKED),
                ],
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = VerifyEmailSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification.verify_email(**data.validated_data, client_address=client_ip(request))
        return _detail(EMAIL_CONFIRMED)


class _EmailRequestView(_AnonymousAccountEmailView):
    """Takes an email address and answers 202 alike whether or not it has an account; the
    subclass says what to do with it."""

    accepted = ""

    def act(self, email: str) -> None:
        raise NotImplementedError

    @extend_schema(
        request=EmailInputSerializer,
        responses={202: DetailSerializer, **problems(400)},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = EmailInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.act(data.validated_data["email"])
        return _detail(self.accepted, status.HTTP_202_ACCEPTED)


class ResendVerificationView(_EmailRequestView):
    """Send a new confirmation link to an unconfirmed account; answers alike whether or not
    the address has one."""

    accepted = VERIFICATION_SENT

    def act(self, email: str) -> None:
        verification.resend_verification(email=email)


class PasswordResetRequestView(_EmailRequestView):
    """Ask for a password reset link; answers alike whether or not the address has an account."""

    accepted = RESET_REQUESTED

    def act(self, email: str) -> None:
        verification.request_password_reset(email=email)


class PasswordResetView(_AnonymousAccountEmailView):
    """Choose a new password with the token from the emailed link; signs out every device."""

    @extend_schema(
        request=PasswordResetSerializer,
        responses={
            200: DetailSerializer,
            **problems(
                422,
                examples=[
                    LINK_INVALID_PROBLEM,
                    WEAK_PASSWORD_PROBLEM,
                ],
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verification.reset_password(**data.validated_data, client_address=client_ip(request))
        return _detail(PASSWORD_CHANGED)


class LoginView(APIView):
    """Exchange email and password for Cognito-shaped tokens."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=LoginInputSerializer,
        responses={
            200: TokenOutputSerializer,
            **problems(
                401,
                429,
                examples=[
                    problem(401, "invalid_credentials", services.INVALID_CREDENTIALS),
                    problem(429, "account_locked", services.ACCOUNT_LOCKED),
                ],
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.log_in(**data.validated_data, client_address=client_ip(request))
        return _token_response(issue_tokens(user=user))


@contextmanager
def _audited_reuse(request: Request) -> Iterator[None]:
    """A reused refresh token leaves an audit row (the patient sees it in their access log)."""
    try:
        yield
    except services.RefreshTokenReused as reused:
        user = reused.user
        record_access(
            request,
            action="auth.refresh_token.reused",
            object_type="refresh_token_family",
            object_id=reused.family or "",
            patient=user if user is not None and user.is_patient else None,
            allowed=False,
        )
        raise


class RefreshView(APIView):
    """Exchange a refresh token (used up) for new tokens."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "refresh"

    @extend_schema(
        request=RefreshInputSerializer,
        responses={
            200: TokenOutputSerializer,
            **problems(
                401,
                429,
                examples=[
                    problem(401, "token_not_valid", services.TOKEN_NOT_VALID),
                    problem(429, "account_locked", services.ACCOUNT_LOCKED),
                ],
            ),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _audited_reuse(request):
            tokens = services.refresh_session(refresh=data.validated_data["refresh"])
        return _token_response(tokens)


class LogoutView(APIView):
    """Revoke a refresh token, and end the user's access tokens at once (on every device:
    the others' refresh tokens still work, so their clients refresh once on a 401)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "refresh"

    @extend_schema(
        request=RefreshInputSerializer,
        responses={204: OpenApiResponse(description="Signed out"), **problems(401)},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _audited_reuse(request):
            services.log_out(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(AuditedViewMixin, APIView):
    """The caller's own account and patient profile."""

    audit_object_type = "profile"
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeSerializer}, tags=["auth"])
    def get(self, request: Request) -> Response:
        """Who is signed in: name, role and, for patients, their profile and practice; for
        staff, the practices they work at and their role in each."""
        user = signed_in_user(request)  # loaded with profile and practice by the authentication
        self.audit.patient = user if user.is_patient else None
        return Response(MeSerializer(user).data)

    @extend_schema(
        request=ProfileUpdateSerializer,
        responses={
            200: MeSerializer,
            **problems(
                422,
                examples=[
                    problem(
                        422,
                        "nhs_number_locked",
                        services.NHS_NUMBER_LOCKED,
                        errors={"nhs_number": [services.NHS_NUMBER_LOCKED]},
                    ),
                    problem(
                        422,
                        "sms_needs_phone",
                        services.SMS_NEEDS_PHONE,
                        errors={"notify_by_sms": [services.SMS_NEEDS_PHONE]},
                    ),
                ],
            ),
        },
        tags=["auth"],
    )
    def patch(self, request: Request) -> Response:
        """Change your own names and, for patients, contact details, message preferences,
        registered practice and (until the practice confirms it) NHS number. Send only the
        fields to change; the role and the email cannot be changed here."""
        data = ProfileUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        me = signed_in_user(request)
        self.audit.patient = me if me.is_patient else None
        user = services.update_profile(user=me, changes=data.validated_data)
        return Response(MeSerializer(user).data)


class JwksView(APIView):
    """Public keys that verify our tokens, in the JWKS format Cognito also serves."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses={
            200: inline_serializer(
                "Jwks", fields={"keys": serializers.ListField(child=serializers.DictField())}
            )
        },
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        # The current key, then the previous one while a rotation settles.
        response = Response({"keys": token_backend().public_jwks})
        response["Cache-Control"] = "public, max-age=3600"
        return response


class AccessLogView(ListAPIView):
    """Who accessed the caller's record, and when (newest first)."""

    permission_classes = [IsAuthenticated]
    serializer_class = AccessLogEntrySerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return (
            AuditEvent.objects.filter(patient=signed_in_user(self.request))
            .select_related("actor")
            .order_by("-at", "-id")
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "viewer": self.request.user}

    @extend_schema(tags=["auth"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
