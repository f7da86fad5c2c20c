"""Our models as FHIR STU3 resources in GP Connect's profiles (Appointment Management 1.2.7).

Only shapes: no query and no rule lives here. Logical ids are our public ones: UUIDs for
slots, appointments, clinicians and patients, the ODS code for a practice (its Organization
and its Location). A Schedule is a clinician's day at a practice: GP Connect books adjacent
slots of one Schedule as one appointment, and ours must be one clinician's, back to back.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from accounts.models import User
from booking.models import Appointment, AppointmentStatus
from practices.models import Channel, Clinician, Gender, Practice, Profession, Slot

STRUCTURE = "https://fhir.nhs.uk/STU3/StructureDefinition/"
APPOINTMENT_PROFILE = STRUCTURE + "GPConnect-Appointment-1"
SLOT_PROFILE = STRUCTURE + "GPConnect-Slot-1"
SCHEDULE_PROFILE = STRUCTURE + "GPConnect-Schedule-1"
PRACTITIONER_PROFILE = STRUCTURE + "CareConnect-GPC-Practitioner-1"
LOCATION_PROFILE = STRUCTURE + "CareConnect-GPC-Location-1"
ORGANIZATION_PROFILE = STRUCTURE + "CareConnect-GPC-Organization-1"
PATIENT_PROFILE = STRUCTURE + "CareConnect-GPC-Patient-1"

DELIVERY_CHANNEL_URL = STRUCTURE + "Extension-GPConnect-DeliveryChannel-2"
PRACTITIONER_ROLE_URL = STRUCTURE + "Extension-GPConnect-PractitionerRole-1"
BOOKING_ORGANISATION_URL = STRUCTURE + "Extension-GPConnect-BookingOrganisation-1"
CANCELLATION_REASON_URL = STRUCTURE + "Extension-GPConnect-AppointmentCancellationReason-1"
NHS_NUMBER_STATUS_URL = STRUCTURE + "Extension-CareConnect-GPC-NHSNumberVerificationStatus-1"

ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ORGANISATION_TYPE_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1"
JOB_ROLE_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1"
NHS_NUMBER_STATUS_SYSTEM = "https://fhir.nhs.uk/CareConnect-NHSNumberVerificationStatus-1"

# GP Connect's delivery channels (CodeSystem GPConnect-DeliveryChannel-1).
DELIVERY_CHANNELS = {
    Channel.IN_PERSON: "In-person",
    Channel.TELEPHONE: "Telephone",
    Channel.VIDEO: "Video",
}

# Our professions in the 1.2.7 value set GPConnect-PractitionerRole-1 (20 SDS job roles). It
# has no physiotherapist, paramedic or mental health practitioner: those are "Community
# Practitioner", the set's nearest general role, rather than a code a 1.2.7 consumer refuses.
PRACTITIONER_ROLES: dict[str, tuple[str, str]] = {
    Profession.GP: ("R0260", "General Medical Practitioner"),
    Profession.NURSE: ("R0620", "Staff Nurse"),
    Profession.HCA: ("R1480", "Healthcare Assistant"),
    Profession.PHARMACIST: ("R1290", "Pharmacist"),
    Profession.PHYSIOTHERAPIST: ("R0690", "Community Practitioner"),
    Profession.PARAMEDIC: ("R0690", "Community Practitioner"),
    Profession.MENTAL_HEALTH: ("R0690", "Community Practitioner"),
    Profession.OTHER: ("R0690", "Community Practitioner"),
}

# FHIR's appointment statuses for ours.
APPOINTMENT_STATUSES = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.ARRIVED: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.DID_NOT_ATTEND: "noshow",
    AppointmentStatus.CANCELLED: "cancelled",
}

# FHIR's administrative genders are ours ("unknown" included).
GENDERS = {value: value for value in Gender.values}


def fhir_time(moment: dt.datetime, practice: Practice) -> str:
    """UK local time with its offset, to the second, as GP Connect requires
    (``2026-03-29T09:00:00+01:00``)."""
    return moment.astimezone(practice.tz).isoformat(timespec="seconds")


def schedule_id(clinician_id: Any, day: dt.date) -> str:
    """The Schedule a slot belongs to: its clinician's day (a FHIR id: 64 characters at most)."""
    return f"{clinician_id}-{day:%Y%m%d}"


def _profile(url: str, version: object = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"profile": [url]}
    if version is not None:
        meta["versionId"] = str(version)
    return meta


def _version(moment: dt.datetime) -> str:
    """A version id for a resource that keeps no counter: when it last changed, in ms."""
    return str(int(moment.timestamp() * 1000))


def practitioner_role(profession: str) -> dict[str, Any]:
    code, display = PRACTITIONER_ROLES.get(profession, PRACTITIONER_ROLES[Profession.OTHER])
    return {
        "url": PRACTITIONER_ROLE_URL,
        "valueCodeableConcept": {
            "coding": [{"system": JOB_ROLE_SYSTEM, "code": code, "display": display}]
        },
    }


