"""factory_boy factories shared by every test module."""

import random

import factory

from accounts.models import PatientProfile, Role, User

DEFAULT_PASSWORD = "Correct-Horse-42"


def fake_nhs_number(rng: random.Random | None = None) -> str:
    """A valid NHS number from the never-issued test range 999 000 0000 - 999 999 9999."""
    rng = rng or random.Random()  # noqa: S311 - test data, not secrets
    while True:
        stem = f"999{rng.randrange(0, 1_000_000):06d}"
        total = sum(int(d) * w for d, w in zip(stem, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return stem + str(check)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    role = Role.PATIENT
    password = factory.django.Password(DEFAULT_PASSWORD)


class PatientProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientProfile

    nhs_number = factory.LazyFunction(fake_nhs_number)
    date_of_birth = factory.Faker("date_of_birth", minimum_age=1, maximum_age=95)
    phone = "+447700900123"


class PatientFactory(UserFactory):
    role = Role.PATIENT
    profile = factory.RelatedFactory(PatientProfileFactory, factory_related_name="user")


class ClinicianFactory(UserFactory):
    role = Role.CLINICIAN
    is_staff = True


class PracticeAdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
