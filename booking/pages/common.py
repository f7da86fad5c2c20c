"""What the booking pages ask of the request: the signed-in patient and their practice."""

from django.http import HttpRequest

from accounts.models import User
from practices.models import Practice


def signed_in_patient(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # core.pages.patient_page lets only signed-in patients in
    return user


def registered_practice_id(request: HttpRequest) -> int | None:
    profile = getattr(signed_in_patient(request), "patient_profile", None)
    return profile.registered_practice_id if profile is not None else None


def registered_practice(request: HttpRequest) -> Practice | None:
    profile = getattr(signed_in_patient(request), "patient_profile", None)
    return profile.registered_practice if profile is not None else None