def delivery_channel(channel: str) -> dict[str, Any]:
    return {"url": DELIVERY_CHANNEL_URL, "valueCode": DELIVERY_CHANNELS[Channel(channel)]}


def slot_resource(slot: Slot) -> dict[str, Any]:
    """A free slot; ``slot.type_name`` is the practice's name for its type (annotated)."""
    practice = slot.practice
    day = slot.start.astimezone(practice.tz).date()
    return {
        "resourceType": "Slot",
        "id": str(slot.id),
        "meta": _profile(SLOT_PROFILE),
        "extension": [delivery_channel(slot.channel)],
        "serviceType": [{"text": getattr(slot, "type_name", None) or slot.slot_type}],
        "schedule": {"reference": f"Schedule/{schedule_id(slot.clinician_id, day)}"},
        "status": "free",
        "start": fhir_time(slot.start, practice),
        "end": fhir_time(slot.end, practice),
    }


def schedule_resource(slots: Sequence[Slot]) -> dict[str, Any]:
    """The Schedule of ``slots`` (one clinician's day): its planning horizon spans them."""
    first = slots[0]
    practice, clinician = first.practice, first.clinician
    day = first.start.astimezone(practice.tz).date()
    return {
        "resourceType": "Schedule",
        "id": schedule_id(clinician.id, day),
        "meta": _profile(SCHEDULE_PROFILE),
        "extension": [practitioner_role(clinician.profession)],
        "serviceCategory": {"text": f"{clinician.get_profession_display()} appointments"},
        "actor": [
            {"reference": f"Location/{practice.ods_code}"},
            {"reference": f"Practitioner/{clinician.id}"},
        ],
        "planningHorizon": {
            "start": fhir_time(min(slot.start for slot in slots), practice),
            "end": fhir_time(max(slot.end for slot in slots), practice),
        },
    }


def human_name(text: str, *, use: str | None = None) -> dict[str, Any]:
    """A name as we hold it (one line, maybe with a title) in FHIR's parts."""
    words = text.split()
    titles = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "nurse", "sister"}
    prefix = [word for word in words[:1] if word.rstrip(".").lower() in titles]
    rest = words[len(prefix) :]
    name: dict[str, Any] = {"text": text}
    if use:
        name["use"] = use
    if rest:
        name["family"] = rest[-1]
    if rest[:-1]:
        name["given"] = rest[:-1]
    if prefix:
        name["prefix"] = prefix
    return name


def practitioner_resource(clinician: Clinician) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(clinician.id),
        "meta": _profile(PRACTITIONER_PROFILE),
        "name": [human_name(clinician.display_name, use="official")],
        "gender": GENDERS.get(clinician.gender, "unknown"),
    }


def _address(practice: Practice) -> dict[str, Any]:
    address: dict[str, Any] = {"use": "work", "type": "physical"}
    lines = [line for line in (practice.address_line_1, practice.address_line_2) if line]
    if lines:
        address["line"] = lines
    if practice.town:
        address["city"] = practice.town
    if practice.postcode:
        address["postalCode"] = practice.postcode
    return address


def _telecom(practice: Practice) -> list[dict[str, Any]]:
    return [{"system": "phone", "value": practice.phone, "use": "work"}] if practice.phone else []


def location_resource(practice: Practice) -> dict[str, Any]:
    """The surgery where the appointment takes place: the practice itself (we hold no branch
    surgeries)."""
    location: dict[str, Any] = {
        "resourceType": "Location",
        "id": practice.ods_code,
        "meta": _profile(LOCATION_PROFILE),
        "name": practice.name,
        "address": _address(practice),
        "managingOrganization": {"reference": f"Organization/{practice.ods_code}"},
    }
    if telecom := _telecom(practice):
        location["telecom"] = telecom
    return location


def organization_resource(practice: Practice) -> dict[str, Any]:
    organization: dict[str, Any] = {
        "resourceType": "Organization",
        "id": practice.ods_code,
        "meta": _profile(ORGANIZATION_PROFILE),
        "identifier": [{"system": ODS_SYSTEM, "value": practice.ods_code}],
        "name": practice.name,
        "address": [_address(practice)],
    }
    if telecom := _telecom(practice):
        organization["telecom"] = telecom
    return organization


def bundle(resources: Iterable[dict[str, Any]], *, base_url: str) -> dict[str, Any]:
    """A searchset Bundle of ``resources``, each entry with its full URL."""
    entries = [
        {"fullUrl": f"{base_url}/{resource['resourceType']}/{resource['id']}", "resource": resource}
        for resource in resources
    ]
    return {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
        "type": "searchset",
        "entry": entries,
    }


