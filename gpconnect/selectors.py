"""The reads the GP Connect door makes: what a consumer organisation may see.

Consumers see the appointment book of practices that have GP Connect switched on, and only
patients registered there: "any future appointment, irrespective of booking organisation"
(the read, amend and cancel pages), but nothing of a practice that has not joined. Through one
practice's service root (``/gpconnect/<ODS>/fhir``), ``practice`` narrows every read to it.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from accounts.models import Role, User
from booking.models import Appointment, AppointmentExtraSlot, AppointmentQuerySet
from practices.models import Practice, Slot, slot_type_name

from .parsing import UK, SlotSearch

Rows = TypeVar("Rows", bound=QuerySet[Any])


def _at(rows: Rows, practice_field: str, practice: str | None) -> Rows:
    return rows.filter(**{f"{practice_field}__ods_code": practice}) if practice else rows


def practice_on_gp_connect(ods_code: str) -> bool:
    return Practice.objects.filter(
        ods_code=ods_code.upper(), gp_connect_enabled=True, is_active=True
    ).exists()


def free_slots(search: SlotSearch, *, now: dt.datetime, practice: str | None) -> list[Slot]:
    """Free slots the searching organisation may book, wholly inside the range, earliest
    first, with what their resources show (practice, clinician, type name) in one query."""
    slots = (
        Slot.objects.bookable_externally(
            ods_code=search.ods_code, organisation_type=search.organisation_type, now=now
        )
        .between(search.start, search.end)
        .select_related("practice", "clinician")
        .annotate(type_name=slot_type_name("slot_type"))
        .order_by("start", "id")
    )
    return list(_at(slots, "practice", practice))


def slots_named(slot_ids: Sequence[UUID], *, practice: str | None) -> list[Slot]:
    """The slots a booking names that exist (here), in time order, with their practice."""
    slots = Slot.objects.filter(pk__in=slot_ids).select_related("practice").order_by("start")
    return list(_at(slots, "practice", practice))


def _appointments(practice: str | None) -> AppointmentQuerySet:
    appointments = (
        Appointment.objects.visible_through_gp_connect()
        .select_related("practice", "clinician")
        .annotate(type_name=slot_type_name("appointment_type"))
        .prefetch_related(
            Prefetch(
                "extra_slots",
                queryset=AppointmentExtraSlot.objects.order_by("slot__start"),
                to_attr="extra_slot_rows",
            )
        )
    )
    return _at(appointments, "practice", practice)


def appointment(
    appointment_id: UUID, *, today: dt.date, practice: str | None
) -> Appointment | None:
    """One appointment from today on (GP Connect's view of the book holds no past ones)."""
    return (
        _appointments(practice)
        .filter(pk=appointment_id, start__gte=dt.datetime.combine(today, dt.time(), tzinfo=UK))
        .first()
    )


def slot_ids(appointment: Appointment) -> list[Any]:
    """Every slot the appointment holds (or held, once cancelled), in time order."""
    extra: Sequence[AppointmentExtraSlot] = getattr(appointment, "extra_slot_rows", [])
    return [appointment.slot_id, *(row.slot_id for row in extra)]


def _patients(practice: str | None) -> QuerySet[User]:
    patients = User.objects.select_related("patient_profile__registered_practice").filter(
        role=Role.PATIENT,
        is_active=True,
        patient_profile__registered_practice__gp_connect_enabled=True,
        patient_profile__registered_practice__is_active=True,
    )
    return _at(patients, "patient_profile__registered_practice", practice)


def registered_patient(patient_id: UUID, *, practice: str | None) -> User | None:
    """An active patient registered at a practice on GP Connect."""
    return _patients(practice).filter(pk=patient_id).first()


def traced_patient(patient_id: UUID, *, practice: str | None) -> User | None:
    """A patient a consumer may read: as find-a-patient finds them (NHS number confirmed)."""
    return (
        _patients(practice)
        .filter(pk=patient_id, patient_profile__nhs_number_confirmed_at__isnull=False)
        .first()
    )


def patient_by_nhs_number(nhs_number: str, *, practice: str | None) -> User | None:
    """The patient whose NHS number the practice confirmed (what a patient typed is only a
    claim, and GP Connect asks for verified numbers), registered at a practice on GP Connect."""
    return (
        _patients(practice)
        .filter(
            patient_profile__nhs_number=nhs_number,
            patient_profile__nhs_number_confirmed_at__isnull=False,
        )
        .first()
    )


def patient_appointments(
    patient: User, *, low: dt.date, high: dt.date, practice: str | None
) -> list[Appointment]:
    """The patient's appointments starting on ``low`` to ``high`` (UK dates), cancelled ones
    too, as the retrieve page asks."""
    return list(
        _appointments(practice)
        .filter(
            patient=patient,
            start__gte=dt.datetime.combine(low, dt.time(), tzinfo=UK),
            start__lt=dt.datetime.combine(high + dt.timedelta(days=1), dt.time(), tzinfo=UK),
        )
        .order_by("start", "id")
    )
