"""The CapabilityStatement at ``metadata``: what this provider serves of GP Connect 1.2.7.

Only what is built: finding and reading a patient, and Appointment Management. No read of
practitioners, organisations or locations on their own, no registration and no
structured record; JSON only (the specification's XML is a SHOULD we do not meet).
"""

import datetime as dt
from typing import Any

from django.conf import settings

from .resources import (
    APPOINTMENT_PROFILE,
    LOCATION_PROFILE,
    ORGANIZATION_PROFILE,
    PATIENT_PROFILE,
    PRACTITIONER_PROFILE,
    SCHEDULE_PROFILE,
    SLOT_PROFILE,
)

SPEC_VERSION = "1.2.7"
OPERATION_OUTCOME_PROFILE = (
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"
)


def _interactions(*codes: str) -> list[dict[str, str]]:
    return [{"code": code} for code in codes]


def capability_statement(*, now: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "version": SPEC_VERSION,
        "name": "GP Connect",
        "status": "active",
        "date": now.date().isoformat(),
        "publisher": "GP Booking",
        "description": (
            f"This server implements GP Connect Appointment Management {SPEC_VERSION} "
            "(and finding and reading a patient) for the practices that have switched it on."
        ),
        "kind": "instance",
        "software": {"name": "GP Booking", "version": settings.SPECTACULAR_SETTINGS["VERSION"]},
        "implementation": {"description": "GP Booking's GP Connect provider"},
        "fhirVersion": "3.0.1",
        "acceptUnknown": "no",
        "format": ["application/fhir+json"],
        "profile": [
            {"reference": url}
            for url in (
                PATIENT_PROFILE,
                ORGANIZATION_PROFILE,
                PRACTITIONER_PROFILE,
                LOCATION_PROFILE,
                OPERATION_OUTCOME_PROFILE,
                APPOINTMENT_PROFILE,
                SCHEDULE_PROFILE,
                SLOT_PROFILE,
            )
        ],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": _interactions("read", "search-type"),
                        "searchParam": [
                            {
                                "name": "identifier",
                                "type": "token",
                                "documentation": "NHS Number "
                                "(https://fhir.nhs.uk/Id/nhs-number|9476719931)",
                            }
                        ],
                    },
                    {
                        "type": "Appointment",
                        "interaction": _interactions("read", "create", "update"),
                        "updateCreate": False,
                        "conditionalUpdate": False,
                        "searchParam": [
                            {
                                "name": "start",
                                "type": "date",
                                "documentation": "A patient's appointments, "
                                "GET Patient/{id}/Appointment?start=ge{date}&start=le{date}",
                            }
                        ],
                    },
                    {
                        "type": "Slot",
                        "interaction": _interactions("search-type"),
                        "searchInclude": [
                            "Slot:schedule",
                            "Schedule:actor:Practitioner",
                            "Schedule:actor:Location",
                            "Location:managingOrganization",
                        ],
                        "searchParam": [
                            {"name": "start", "type": "date"},
                            {"name": "end", "type": "date"},
                            {"name": "status", "type": "token"},
                            {"name": "searchFilter", "type": "token"},
                        ],
                    },
                ],
            }
        ],
    }
