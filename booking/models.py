"""Appointments, their append-only history, and stored responses for idempotent requests."""

import datetime as dt
import secrets
import uuid
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeBoundary, RangeOperators
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from core.db import TsTzRange
from core.formats import uk_datetime
from core.outbox import OutboxMessage
from practices.gpad import Mode
from practices.models import Channel, Clinician, Gender, Practice, Profession, Slot, SlotType

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    COMPLETED = "completed", "Completed"
    DID_NOT_ATTEND = "did_not_attend", "Did not attend"
    CANCELLED = "cancelled", "Cancelled"


# An appointment in any status but cancelled holds its slot.
HOLDS_SLOT = ~Q(status=AppointmentStatus.CANCELLED)

# Crockford's base 32 without I, L, O and U: nothing a receptionist can misread on the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A booking reference such as "K7M2-QX4D" (40 bits: collisions are refused by the DB)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


class CancelledBy(models.TextChoices):
    """GPAD counts cancellations by the patient and by the practice apart."""

    PATIENT = "patient", "Patient"
    PRACTICE = "practice", "Practice"


class Source(models.TextChoices):
    """Through which door a change came."""

    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"
    PAGE = "page", "Patient pages"
    GP_CONNECT = "gp_connect", "GP Connect"


class PatientRecordQuerySet(models.QuerySet):
    """Rows about one patient at one practice (``patient``, ``practice``): appointments,
    waiting-list entries."""

    def visible_to(self, user: "User | AnonymousUser") -> Self:
        """Patients see their own; staff their practices'; operators everything."""
        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        if user.is_staff:
            return self.filter(practice__in=Practice.objects.staffed_by(user))
        return self.filter(patient=user)


class AppointmentQuerySet(PatientRecordQuerySet):
    def holding_slots(self) -> "AppointmentQuerySet":
        return self.filter(HOLDS_SLOT)

    def visible_through_gp_connect(self) -> "AppointmentQuerySet":
        """What any organisation booking through GP Connect may read, amend and cancel: every
        appointment at a practice taking part, whoever booked it (the spec's "irrespective of
        booking organisation")."""
        return self.filter(practice__gp_connect_enabled=True, practice__is_active=True)

    def upcoming_first(self, now: dt.datetime) -> "AppointmentQuerySet":
        """Upcoming ones soonest first, then past ones most recent first."""
        upcoming = Q(start__gte=now)
        return self.annotate(
            _past=Case(When(upcoming, then=Value(0)), default=Value(1)),
            _upcoming_start=Case(When(upcoming, then=F("start"))),
            _past_start=Case(When(~upcoming, then=F("start"))),
        ).order_by("_past", "_upcoming_start", F("_past_start").desc(), "id")


