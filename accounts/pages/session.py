"""Signing in and out of the patient pages, with a cookie session.

The same door as the API's sign-in and the admin's (``services.log_in``): the same locks per
account and per client address, and the same per-address rate limit, counted in the same
counter, so a guesser gains nothing by switching doors. Staff sign in to the admin instead:
these pages are for patients.
"""

from django import forms
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import NotAuthenticated, TooManyRequests
from core.http.client import client_ip
from core.http.throttling import count_scoped_hit
from core.pages import STAFF_ONLY_ADMIN, in_uk_time, is_patient, render_page, safe_next

from .. import services

TOO_MANY_SIGN_INS = "Too many sign-in attempts from here. Please wait a minute and try again."
SIGNED_OUT = "signed_out"
EMAIL_FORMAT = "Enter an email address in the correct format, like name@example.com."


class SignInForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages={"required": "Enter your email address.", "invalid": EMAIL_FORMAT},
    )
    password = forms.CharField(
        label="Password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password."},
    )


def _sign_in_page(request: HttpRequest, form: SignInForm, status: int = 200) -> HttpResponse:
    return render_page(
        request,
        "accounts/pages/sign_in.html",
        {"form": form, "next": safe_next(request, ""), "signed_out": SIGNED_OUT in request.GET},
        status=status,
    )


@never_cache
@in_uk_time
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    home = reverse("booking-pages:home")
    if request.method == "GET":
        if is_patient(request.user):
            return redirect(safe_next(request, home))
        return _sign_in_page(request, SignInForm())
    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, form, 400)
    address = client_ip(request)
    if count_scoped_hit("login", address) is not None:
        form.add_error(None, TOO_MANY_SIGN_INS)
        return _sign_in_page(request, form, 429)
    try:
        user = services.log_in(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            client_address=address,
        )
    except TooManyRequests as exc:
        form.add_error(None, exc.detail)
        response = _sign_in_page(request, form, 429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except NotAuthenticated as exc:
        form.add_error(None, exc.detail)
        return _sign_in_page(request, form, 401)
    if not is_patient(user):
        form.add_error(None, STAFF_ONLY_ADMIN)
        return _sign_in_page(request, form, 403)
    # A new session key (no fixation) and a new CSRF token.
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(safe_next(request, home))


@never_cache
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """POST only, behind the CSRF check: a link elsewhere cannot sign anyone out."""
    logout(request)
    return redirect(f"{reverse('account-pages:sign-in')}?{SIGNED_OUT}")
