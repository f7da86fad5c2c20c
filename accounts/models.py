import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.formats import uk_datetime
from core.outbox import OutboxMessage

from .nhs import format_nhs_number, validate_person_name


def normalise_email(email: str) -> str:
    """Emails are case-insensitive logins: store and look them up in lower case."""
    return email.strip().lower()


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CLINICIAN = "clinician", "Clinician"
    ADMIN = "admin", "Practice administrator"


# The permission group each staff role is kept in (accounts.services.sync_staff_groups); what
# each group may do is booking.staff_groups, which creates them.
STAFF_GROUPS = {Role.ADMIN: "Practice admin", Role.CLINICIAN: "Clinician"}


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        # The admin login form and ModelBackend pass the email as typed.
        return self.get(email=normalise_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        user = self.model(email=normalise_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("role", Role.ADMIN)
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: a patient, a clinician, a practice administrator or an operator."""

    # The UUID is the JWT "sub"; for users first seen through Cognito it is Cognito's sub.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored in lower case (checked by the database), so plain uniqueness is case-insensitive.
    email = models.EmailField(max_length=254, unique=True)
    given_name = models.CharField(max_length=100, blank=True, validators=[validate_person_name])
    family_name = models.CharField(max_length=100, blank=True, validators=[validate_person_name])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # When the owner proved they read this address (the link in the verification email, or a
    # password reset). Self-registered patients cannot book until then.
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # Every access token carries this as it was at issue (its "ver" claim); one raised ends
    # them all at once. Signing out and a password reset raise it, and a database trigger
    # raises it whenever the password, role, staff flags or active flag change, however the
    # row is written (migration accounts 0011). It never goes down.
    session_version = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # Raised by database triggers on every change to this row or to the patient profile: a
    # worker's cached copy of the user (accounts.authentication) is stale once it differs.
    cache_version = models.BigIntegerField(default=0, db_default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="accounts_user_email_lower_case"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]),
                name="accounts_user_role_valid",
            ),
            # Patients never get into the admin, whatever writes the row.
            models.CheckConstraint(
                condition=~models.Q(role=Role.PATIENT, is_staff=True),
                name="accounts_user_patients_are_not_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def workplaces(self) -> list[tuple[Any, str]]:
        """The practices a staff member works at (their memberships), each with their role
        there. Empty for patients and for operators (who are no practice's staff)."""
        if self.is_patient or self.is_superuser:
            return []
        # A related name, not an import: practices sits above accounts.
        memberships = self.practice_memberships.select_related("practice").filter(
            practice__is_active=True
        )
        return [(m.practice, self.role) for m in memberships.order_by("practice__ods_code")]


class PatientProfile(models.Model):
    """What the NHS needs to know about a patient: identity, contact and message preferences."""

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="patient_profile"
    )
    # Optional at sign-up (many patients do not know it). What a patient types is their claim,
    # shown back to them; the practice confirms it against the patient's identity, and only a
    # confirmed number is unique: a sign-up can never be used to test whether a number is
    # taken, and a typed number never overrides the practice's check.
    # NULL (not "") when none was given, as the constraints below expect.
    nhs_number = models.CharField(max_length=10, null=True, blank=True, db_index=True)  # noqa: DJ001
    nhs_number_confirmed_at = models.DateTimeField("NHS number confirmed", null=True, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField("mobile phone (E.164)", max_length=16, blank=True)
    address_line_1 = models.CharField(max_length=100, blank=True)
    address_line_2 = models.CharField(max_length=100, blank=True)
    town = models.CharField(max_length=60, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    notify_by_email = models.BooleanField(default=True)
    notify_by_sms = models.BooleanField(default=False)
    # Referenced by name so accounts does not import practices; the patient's GP practice.
    registered_practice = models.ForeignKey(
        "practices.Practice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registered_patients",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(nhs_number__isnull=True)
                | models.Q(nhs_number__regex=r"^[0-9]{10}$"),
                name="accounts_patient_nhs_number_digits",
            ),
            models.CheckConstraint(
                condition=models.Q(phone="") | models.Q(phone__regex=r"^\+[1-9][0-9]{7,14}$"),
                name="accounts_patient_phone_e164",
            ),
            # SMS needs a number to send to.
            models.CheckConstraint(
                condition=models.Q(notify_by_sms=False) | ~models.Q(phone=""),
                name="accounts_patient_sms_needs_phone",
            ),
            # A confirmed NHS number belongs to one patient.
            models.UniqueConstraint(
                fields=["nhs_number"],
                condition=models.Q(nhs_number_confirmed_at__isnull=False),
                name="accounts_patient_one_confirmed_nhs_number",
                violation_error_message="Another patient's record holds this NHS number "
                "already, confirmed. Check both records.",
            ),
            models.CheckConstraint(
                condition=models.Q(nhs_number_confirmed_at__isnull=True)
                | models.Q(nhs_number__isnull=False),
                name="accounts_patient_confirmed_nhs_number_present",
            ),
        ]

    def __str__(self) -> str:
        # No ids: this is the heading of the patient's registration on their admin page.
        return "Patient profile" + (
            f" ({format_nhs_number(self.nhs_number)})" if self.nhs_number else ""
        )

    @property
    def nhs_number_confirmed(self) -> bool:
        return self.nhs_number_confirmed_at is not None


class _Lockout(models.Model):
    """Failed sign-ins in a row, and until when further attempts are refused."""

    failed_attempts = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


class LoginLockout(_Lockout):
    """Failed sign-ins per email address, known or not, so a lock reveals no account."""

    email = models.CharField(max_length=254, unique=True)

    def __str__(self) -> str:
        return self.email


class AddressLockout(_Lockout):
    """Failed sign-ins per client address, whatever the accounts tried: one address guessing
    at many accounts is stopped too."""

    address = models.CharField(max_length=45, unique=True)
    # Failures are counted per window of one lock period from here.
    window_started_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.address


class AuditEvent(models.Model):
    """One access to patient data: who, in which role, did what to which record, from where.

    Append-only: the database refuses UPDATE and DELETE on this table (migration triggers).
    Readable by operators (superusers) only.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="access_events"
    )
    allowed = models.BooleanField(default=True)
    source_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    path = models.CharField(max_length=300, blank=True)
    # For a request made through GP Connect: the organisation it was made for, as its JWT
    # names it ("NHS 111 North West (RYA)"), and the consumer system that sent it.
    organisation = models.CharField(max_length=200, blank=True)
    via = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "at"], name="accounts_audit_patient_at")]

    def __str__(self) -> str:
        return f"{self.action}, {uk_datetime(self.at)}"


class AccountEmail(OutboxMessage):
    """One email about an account (verify the address, reset the password, ...): an outbox row
    written in the transaction that asks for it, sent by the notifications worker.

    Holds no link: the signed, expiring token is made when the email is sent
    (accounts.emails), so no working credential rests in this table.
    """

    class Kind(models.TextChoices):
        VERIFY_EMAIL = "verify_email", "Verify your email address"
        ACCOUNT_EXISTS = "account_exists", "Someone tried to register with your email"
        NHS_NUMBER_IN_USE = "nhs_number_in_use", "Someone tried to register with your NHS number"
        PASSWORD_RESET = "password_reset", "Reset your password"
        PASSWORD_CHANGED = "password_changed", "Your password was changed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="accounts_email_due"),
            models.Index(fields=["user", "kind", "created_at"], name="accounts_email_user_kind"),
        ]
        constraints = [
            # Email only: account messages carry links, and links do not belong in an SMS.
            models.CheckConstraint(condition=models.Q(medium="email"), name="accounts_email_only"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"
