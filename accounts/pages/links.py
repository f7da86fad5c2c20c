"""The pages the links in account emails open: confirm an address, ask for a password reset,
choose a new password.

Plain server-rendered forms that work without JavaScript. Every POST goes through the same
services (accounts.verification) and counts against the same per-address limit as the API's
``account_email`` scope. Opening a link changes nothing: mail scanners open links, so the
change waits for the person's button press. The link's token moves into the session at once
and the page reloads without it, so it is not left in the browser's history or sent on in a
Referer (as Django's own password reset does).
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.exceptions import RuleViolation, TooManyRequests
from core.http.client import client_ip
from core.http.throttling import count_scoped_hit
from core.pages import message_page

from .. import verification
from .session import EMAIL_FORMAT

TOO_MANY = "Too many requests from here. Please wait a minute and try again."


class ConfirmForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="The password you chose when you registered.",
        error_messages={"required": "Enter your password."},
    )


class EmailForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        error_messages={"required": "Enter your email address.", "invalid": EMAIL_FORMAT},
    )


class NewPasswordForm(forms.Form):
    password = forms.CharField(
        label="New password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Enter a new password."},
    )
    confirm = forms.CharField(
        label="New password again",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Enter the new password again."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rules as the validators state them, so the hint cannot drift from them.
        self.fields["password"].help_text = " ".join(password_validators_help_texts())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("confirm") and data["password"] != data["confirm"]:
            self.add_error("confirm", "The two passwords are different.")
        return data


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> HttpResponse:
    return render(request, f"accounts/pages/{template}", context, status=status)


def _token_from_link(request: HttpRequest, key: str) -> HttpResponse | None:
    """A link's ``?token=``, kept in the session, and a redirect to the page without it."""
    token = request.GET.get("token")
    if token is None:
        return None
    request.session[key] = token[:512]
    return redirect(request.path)


def _throttled(request: HttpRequest) -> HttpResponse | None:
    wait = count_scoped_hit("account_email", client_ip(request))
    if wait is None:
        return None
    response = message_page(request, title="Please wait", message=TOO_MANY, status=429)
    response["Retry-After"] = str(int(wait))
    return response


def _invalid_link(
    request: HttpRequest,
    message: str = verification.LINK_INVALID,
    *,
    again: tuple[str, str] = ("account-pages:forgot-password", "Ask for a new password reset link"),
) -> HttpResponse:
    return message_page(
        request,
        status=400,
        title="This link does not work",
        message=message,
        next_url=reverse(again[0]),
        next_label=again[1],
    )


NEW_CONFIRMATION_LINK = ("account-pages:resend-link", "Get a new confirmation link")


VERIFY_KEY = "verify_email_token"
RESET_KEY = "reset_password_token"


@never_cache
@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest) -> HttpResponse:
    if (moved := _token_from_link(request, VERIFY_KEY)) is not None:
        return moved
    token = request.session.get(VERIFY_KEY)
    if not token:
        return _invalid_link(request, again=NEW_CONFIRMATION_LINK)
    if request.method == "GET":
        return _page(request, "verify_email.html", form=ConfirmForm())
    if (refused := _throttled(request)) is not None:
        return refused
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return _page(request, "verify_email.html", 400, form=form)
    try:
        verification.verify_email(
            token=token, password=form.cleaned_data["password"], client_address=client_ip(request)
        )
    except verification.LinkInvalid as exc:
        return _invalid_link(request, exc.detail, again=NEW_CONFIRMATION_LINK)
    except verification.WrongPassword as exc:
        form.add_error("password", exc.detail)
        return _page(request, "verify_email.html", 401, form=form)
    except TooManyRequests as exc:
        return message_page(request, title="Please wait", message=exc.detail, status=429)
    del request.session[VERIFY_KEY]
    return message_page(
        request,
        title="Email address confirmed",
        message="Thank you. Your email address is confirmed: you can sign in and book "
        "appointments.",
    )


def _email_request(
    request: HttpRequest, template: str, act: Callable[..., None], sent: str
) -> HttpResponse:
    """A page that asks for an email address and sends it a link: the same answer whether or
    not an account uses the address (nothing to learn about who is registered)."""
    if request.method == "GET":
        return _page(request, template, form=EmailForm())
    if (refused := _throttled(request)) is not None:
        return refused
    form = EmailForm(request.POST)
    if not form.is_valid():
        return _page(request, template, 400, form=form)
    act(email=form.cleaned_data["email"])
    return message_page(request, title="Check your email", message=sent)


@never_cache
@require_http_methods(["GET", "POST"])
def forgot_password(request: HttpRequest) -> HttpResponse:
    return _email_request(
        request,
        "forgot_password.html",
        verification.request_password_reset,
        "If an account uses this email address, we have sent it a link to reset the password. "
        "The link works once, for a short time.",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def resend_link(request: HttpRequest) -> HttpResponse:
    """A new confirmation link, for a sign-up whose email was lost or whose link ran out."""
    return _email_request(
        request,
        "resend_link.html",
        verification.resend_verification,
        "If an account with this email address still needs confirming, we have sent it a new link.",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def reset_password(request: HttpRequest) -> HttpResponse:
    if (moved := _token_from_link(request, RESET_KEY)) is not None:
        return moved
    token = request.session.get(RESET_KEY)
    if not token:
        return _invalid_link(request)
    if request.method == "GET":
        return _page(request, "reset_password.html", form=NewPasswordForm())
    if (refused := _throttled(request)) is not None:
        return refused
    form = NewPasswordForm(request.POST)
    if not form.is_valid():
        return _page(request, "reset_password.html", 400, form=form)
    try:
        verification.reset_password(
            token=token, password=form.cleaned_data["password"], client_address=client_ip(request)
        )
    except verification.LinkInvalid as exc:
        return _invalid_link(request, exc.detail)
    except RuleViolation as exc:
        for message in (exc.errors or {}).get("password", [exc.detail]):
            form.add_error("password", message)
        return _page(request, "reset_password.html", 422, form=form)
    del request.session[RESET_KEY]
    return message_page(
        request,
        title="Password changed",
        message="Your password has been changed, and every device that was signed in has been "
        "signed out. Sign in with your new password.",
    )