class Appointment(models.Model):
    """A patient's booking of one slot, kept for ever (cancelled ones too)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=9, unique=True, default=new_reference, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    # Copied from the slot when booked, so lists and rules need no join and history survives
    # later changes to the rota.
    clinician = models.ForeignKey(Clinician, on_delete=models.PROTECT, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    appointment_type = models.CharField(max_length=40)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(
        max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    description = models.CharField(max_length=100, blank=True)
    comment = models.CharField(max_length=500, blank=True)
    cancellation_reason = models.CharField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(
        max_length=8, choices=CancelledBy.choices, blank=True, default="", db_default=""
    )
    # For NHS England's appointment data (GPAD): how it happened (set from the slot type and
    # channel when booked, corrected by staff when recording the outcome), who it was with,
    # and when this slot was booked (so "time from booking to appointment" needs no history).
    # Database defaults as well, so rows written by SQL alone (bulk loads) are whole too.
    mode = models.CharField(
        max_length=16, choices=Mode.choices, default=Mode.UNKNOWN, db_default=Mode.UNKNOWN
    )
    clinician_profession = models.CharField(
        "healthcare professional type",
        max_length=32,
        choices=Profession.choices,
        blank=True,
        default="",
        db_default="",
    )
    booked_at = models.DateTimeField(default=timezone.now, db_default=Now())
    kind = models.ForeignObject(
        SlotType,
        on_delete=models.DO_NOTHING,
        from_fields=("practice", "appointment_type"),
        to_fields=("practice", "code"),
        related_name="appointments",
        null=True,
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments_booked"
    )
    # The organisation that booked it through GP Connect (NHS 111, another practice), as it
    # named itself then: booked_by is only its system's service user. Empty otherwise.
    booking_organisation_ods = models.CharField(
        "booking organisation's ODS code", max_length=10, blank=True, default="", db_default=""
    )
    booking_organisation_name = models.CharField(
        max_length=200, blank=True, default="", db_default=""
    )
    booking_organisation_telecom = models.CharField(
        "booking organisation's phone", max_length=100, blank=True, default="", db_default=""
    )
    booking_organisation_type = models.CharField(
        "booking organisation's type",
        max_length=32,
        blank=True,
        default="",
        db_default="",
        help_text="GP Connect's organisation type (gp-practice, urgent-care), if it said one.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped on every change; the ETag clients send back in If-Match.
    version = models.PositiveIntegerField(default=1)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        permissions = [("record_outcome", "Can record arrived, completed or did not attend")]
        constraints = [
            # The last line of defence against double booking: whatever code path writes the
            # row, a slot holds at most one appointment that is not cancelled.
            models.UniqueConstraint(
                fields=["slot"], condition=HOLDS_SLOT, name="booking_one_appointment_per_slot"
            ),
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="booking_appointment_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="booking_appointment_status"
            ),
            models.CheckConstraint(
                condition=Q(status=AppointmentStatus.CANCELLED) | Q(cancelled_at__isnull=True),
                name="booking_cancelled_at_only_when_cancelled",
            ),
            models.CheckConstraint(
                condition=Q(status=AppointmentStatus.CANCELLED) | Q(cancelled_by=""),
                name="booking_cancelled_by_only_when_cancelled",
            ),
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="booking_appt_mode"),
            # A patient never holds two overlapping appointments that are not cancelled.
            ExclusionConstraint(
                name="booking_patient_no_overlap",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=HOLDS_SLOT,
                violation_error_message="The patient already has an appointment at this time.",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "start"], name="booking_appt_patient_start"),
            models.Index(fields=["practice", "start"], name="booking_appt_practice_start"),
            models.Index(fields=["clinician", "start"], name="booking_appt_clinician_start"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {uk_datetime(self.start)}"

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def is_cancelled(self) -> bool:
        return self.status == AppointmentStatus.CANCELLED


class AppointmentExtraSlot(models.Model):
    """The second and later of the adjacent slots one appointment spans (GP Connect books a
    longer appointment as several slots): ``Appointment.slot`` is the first, and the
    appointment ends when the last of these does."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="extra_slots"
    )
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="extra_of")
    # Set when the appointment is cancelled and the slot freed; the row is kept as history.
    released = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # As booking_one_appointment_per_slot for first slots: whatever writes the row, a
            # slot is the live extra of at most one appointment. That it is not also another
            # appointment's first slot spans two tables: the trigger of migration 0009.
            models.UniqueConstraint(
                fields=["slot"], condition=Q(released=False), name="booking_extra_slot_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment} also holds {self.slot}"


class AppointmentHistory(models.Model):
    """One change to an appointment: who, when, from which status to which, why, and how.

    Append-only: the database refuses UPDATE and DELETE on this table (a trigger, migration
    0002).
    """

    class Action(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        ARRIVED = "arrived", "Arrived"
        COMPLETED = "completed", "Completed"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend"
        AMENDED = "amended", "Amended"
        # On an appointment waiting to move earlier: a slot offered for it, and the offer ended.
        OFFERED = "offered", "Earlier slot offered"
        OFFER_ENDED = "offer_ended", "Offer of an earlier slot ended"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="history")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "appointment history"

    def __str__(self) -> str:
        return f"{self.get_action_display()}, {uk_datetime(self.at)}"


class IdempotencyRecord(models.Model):
    """The response to a POST sent with an Idempotency-Key, replayed for 24 hours."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="booking_idempotency_user_key"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class Notification(OutboxMessage):
    """One message to a patient about an appointment: the outbox row, written in the same
    transaction as the change it announces, then sent after commit by the task worker."""

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Booking confirmation"
        RESCHEDULE = "reschedule", "Appointment moved"
        CANCELLATION = "cancellation", "Cancellation"
        REMINDER = "reminder", "Reminder"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # dedupe_key: a reminder is sent once per appointment time, a change notice once per
    # version of the appointment.

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="booking_notification_due")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_medium_display()}"


# The waiting list: patients who want an earlier appointment, offered slots as they free up
# (booking.services.waiting_list).


class TimeOfDay(models.TextChoices):
    """Parts of the day a waiting patient can manage, in the practice's local time."""

    MORNING = "morning", "Morning (before 12:00)"
    AFTERNOON = "afternoon", "Afternoon (12:00 to 17:00)"
    EVENING = "evening", "Evening (from 17:00)"

    @classmethod
    def of(cls, local: dt.datetime) -> "TimeOfDay":
        if local.hour < 12:
            return cls.MORNING
        return cls.AFTERNOON if local.hour < 17 else cls.EVENING


class WaitingListEntryQuerySet(PatientRecordQuerySet):
    def open(self) -> "WaitingListEntryQuerySet":
        return self.filter(status=WaitingListEntry.Status.WAITING)


class WaitingListEntry(models.Model):
    """A patient waiting for an earlier appointment at a practice, and what they would accept.

    Empty lists mean "any". Entries are offered slots in the order they joined.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked from the list"
        LEFT = "left", "Left the list"
        REMOVED = "removed", "Removed by the practice"
        ENDED = "ended", "Ended (dates passed or appointment gone)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="waiting_list")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waiting_list_entries"
    )
    earliest_date = models.DateField(help_text="Local date at the practice")
    latest_date = models.DateField(help_text="Local date at the practice")
    appointment_types = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    times_of_day = ArrayField(
        models.CharField(max_length=10, choices=TimeOfDay.choices), default=list, blank=True
    )
    channels = ArrayField(
        models.CharField(max_length=16, choices=Channel.choices), default=list, blank=True
    )
    clinician = models.ForeignKey(
        Clinician, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clinician_gender = models.CharField(max_length=8, choices=Gender.choices, blank=True)
    # "Move my existing appointment": an offer reschedules this one instead of booking another,
    # and only an earlier slot is offered.
    move_appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    joined_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=500, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = WaitingListEntryQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at", "id"]
        verbose_name_plural = "waiting list entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(earliest_date__lte=F("latest_date")), name="booking_waiting_dates"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["waiting", "booked", "left", "removed", "ended"]),
                name="booking_waiting_status",
            ),
            models.CheckConstraint(
                condition=Q(status="waiting", closed_at__isnull=True)
                | (~Q(status="waiting") & Q(closed_at__isnull=False)),
                name="booking_waiting_closed_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="removed") | ~Q(closed_reason=""),
                name="booking_waiting_removed_has_reason",
            ),
            # One open "move" request per appointment.
            models.UniqueConstraint(
                fields=["move_appointment"],
                condition=Q(status="waiting", move_appointment__isnull=False),
                name="booking_waiting_one_move_per_appointment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["practice", "joined_at"],
                condition=Q(status="waiting"),
                name="booking_waiting_open_by_join",
            )
        ]

    def __str__(self) -> str:
        return f"Waiting since {uk_datetime(self.joined_at)}"


class Vacancy(models.Model):
    """A slot that became free (a cancellation, a move, a release, a new slot, an offer that
    ran out), to be offered to the waiting list: one matching round.

    Written in the transaction that frees the slot, so a round is never lost; the worker
    claims unmatched rows with ``SKIP LOCKED`` and marks them matched in its own transaction.
    """

    class Cause(models.TextChoices):
        CANCELLED = "cancelled", "Appointment cancelled"
        MOVED = "moved", "Appointment moved away"
        RELEASED = "released", "Slot released or added"
        OFFER_ENDED = "offer_ended", "Offer expired or declined"
        STAFF_OFFER = "staff_offer", "Offered by the practice"

    id = models.BigAutoField(primary_key=True)
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="vacancies")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    cause = models.CharField(max_length=12, choices=Cause.choices)
    freed_at = models.DateTimeField(default=timezone.now)
    # When the slot was first freed, carried through later rounds (an offer declined or run
    # out): the report's "freed to rebooked" counts from here.
    first_freed_at = models.DateTimeField(default=timezone.now)
    matched_at = models.DateTimeField(null=True, blank=True)
    offers_made = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["freed_at", "id"]
        verbose_name_plural = "vacancies"
        indexes = [
            models.Index(
                fields=["freed_at"],
                condition=Q(matched_at__isnull=True),
                name="booking_vacancy_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_cause_display()}, {uk_datetime(self.freed_at)}"


class WaitingListOffer(models.Model):
    """One slot offered to one waiting patient, held for them until ``expires_at``."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Claimed"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        GONE = "gone", "Taken by someone else"
        WITHDRAWN = "withdrawn", "Withdrawn (entry closed)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    entry = models.ForeignKey(WaitingListEntry, on_delete=models.PROTECT, related_name="offers")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="waiting_list_offers")
    vacancy = models.ForeignKey(Vacancy, on_delete=models.PROTECT, related_name="offers")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    offered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-offered_at", "id"]
        constraints = [
            # An entry is offered a slot once: declined or run out, it moves on. Only a slot
            # that went to someone else (or an offer withdrawn with its entry) may come again.
            models.UniqueConstraint(
                fields=["entry", "slot"],
                condition=~Q(status__in=["gone", "withdrawn"]),
                name="booking_offer_once_per_entry",
            ),
            models.CheckConstraint(
                condition=Q(offered_at__lt=F("expires_at")), name="booking_offer_order"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["open", "claimed", "declined", "expired", "gone", "withdrawn"]
                ),
                name="booking_offer_status",
            ),
            models.CheckConstraint(
                condition=Q(status="claimed", appointment__isnull=False)
                | (~Q(status="claimed") & Q(appointment__isnull=True)),
                name="booking_offer_claimed_has_appointment",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(status="open"), name="booking_offer_open_due"
            ),
            models.Index(
                fields=["slot"], condition=Q(status="open"), name="booking_offer_open_slot"
            ),
            # The practice report: offers made in a period.
            models.Index(fields=["offered_at"], name="booking_offer_offered_at"),
        ]

    def __str__(self) -> str:
        return f"Offer of {uk_datetime(self.offered_at)} ({self.get_status_display().lower()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class OfferMessage(OutboxMessage):
    """A message to a waiting patient about an offer: the outbox row, written with the offer."""

    class Kind(models.TextChoices):
        OFFER = "offer", "Slot offered"
        GONE = "gone", "Offered slot taken"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    offer = models.ForeignKey(WaitingListOffer, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="booking_offermsg_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_medium_display()}"
