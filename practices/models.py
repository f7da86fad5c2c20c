"""GP practices, their staff and clinicians, rota sessions and bookable slots.

Follows the GP Connect Appointment Management shape: a clinician's sessions (schedules) are cut
into slots, and an appointment (booking app) takes one slot.
"""

import datetime as dt
import re
import uuid
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.db.models.functions import Cast, Now
from django.db.models.lookups import Regex
from django.utils import timezone

from core.db import TsTzRange
from core.formats import uk_datetime

from . import gpad
from .gpad import Mode

PATIENT_AS_CLINICIAN = (
    "Only a staff account can be a clinician. Create a staff account for this person first."
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class Channel(models.TextChoices):
    """How the patient meets the clinician (GP Connect's delivery channel)."""

    IN_PERSON = "in_person", "In person"
    TELEPHONE = "telephone", "Telephone"
    VIDEO = "video", "Video"


class OrganisationType(models.TextChoices):
    """The kinds of organisation that book through GP Connect: the codes of the CodeSystem
    https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1, which has these two
    and no others (version 1.1.0, unchanged in every GP Connect release since 1.2)."""

    GP_PRACTICE = "gp-practice", "GP practice"
    URGENT_CARE = "urgent-care", "Urgent care"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class PracticeQuerySet(models.QuerySet):
    def active(self) -> "PracticeQuerySet":
        return self.filter(is_active=True)

    def staffed_by(self, user: "User | AnonymousUser") -> "PracticeQuerySet":
        """The practices where ``user`` works; every practice for operators."""
        if user.is_superuser:
            return self
        if not user.is_authenticated or not user.is_staff:
            return self.none()
        return self.filter(memberships__user=user)


class Practice(models.Model):
    """A GP practice, known to the public by its ODS code, with its booking rules."""

    ods_code = models.CharField("ODS code", max_length=9, unique=True)
    name = models.CharField(max_length=200)
    address_line_1 = models.CharField(max_length=100, blank=True)
    address_line_2 = models.CharField(max_length=100, blank=True)
    town = models.CharField(max_length=60, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    timezone = models.CharField(max_length=64, default="Europe/London")
    is_active = models.BooleanField(default=True)
    # Made by `manage.py seed_data`; only these (and their staff, patients and bookings) are
    # removed by `seed_data --reset`.
    is_demo = models.BooleanField(default=False, editable=False)

    # Booking rules, with the defaults most practices use for online booking.
    booking_horizon_days = models.PositiveSmallIntegerField(
        default=28, help_text="How many days ahead patients may book."
    )
    min_notice_minutes = models.PositiveIntegerField(
        default=120, help_text="How soon before its start a slot can still be booked online."
    )
    cancellation_cutoff_minutes = models.PositiveIntegerField(
        default=120, help_text="Patients may cancel online until this long before the start."
    )
    max_future_appointments = models.PositiveSmallIntegerField(
        default=4, help_text="Most upcoming appointments one patient may hold here."
    )
    registered_patients_only = models.BooleanField(
        default=True, help_text="Only patients registered at this practice may book."
    )
    reminder_hours_before = models.PositiveSmallIntegerField(
        default=24, help_text="When patients are reminded of an appointment (0: no reminders)."
    )
    # The waiting list (booking.services.waiting_list): who is offered a freed slot, how many
    # at once, and for how long the slot is held for them.
    waiting_list_enabled = models.BooleanField(
        default=True, help_text="Patients may join a waiting list for an earlier appointment."
    )
    offer_minutes = models.PositiveSmallIntegerField(
        default=15,
        help_text="How long a waiting patient has to claim an offered slot before it moves on.",
    )
    offer_batch_size = models.PositiveSmallIntegerField(
        default=1,
        help_text="How many waiting patients are offered a freed slot at once (1: one at a "
        "time; more: the first to claim it gets it, the others are told it has gone).",
    )
    max_waiting_entries = models.PositiveSmallIntegerField(
        default=3, help_text="Most open waiting-list entries one patient may have here."
    )
    # GP Connect (the national API through which NHS 111 and other practices book here): off
    # until the practice chooses; which slots it offers is set per slot type and per session
    # (ExternalBookability), and these two are its embargo, apart from the patients' window.
    gp_connect_enabled = models.BooleanField(
        "GP Connect enabled",
        default=False,
        help_text="Other NHS organisations (such as NHS 111) may book the slots marked as "
        "bookable by GP Connect.",
    )
    external_horizon_days = models.PositiveSmallIntegerField(
        default=14, help_text="How many days ahead other organisations may book through GP Connect."
    )
    external_min_notice_minutes = models.PositiveIntegerField(
        default=0,
        help_text="How soon before its start a slot can still be booked through GP Connect "
        "(0: until it starts).",
    )

    objects = PracticeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("view_practice_report", "Can see the practice report (GPAD figures)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ods_code__regex=r"^[A-Z0-9]{1,9}$"), name="practices_ods_code_format"
            ),
            models.CheckConstraint(
                condition=Q(booking_horizon_days__gte=1), name="practices_horizon_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_future_appointments__gte=1), name="practices_max_future_positive"
            ),
            models.CheckConstraint(
                condition=Q(offer_minutes__gte=5, offer_minutes__lte=24 * 60),
                name="practices_offer_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(offer_batch_size__gte=1, offer_batch_size__lte=10),
                name="practices_offer_batch_range",
            ),
            models.CheckConstraint(
                condition=Q(max_waiting_entries__gte=1), name="practices_waiting_entries_positive"
            ),
            models.CheckConstraint(
                condition=Q(external_horizon_days__gte=1),
                name="practices_external_horizon_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def address(self) -> str:
        parts = (self.address_line_1, self.address_line_2, self.town)
        return ", ".join(part for part in parts if part)

    def online_booking_window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Earliest and latest slot start a patient may book online at ``now``."""
        earliest = now + dt.timedelta(minutes=self.min_notice_minutes)
        latest = now + dt.timedelta(days=self.booking_horizon_days)
        return earliest, latest

    def external_booking_window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Earliest and latest slot start another organisation may book through GP Connect
        at ``now`` (SlotQuerySet.bookable_externally says the same in SQL)."""
        earliest = now + dt.timedelta(minutes=self.external_min_notice_minutes)
        latest = now + dt.timedelta(days=self.external_horizon_days)
        return earliest, latest


class OpeningHours(models.Model):
    """One opening period on a weekday (two rows for a day with a lunchtime closure)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="practices_hours_weekday"),
            models.CheckConstraint(
                condition=Q(opens__lt=models.F("closes")), name="practices_hours_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Closure(models.Model):
    """A period the practice is closed: a bank holiday, a training afternoon."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="closures")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="practices_closure_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Closed {uk_datetime(self.start)}: {self.reason}"


class PracticeMembership(models.Model):
    """A staff member (clinician or practice administrator) working at a practice."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "user"], name="practices_membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.practice.ods_code}"


class Profession(models.TextChoices):
    GP = "gp", "GP"
    NURSE = "nurse", "Practice nurse"
    HCA = "healthcare_assistant", "Healthcare assistant"
    PHARMACIST = "pharmacist", "Clinical pharmacist"
    PHYSIOTHERAPIST = "physiotherapist", "Physiotherapist"
    PARAMEDIC = "paramedic", "Paramedic"
    MENTAL_HEALTH = "mental_health_practitioner", "Mental health practitioner"
    OTHER = "other", "Other clinician"


class Gender(models.TextChoices):
    """Administrative gender, shown to patients as GP Connect requires."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Not stated"


class ClinicianQuerySet(models.QuerySet):
    def at(self, practice: Practice) -> "ClinicianQuerySet":
        return self.filter(user__practice_memberships__practice=practice, user__is_active=True)


class Clinician(models.Model):
    """A person patients book with: the clinical side of a staff user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clinician"
    )
    display_name = models.CharField(
        max_length=100, help_text='As patients see it, e.g. "Dr A Patel".'
    )
    profession = models.CharField(max_length=32, choices=Profession.choices)
    gender = models.CharField(max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)

    objects = ClinicianQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(profession__in=Profession.values), name="practices_clinician_profession"
            ),
            models.CheckConstraint(
                condition=Q(gender__in=Gender.values), name="practices_clinician_gender"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        # Patients are never staff (a database constraint); no staff login, no clinician.
        if self.user_id is not None and not self.user.is_staff:
            raise ValidationError({"user": PATIENT_AS_CLINICIAN})


SLOT_TYPE_CODE = r"^[a-z0-9][a-z0-9_-]*$"
UNKNOWN_SLOT_TYPE = (
    '{practice} has no slot type "{code}". Add it under Slot types first, with its national '
    "category."
)


class SlotTypeQuerySet(models.QuerySet):
    def unmapped(self) -> "SlotTypeQuerySet":
        """Types still without a national category: GPAD reports them as "Unmapped"."""
        return self.filter(is_active=True, national_category="")


class SlotType(models.Model):
    """A practice's kind of appointment ("Routine GP", "Smear test"), mapped to NHS England's
    national category, service setting and mode (GPAD).

    Templates, sessions, slots and appointments carry the type's ``code`` (the code the API
    speaks), and the database holds them to it: a composite foreign key on (practice, code)
    (migration 0012), so no slot can name a type its practice does not have.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="slot_types")
    code = models.CharField(
        max_length=40,
        help_text="Short code apps send and receive, e.g. routine or smear_test. Fixed once used.",
    )
    name = models.CharField(max_length=100, help_text="As patients see it.")
    duration_minutes = models.PositiveSmallIntegerField(default=10)
    national_category = models.CharField(
        max_length=40,
        choices=gpad.CATEGORY_CHOICES,
        blank=True,
        help_text="NHS England's national appointment category (GPAD). Required for reporting.",
    )
    service_setting = models.CharField(
        max_length=24, choices=gpad.SERVICE_SETTING_CHOICES, default="general_practice"
    )
    default_mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.FACE_TO_FACE)
    online_bookable = models.BooleanField(
        default=True, help_text="New sessions of this type are released for online booking."
    )
    is_active = models.BooleanField(default=True)

    objects = SlotTypeQuerySet.as_manager()

    class Meta:
        ordering = ["practice", "name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "code"], name="practices_slottype_code"),
            models.CheckConstraint(
                condition=Q(code__regex=SLOT_TYPE_CODE), name="practices_slottype_code_format"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=240),
                name="practices_slottype_duration",
            ),
            models.CheckConstraint(
                condition=Q(national_category="")
                | Q(national_category__in=[code for code, _ in gpad.CATEGORY_CHOICES]),
                name="practices_slottype_category",
            ),
            models.CheckConstraint(
                condition=Q(default_mode__in=Mode.values), name="practices_slottype_mode"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def category_label(self) -> str:
        return gpad.category_label(self.national_category)


def slot_type_name(code_field: str) -> models.Subquery:
    """The name the practice gave the slot type in ``code_field`` of the outer row, to
    annotate as ``type_name`` (one index probe per row, no join to carry)."""
    return models.Subquery(
        # One row at most (practice and code are unique): no ordering, so no join to sort by.
        SlotType.objects.filter(
            practice=models.OuterRef("practice_id"), code=models.OuterRef(code_field)
        )
        .order_by()
        .values("name")[:1]
    )


def _slot_type_relation(related_name: str) -> models.ForeignObject:
    """The (practice, code) relation to SlotType: no column of its own, so the API keeps
    speaking codes; the database enforces it with a composite foreign key."""
    return models.ForeignObject(
        SlotType,
        on_delete=models.DO_NOTHING,
        from_fields=("practice", "slot_type"),
        to_fields=("practice", "code"),
        related_name=related_name,
        null=True,
    )


def check_slot_type(practice_id: int | None, code: str) -> None:
    """The friendly form of the composite foreign key, for forms and services."""
    if practice_id is None or not code:
        return
    if not SlotType.objects.filter(practice_id=practice_id, code=code).exists():
        practice = Practice.objects.filter(pk=practice_id).first()
        raise ValidationError(
            {"slot_type": UNKNOWN_SLOT_TYPE.format(practice=practice or "This practice", code=code)}
        )


class SlotFields(models.Model):
    """What a template, a session and a slot share: how long, what kind, how delivered."""

    slot_minutes = models.PositiveSmallIntegerField(default=10)
    slot_type = models.CharField(
        max_length=40, default="routine", help_text="The code of one of the practice's slot types."
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.IN_PERSON)
    online_bookable = models.BooleanField(
        default=True, help_text="Released for patients to book online; otherwise staff only."
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        check_slot_type(getattr(self, "practice_id", None), self.slot_type)


class SessionTemplate(SlotFields):
    """A weekly rota line, e.g. "Dr Patel, Mondays 09:00-12:00, 10-minute routine slots"."""

    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="session_templates"
    )
    clinician = models.ForeignKey(
        Clinician, on_delete=models.CASCADE, related_name="session_templates"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time at the practice")
    end_time = models.TimeField(help_text="Local time at the practice")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    kind = _slot_type_relation("session_templates")

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__lte=6), name="practices_template_weekday"),
            models.CheckConstraint(
                condition=Q(start_time__lt=models.F("end_time")), name="practices_template_order"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240),
                name="practices_template_slot_minutes",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.clinician}, {self.get_weekday_display()}s "
            f"{self.start_time:%H:%M}-{self.end_time:%H:%M}"
        )