def appointment_resource(appointment: Appointment, *, slot_ids: Sequence[Any]) -> dict[str, Any]:
    """An appointment; ``slot_ids`` are all the slots it holds (the first is ``slot``);
    ``appointment.type_name`` is the practice's name for its type (annotated)."""
    practice, clinician = appointment.practice, appointment.clinician
    extensions: list[dict[str, Any]] = []
    contained: list[dict[str, Any]] = []
    if appointment.booking_organisation_ods:
        organisation: dict[str, Any] = {
            "resourceType": "Organization",
            "id": "1",
            "meta": _profile(ORGANIZATION_PROFILE),
            "identifier": [{"system": ODS_SYSTEM, "value": appointment.booking_organisation_ods}],
            "name": appointment.booking_organisation_name,
        }
        if appointment.booking_organisation_type:
            organisation["type"] = [
                {
                    "coding": [
                        {
                            "system": ORGANISATION_TYPE_SYSTEM,
                            "code": appointment.booking_organisation_type,
                        }
                    ]
                }
            ]
        if appointment.booking_organisation_telecom:
            organisation["telecom"] = [
                {"system": "phone", "value": appointment.booking_organisation_telecom}
            ]
        contained.append(organisation)
        extensions.append({"url": BOOKING_ORGANISATION_URL, "valueReference": {"reference": "#1"}})
    if appointment.is_cancelled and appointment.cancellation_reason:
        extensions.append(
            {"url": CANCELLATION_REASON_URL, "valueString": appointment.cancellation_reason}
        )
    extensions.append(practitioner_role(appointment.clinician_profession or clinician.profession))
    extensions.append(delivery_channel(appointment.channel))
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": _profile(APPOINTMENT_PROFILE, appointment.version),
    }
    if contained:
        resource["contained"] = contained
    type_name = getattr(appointment, "type_name", None) or appointment.appointment_type
    resource |= {
        "extension": extensions,
        "status": APPOINTMENT_STATUSES[AppointmentStatus(appointment.status)],
        "serviceCategory": {"text": f"{clinician.get_profession_display()} appointments"},
        "serviceType": [{"text": type_name}],
        # GP Connect makes a description mandatory; ours may be empty: say what it is.
        "description": appointment.description or type_name,
        "start": fhir_time(appointment.start, practice),
        "end": fhir_time(appointment.end, practice),
        "minutesDuration": int((appointment.end - appointment.start).total_seconds() // 60),
        "slot": [{"reference": f"Slot/{slot_id}"} for slot_id in slot_ids],
        # When it was made: booked_at moves with a reschedule, created_at never does.
        "created": fhir_time(appointment.created_at, practice),
        "participant": [
            {"actor": {"reference": f"Patient/{appointment.patient_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{practice.ods_code}"}, "status": "accepted"},
            {
                "actor": {
                    "reference": f"Practitioner/{clinician.id}",
                    "display": clinician.display_name,
                },
                "status": "accepted",
            },
        ],
    }
    if appointment.comment:
        resource["comment"] = appointment.comment
    return resource


def _patient_name(patient: User) -> dict[str, Any]:
    """The official name; parts we do not hold are left out (FHIR allows no empty text)."""
    name: dict[str, Any] = {"use": "official"}
    if patient.full_name:
        name["text"] = patient.full_name
    if patient.family_name:
        name["family"] = patient.family_name
    if patient.given_name:
        name["given"] = [patient.given_name]
    return name


def patient_resource(patient: User) -> dict[str, Any]:
    """A patient registered at one of our practices (their ``patient_profile`` loaded)."""
    profile = patient.patient_profile
    practice = profile.registered_practice
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": _profile(PATIENT_PROFILE, _version(patient.date_joined)),
        "identifier": [
            {
                "extension": [
                    {
                        "url": NHS_NUMBER_STATUS_URL,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": NHS_NUMBER_STATUS_SYSTEM,
                                    "code": "01",
                                    "display": "Number present and verified",
                                }
                            ]
                        },
                    }
                ],
                "system": NHS_NUMBER_SYSTEM,
                "value": profile.nhs_number,
            }
        ],
        "active": True,
        "name": [_patient_name(patient)],
    }
    if profile.phone:
        resource["telecom"] = [{"system": "phone", "value": profile.phone, "use": "mobile"}]
    if profile.date_of_birth:
        resource["birthDate"] = profile.date_of_birth.isoformat()
    lines = [line for line in (profile.address_line_1, profile.address_line_2) if line]
    if lines or profile.postcode:
        address: dict[str, Any] = {"use": "home", "type": "physical"}
        if lines:
            address["line"] = lines
        if profile.town:
            address["city"] = profile.town
        if profile.postcode:
            address["postalCode"] = profile.postcode
        resource["address"] = [address]
    if practice is not None:
        resource["managingOrganization"] = {"reference": f"Organization/{practice.ods_code}"}
    return resource
