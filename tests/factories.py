"""factory_boy factories shared by every test module."""

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import PatientProfile, Role, User
from accounts.services import sync_staff_groups
from datasets.demo import nhs_numbers
from practices.models import (
    Clinician,
    Closure,
    ExternalBookability,
    OpeningHours,
    Practice,
    PracticeMembership,
    Profession,
    Session,
    SessionTemplate,
    Slot,
    SlotType,
)
from practices.services import ensure_default_slot_types

DEFAULT_PASSWORD = "Correct-Horse-42"


# Handed out in order from the middle of the never-issued test range: unique within a run
# (random ones collided now and then, about once in 200 runs of the million-slot test), and
# clear of the demo data, which counts up from the start of the range.
_NHS_NUMBERS = nhs_numbers(start=500_000)


def fake_nhs_number() -> str:
    """A valid NHS number from the test range 999 000 0000 - 999 999 9999, new on every call."""
    return next(_NHS_NUMBERS)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    role = Role.PATIENT
    password = factory.django.Password(DEFAULT_PASSWORD)
    # Most people in tests have confirmed their address; UserFactory(email_verified_at=None)
    # is a fresh sign-up.
    email_verified_at = factory.LazyFunction(timezone.now)


class PatientProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientProfile

    nhs_number = factory.LazyFunction(fake_nhs_number)
    # Checked by the practice, as most records are; None for a patient's own fresh entry.
    nhs_number_confirmed_at = factory.LazyAttribute(
        lambda profile: timezone.now() if profile.nhs_number else None
    )
    date_of_birth = factory.Faker("date_of_birth", minimum_age=1, maximum_age=95)
    phone = "+447700900123"


class PatientFactory(UserFactory):
    role = Role.PATIENT
    profile = factory.RelatedFactory(PatientProfileFactory, factory_related_name="user")


class StaffUserFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def staff_groups(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            sync_staff_groups(obj)


class ClinicianUserFactory(StaffUserFactory):
    role = Role.CLINICIAN


class PracticeAdminFactory(StaffUserFactory):
    role = Role.ADMIN


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice
        django_get_or_create = ("ods_code",)
        skip_postgeneration_save = True

    ods_code = factory.Sequence(lambda n: f"Y{n:05d}")
    name = factory.Sequence(lambda n: f"Practice {n} Medical Centre")
    address_line_1 = "1 High Street"
    town = "Leeds"
    postcode = "LS1 4AP"
    phone = "0113 496 0000"

    @factory.post_generation
    def slot_types(obj, create, extracted, **kwargs):  # noqa: N805
        # As a practice made in the admin or by the seed: the common types, mapped.
        if create:
            ensure_default_slot_types(practice=obj)


class SlotTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlotType
        django_get_or_create = ("practice", "code")

    practice = factory.SubFactory(PracticeFactory)
    code = factory.Sequence(lambda n: f"type_{n}")
    name = factory.LazyAttribute(lambda t: t.code.replace("_", " ").capitalize())
    national_category = "planned_clinics"


class _OfSlotType(factory.django.DjangoModelFactory):
    """Makes the slot type a template, session or slot names, if its practice lacks it: the
    database holds them to their practice's types."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        SlotTypeFactory(practice=kwargs["practice"], code=kwargs.get("slot_type", "routine"))
        return super()._create(model_class, *args, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PracticeMembership

    practice = factory.SubFactory(PracticeFactory)
    user = factory.SubFactory(PracticeAdminFactory)


class ClinicianFactory(factory.django.DjangoModelFactory):
    """A clinician with a staff login; ``ClinicianFactory(practice=p)`` makes them work at p."""

    class Meta:
        model = Clinician
        skip_postgeneration_save = True

    user = factory.SubFactory(ClinicianUserFactory)
    display_name = factory.LazyAttribute(
        lambda c: f"Dr {c.user.given_name[0]} {c.user.family_name}"
    )
    profession = Profession.GP
    gender = "female"

    @factory.post_generation
    def practice(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted is not None:
            PracticeMembership.objects.get_or_create(practice=extracted, user=obj.user)


def next_hour(hours_ahead: int = 24) -> dt.datetime:
    """A whole hour at least ``hours_ahead`` hours from now, in UTC."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return now + dt.timedelta(hours=hours_ahead + 1)


class SlotFactory(_OfSlotType):
    class Meta:
        model = Slot

    practice = factory.SubFactory(PracticeFactory)
    clinician = factory.LazyAttribute(lambda o: ClinicianFactory(practice=o.practice))
    # Within three days whatever the sequence has reached: a whole run makes thousands of
    # slots, and a test's default search window is a week.
    start = factory.Sequence(lambda n: next_hour() + dt.timedelta(minutes=10 * (n % 432)))
    end = factory.LazyAttribute(lambda s: s.start + dt.timedelta(minutes=10))
    slot_type = "routine"
    channel = "in_person"


class SessionTemplateFactory(_OfSlotType):
    class Meta:
        model = SessionTemplate

    practice = factory.SubFactory(PracticeFactory)
    clinician = factory.LazyAttribute(lambda o: ClinicianFactory(practice=o.practice))
    weekday = 0
    start_time = dt.time(9, 0)
    end_time = dt.time(12, 0)
    slot_minutes = 10
    valid_from = dt.date(2020, 1, 1)


class SessionFactory(_OfSlotType):
    class Meta:
        model = Session

    practice = factory.SubFactory(PracticeFactory)
    clinician = factory.LazyAttribute(lambda o: ClinicianFactory(practice=o.practice))
    date = factory.LazyAttribute(lambda s: s.start.date())
    start = factory.LazyFunction(next_hour)
    end = factory.LazyAttribute(lambda s: s.start + dt.timedelta(hours=1))


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    practice = factory.SubFactory(PracticeFactory)
    reason = "Bank holiday"


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    practice = factory.SubFactory(PracticeFactory)
    weekday = 0
    opens = dt.time(8, 0)
    closes = dt.time(18, 30)


def free_slot(practice, *, hours_ahead: int = 24, minutes: int = 10, **fields) -> Slot:
    """A free slot at ``practice`` starting on a whole hour ``hours_ahead`` from now."""
    start = fields.pop("start", None) or next_hour(hours_ahead)
    return SlotFactory(
        practice=practice, start=start, end=start + dt.timedelta(minutes=minutes), **fields
    )


def later_today(minutes: int = 5) -> dt.datetime:
    """A start ``minutes`` from now that is still today, and whose day began at least a
    quarter of an hour ago, in UK time (outcomes such as "arrived" are allowed only on the
    appointment's day). Skips the calling test in the half hour around UK midnight."""
    import pytest

    from accounts.admin_site import STAFF_TIMEZONE

    now = timezone.localtime(timezone=STAFF_TIMEZONE)
    if not dt.time(0, 15) <= now.time() <= dt.time(23, 45):
        pytest.skip("too close to midnight for an appointment today")
    return timezone.now() + dt.timedelta(minutes=minutes)


class ExternalBookabilityFactory(factory.django.DjangoModelFactory):
    """A GP Connect setting; give it ``slot_type=`` or ``session=`` (the database wants one)."""

    class Meta:
        model = ExternalBookability

    bookable = True


def gp_connect_bookable(practice, *, slot_type: str = "routine", **fields) -> ExternalBookability:
    """Turns GP Connect on at ``practice`` and lets other organisations book its ``slot_type``
    slots (any organisation, unless ``fields`` restrict it: ods_codes, organisation_types)."""
    practice.gp_connect_enabled = True
    practice.save(update_fields=["gp_connect_enabled"])
    kind = SlotTypeFactory(practice=practice, code=slot_type)
    return ExternalBookabilityFactory(slot_type=kind, **fields)


class ServiceUserFactory(UserFactory):
    """What a GP Connect consumer system acts as (gpconnect makes the real ones): inactive,
    no password, an administrator's role but not staff, and no practice."""

    email = factory.Sequence(lambda n: f"system{n}@gpconnect.invalid")
    role = Role.ADMIN
    is_active = False
    password = factory.django.Password(None)
    email_verified_at = None