class Session(SlotFields):
    """A clinician's block of time at a practice on one day, cut into slots."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="sessions")
    clinician = models.ForeignKey(Clinician, on_delete=models.CASCADE, related_name="sessions")
    template = models.ForeignKey(
        SessionTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    date = models.DateField(help_text="Local date at the practice")
    start = models.DateTimeField()
    end = models.DateTimeField()
    slots_generated_at = models.DateTimeField(null=True, blank=True)
    kind = _slot_type_relation("sessions")

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="practices_session_order"
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240),
                name="practices_session_slot_minutes",
            ),
            # Generating sessions from a template twice must not create the day twice.
            models.UniqueConstraint(
                fields=["template", "date"],
                condition=Q(template__isnull=False),
                name="practices_session_once_per_template_day",
            ),
        ]
        indexes = [models.Index(fields=["clinician", "start"], name="practices_session_clin_start")]

    def __str__(self) -> str:
        return f"{self.clinician} {uk_datetime(self.start)}"


# Refusals of Slot.external_refusal: the codes booking's rules raise for an external actor.
EXTERNAL_NOT_BOOKABLE = "not_bookable_externally"
EXTERNAL_TOO_SOON = "too_soon"
EXTERNAL_TOO_FAR_AHEAD = "too_far_ahead"

ODS_CODE = r"^[A-Z0-9]{3,10}$"
# Every element of an array of ODS codes, held to ODS_CODE in a check constraint: the array as
# JSON is ["A81001","RYA"], a NULL element is null, a comma or quote inside an element stays
# inside its quotes (or is escaped), so none of those can pass.
_ODS_CODES_JSON = r'^\[("[A-Z0-9]{3,10}"(,"[A-Z0-9]{3,10}")*)?\]$'


def _as_json(field: str) -> models.Func:
    return models.Func(F(field), function="ARRAY_TO_JSON", output_field=models.TextField())


BAD_ODS_CODE = '"{code}" is not an ODS code: 3 to 10 capital letters and digits, e.g. A81001.'


class ExternalBookability(models.Model):
    """Whether other organisations may book a slot type's or a session's slots through GP
    Connect, and which ones (GP Connect's "slot availability management").

    A slot's effective setting is its session's row if there is one, else its slot type's row,
    else it is not bookable through GP Connect. Restrictions follow the specification's
    matching table: with no ODS codes and no organisation types, any organisation may book;
    each list that is set must contain the booking organisation's code or type (both, when
    both are set), and an organisation that does not say its code or type only matches a row
    without that restriction.
    """

    slot_type = models.ForeignKey(
        SlotType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="gp_connect_bookability",
    )
    session = models.ForeignKey(
        Session,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="gp_connect_bookability",
    )
    bookable = models.BooleanField(
        "bookable through GP Connect",
        default=True,
        help_text="Untick to keep these slots from GP Connect (e.g. a session whose slot type "
        "is bookable).",
    )
    organisation_types = ArrayField(
        models.CharField(max_length=32, choices=OrganisationType.choices),
        default=list,
        blank=True,
        help_text="Only organisations of these types may book. None ticked: any type.",
    )
    ods_codes = ArrayField(
        models.CharField(max_length=10),
        default=list,
        blank=True,
        verbose_name="ODS codes",
        help_text="Only these organisations may book, by ODS code, separated by commas "
        "(e.g. RYA, A81002). Empty: any organisation.",
    )
    # GP Connect's "limit the number of slots which can be booked by this organisation access
    # profile": counted per day at the practice, all organisations together.
    daily_limit = models.PositiveSmallIntegerField(
        "most a day",
        null=True,
        blank=True,
        help_text="At most this many of these slots a day may be booked through GP Connect "
        "(all organisations together). Empty: no limit.",
    )

    class Meta:
        verbose_name = "GP Connect bookability"
        verbose_name_plural = "GP Connect bookability"
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_type__isnull=False, session__isnull=True)
                | Q(slot_type__isnull=True, session__isnull=False),
                name="practices_extbook_slot_type_xor_session",
            ),
            models.UniqueConstraint(fields=["slot_type"], name="practices_extbook_one_per_type"),
            models.UniqueConstraint(fields=["session"], name="practices_extbook_one_per_session"),
            models.CheckConstraint(
                condition=Q(organisation_types__contained_by=OrganisationType.values),
                name="practices_extbook_organisation_types",
            ),
            models.CheckConstraint(
                condition=Q(
                    Regex(Cast(_as_json("ods_codes"), models.TextField()), _ODS_CODES_JSON)
                ),
                name="practices_extbook_ods_codes",
            ),
        ]

    def __str__(self) -> str:
        return f"GP Connect bookability of {self.session or self.slot_type}"

    def clean(self) -> None:
        codes = []
        for code in self.ods_codes:
            code = code.strip().upper()
            if code and code not in codes:
                codes.append(code)
        bad = [code for code in codes if not re.fullmatch(ODS_CODE, code)]
        if bad:
            raise ValidationError({"ods_codes": BAD_ODS_CODE.format(code=bad[0])})
        self.ods_codes = codes

    def governed_slots(self) -> "SlotQuerySet":
        """The slots this setting decides for: its session's, or its slot type's except those
        of sessions with a setting of their own."""
        if self.session_id is not None:
            return Slot.objects.filter(session_id=self.session_id)
        kind = self.slot_type
        assert kind is not None  # one of the two, by constraint
        return Slot.objects.filter(practice_id=kind.practice_id, slot_type=kind.code).exclude(
            session__gp_connect_bookability__isnull=False
        )

    def matches(self, *, ods_code: str | None, organisation_type: str | None) -> bool:
        """Whether an organisation with this ODS code and type may book these slots (None or
        empty: the organisation did not say)."""
        ods_code, organisation_type = _consumer(ods_code, organisation_type)
        return (
            self.bookable
            and (not self.ods_codes or ods_code in self.ods_codes)
            and (not self.organisation_types or organisation_type in self.organisation_types)
        )


def _consumer(ods_code: str | None, organisation_type: str | None) -> tuple[str, str]:
    # ODS codes are written in capitals; "" and None both mean "not said".
    return (ods_code or "").strip().upper(), (organisation_type or "").strip()


def _matching_bookability(ods_code: str, organisation_type: str) -> Q:
    """The rows of ExternalBookability that let this organisation book (the SQL form of
    ExternalBookability.matches)."""
    by_code = Q(ods_codes=[])
    if ods_code:
        by_code |= Q(ods_codes__contains=[ods_code])
    by_type = Q(organisation_types=[])
    if organisation_type:
        by_type |= Q(organisation_types__contains=[organisation_type])
    return Q(bookable=True) & by_code & by_type


class SlotStatus(models.TextChoices):
    FREE = "free", "Free"
    BOOKED = "booked", "Booked"
    BLOCKED = "blocked", "Blocked"
    # Offered to patients on the waiting list until their offers run out: hidden from the
    # availability search, bookable by the practice's staff and by the offer's claimant.
    HELD = "held", "Held for the waiting list"


class SlotQuerySet(models.QuerySet):
    def free(self) -> "SlotQuerySet":
        return self.filter(status=SlotStatus.FREE)

    def between(self, start: dt.datetime, end: dt.datetime) -> "SlotQuerySet":
        """Slots wholly inside [start, end)."""
        # start < end follows from the other two, but it bounds the index scan on start:
        # without it a one-day search reads every free slot to the booking window's end.
        return self.filter(start__gte=start, start__lt=end, end__lte=end)

    def matching(
        self,
        *,
        slot_type: str | None = None,
        channel: str | None = None,
        clinician_id: Any = None,
        clinician_gender: str | None = None,
    ) -> "SlotQuerySet":
        """Narrowed by what a search asks for (None or empty: any)."""
        slots = self
        if slot_type:
            slots = slots.filter(slot_type=slot_type)
        if channel:
            slots = slots.filter(channel=channel)
        if clinician_id:
            slots = slots.filter(clinician_id=clinician_id)
        if clinician_gender:
            slots = slots.filter(clinician__gender=clinician_gender)
        return slots

    def bookable_by(
        self, user: "User | AnonymousUser", practice: Practice, *, now: dt.datetime
    ) -> "SlotQuerySet":
        """Free slots of ``practice`` that ``user`` could book at ``now``.

        The practice's own staff see every future free slot, staff-only and held ones included.
        Everyone else sees only slots released for online booking, inside the booking window
        and minimum notice: a patient never sees a slot they could not book.
        """
        if Practice.objects.staffed_by(user).filter(pk=practice.pk).exists():
            # Staff can always book over a waiting-list hold.
            return self.filter(
                practice=practice, status__in=[SlotStatus.FREE, SlotStatus.HELD], start__gt=now
            )
        return self.free().filter(practice=practice).released_online(practice, now=now)

    def bookable_externally(
        self, *, ods_code: str | None, organisation_type: str | None, now: dt.datetime
    ) -> "SlotQuerySet":
        """Free slots another organisation may book through GP Connect at ``now``, at every
        practice that takes GP Connect bookings, in one query.

        Inside each practice's external embargo (its own notice and horizon, read in the
        query), and whose effective bookability (the session's row, else the slot type's)
        lets this organisation book (see ExternalBookability). ``None`` or "" for a code or
        type the organisation did not send.
        """
        matching = _matching_bookability(*_consumer(ods_code, organisation_type))
        by_session = ExternalBookability.objects.filter(session_id=OuterRef("session_id"))
        by_type = ExternalBookability.objects.filter(
            slot_type__practice_id=OuterRef("practice_id"), slot_type__code=OuterRef("slot_type")
        )
        # Interval arithmetic in a UTC session (Django's, with USE_TZ), so a day is 24 hours,
        # as in Practice.external_booking_window.
        notice = ExpressionWrapper(
            F("practice__external_min_notice_minutes") * dt.timedelta(minutes=1),
            output_field=models.DurationField(),
        )
        horizon = ExpressionWrapper(
            F("practice__external_horizon_days") * dt.timedelta(days=1),
            output_field=models.DurationField(),
        )
        return self.free().filter(
            Exists(by_session.filter(matching))
            | (~Exists(by_session) & Exists(by_type.filter(matching))),
            # The notice is never negative: a constant bound the free-slot index can use.
            Q(start__gte=now),
            Q(start__gte=Value(now) + notice),
            practice__gp_connect_enabled=True,
            practice__is_active=True,
            start__lte=Value(now) + horizon,
        )

    def released_online(self, practice: Practice, *, now: dt.datetime) -> "SlotQuerySet":
        """Slots patients may book online at ``now``: released, and inside the practice's
        booking window and minimum notice."""
        earliest, latest = practice.online_booking_window(now)
        return self.filter(online_bookable=True, start__gte=earliest, start__lte=latest)


class Slot(models.Model):
    """A bookable period of one clinician's time, stored in UTC."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="slots")
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="slots")
    session = models.ForeignKey(
        Session, on_delete=models.SET_NULL, null=True, blank=True, related_name="slots"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    slot_type = models.CharField(max_length=40, default="routine")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.IN_PERSON)
    status = models.CharField(max_length=8, choices=SlotStatus.choices, default=SlotStatus.FREE)
    online_bookable = models.BooleanField(default=True)
    # When patients could first book it: when it was made, or released from a block. The
    # report's "gone within the first hour" counts from here (or from when the booking
    # horizon reached it, if later).
    released_at = models.DateTimeField(default=timezone.now, db_default=Now())
    kind = _slot_type_relation("slots")

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="practices_slot_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SlotStatus.values), name="practices_slot_status"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="practices_slot_channel"
            ),
            models.UniqueConstraint(
                fields=["clinician", "start"], name="practices_slot_clinician_start"
            ),
            # No two overlapping slots per clinician, whatever code writes them.
            ExclusionConstraint(
                name="practices_slot_no_overlap",
                expressions=[
                    ("clinician", RangeOperators.EQUAL),
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                violation_error_message="The clinician already has a slot at this time.",
            ),
        ]
        indexes = [
            # Availability: free slots of one practice in a time range. Partial, so booked and
            # blocked slots (most of the past) do not bloat it.
            models.Index(
                fields=["practice", "start"],
                condition=Q(status=SlotStatus.FREE),
                name="practices_slot_free_by_start",
            ),
            # The practice report: every slot of a practice in a period, whatever its status.
            models.Index(fields=["practice", "start"], name="practices_slot_by_start"),
        ]

    def __str__(self) -> str:
        return f"{self.clinician} {uk_datetime(self.start)}"

    def clean(self) -> None:
        check_slot_type(self.practice_id, self.slot_type)

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    def gp_connect_bookability(self) -> ExternalBookability | None:
        """The slot's effective GP Connect setting: its session's, else its slot type's
        (None: not bookable through GP Connect). One query, then kept on this instance (the
        booking rules ask twice of a locked slot)."""
        if not hasattr(self, "_gp_connect_bookability"):
            rows = ExternalBookability.objects.filter(
                Q(slot_type__practice_id=self.practice_id, slot_type__code=self.slot_type)
                | (Q(session_id=self.session_id) if self.session_id else Q(pk__in=[]))
            )
            self._gp_connect_bookability = rows.order_by(
                F("session_id").asc(nulls_last=True)
            ).first()
        return self._gp_connect_bookability

    def external_refusal(
        self, *, ods_code: str | None, organisation_type: str | None, now: dt.datetime
    ) -> str | None:
        """Why an organisation booking through GP Connect may not have this slot at ``now``
        (EXTERNAL_NOT_BOOKABLE, EXTERNAL_TOO_SOON or EXTERNAL_TOO_FAR_AHEAD), or None if it may.

        The single-slot form of SlotQuerySet.bookable_externally, for a slot already locked;
        whether the slot is still free is the caller's to say.
        """
        practice = self.practice
        if not (practice.gp_connect_enabled and practice.is_active):
            return EXTERNAL_NOT_BOOKABLE
        setting = self.gp_connect_bookability()
        if setting is None or not setting.matches(
            ods_code=ods_code, organisation_type=organisation_type
        ):
            return EXTERNAL_NOT_BOOKABLE
        earliest, latest = practice.external_booking_window(now)
        if self.start < earliest:
            return EXTERNAL_TOO_SOON
        if self.start > latest:
            return EXTERNAL_TOO_FAR_AHEAD
        return None
