"""Search for free slots (GET Slot): the specification's rules and its Bundle."""

import pytest

from gpconnect.auth import READ_METADATA, SEARCH_FREE_SLOTS
from gpconnect.resources import DELIVERY_CHANNEL_URL, PRACTITIONER_ROLE_URL
from practices.models import SlotStatus
from tests.factories import ClinicianFactory, PracticeFactory, SlotFactory

from .door import BASE, tomorrow_at
from .fhir import outcome_code

pytestmark = pytest.mark.django_db

INCLUDES = (
    "&_include=Slot:schedule"
    "&_include:recurse=Schedule:actor:Practitioner"
    "&_include:recurse=Schedule:actor:Location"
    "&_include:recurse=Location:managingOrganization"
)


def search(fhir, query: str):
    return fhir.get(f"{BASE}/Slot?{query}", SEARCH_FREE_SLOTS)


def days(start: int = 1, end: int = 2) -> str:
    first = tomorrow_at(0, days=start).date()
    last = tomorrow_at(0, days=end).date()
    return f"status=free&start=ge{first}&end=le{last}"


def kinds(bundle) -> list[str]:
    return [entry["resource"]["resourceType"] for entry in bundle.get("entry", [])]


def test_it_answers_free_slots_with_their_schedule_practitioner_location_and_organisation(
    fhir, morning
):
    response = search(fhir, days() + INCLUDES)

    assert response.status_code == 200
    bundle = response.json()
    assert bundle["type"] == "searchset"
    assert kinds(bundle) == ["Slot"] * 3 + ["Schedule", "Practitioner", "Location", "Organization"]
    slot = bundle["entry"][0]["resource"]
    assert slot["id"] == str(morning[0].id)
    assert slot["status"] == "free"
    assert slot["start"] == tomorrow_at(10).isoformat(timespec="seconds")
    assert slot["extension"] == [{"url": DELIVERY_CHANNEL_URL, "valueCode": "In-person"}]
    schedule = bundle["entry"][3]["resource"]
    assert slot["schedule"]["reference"] == f"Schedule/{schedule['id']}"
    assert schedule["extension"][0]["url"] == PRACTITIONER_ROLE_URL
    assert schedule["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "R0260"
    practitioner = bundle["entry"][4]["resource"]
    assert practitioner["name"][0]["family"] == "Okafor"
    assert practitioner["gender"] == "female"
    location = bundle["entry"][5]["resource"]
    assert location["name"] == "Riverside Surgery"
    assert location["address"]["postalCode"]
    assert bundle["entry"][6]["resource"]["identifier"][0]["value"] == "A81001"


def test_it_leaves_out_the_actors_not_asked_for_but_always_gives_the_organisation(fhir, morning):
    response = search(fhir, days() + "&_include=Slot:schedule")

    assert kinds(response.json()) == ["Slot"] * 3 + ["Schedule", "Organization"]


def test_an_empty_range_is_an_empty_bundle(fhir, morning):
    response = search(fhir, days(5, 6) + "&_include=Slot:schedule")

    assert response.status_code == 200
    assert kinds(response.json()) == []


def test_it_returns_only_slots_wholly_inside_the_range(fhir, morning):
    start = tomorrow_at(10, 5).isoformat(timespec="seconds").replace("+", "%2B")
    end = tomorrow_at(10, 25).isoformat(timespec="seconds").replace("+", "%2B")

    response = search(fhir, f"status=free&start=ge{start}&end=le{end}&_include=Slot:schedule")

    slots = [
        e["resource"]["id"]
        for e in response.json()["entry"]
        if e["resource"]["resourceType"] == "Slot"
    ]
    assert slots == [str(morning[1].id)]


def test_booked_slots_and_slots_not_bookable_through_gp_connect_are_not_offered(
    fhir, riverside, okafor, morning
):
    morning[0].status = SlotStatus.BOOKED
    morning[0].save()
    SlotFactory(
        practice=riverside,
        clinician=okafor,
        slot_type="staff_only",
        start=tomorrow_at(11),
        end=tomorrow_at(11, 10),
    )

    response = search(fhir, days() + "&_include=Slot:schedule")

    slots = [
        e["resource"]["id"]
        for e in response.json()["entry"]
        if e["resource"]["resourceType"] == "Slot"
    ]
    assert slots == [str(morning[1].id), str(morning[2].id)]


def test_a_practice_without_gp_connect_offers_nothing(fhir, db):
    other = PracticeFactory(ods_code="B82002")
    SlotFactory(
        practice=other,
        clinician=ClinicianFactory(practice=other),
        start=tomorrow_at(9),
        end=tomorrow_at(9, 10),
    )

    response = search(fhir, days() + "&_include=Slot:schedule")

    assert kinds(response.json()) == []


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        # The provider assurance tests' answers (SearchForFreeSlots.feature).
        ("end=le2030-01-02&status=free&_include=Slot:schedule", 400, "BAD_REQUEST"),
        ("start=ge2030-01-01&end=le2030-01-02&_include=Slot:schedule", 400, "BAD_REQUEST"),
        (
            "start=ge2030-01-01&end=le2030-01-02&status=busy&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=ge2030-01-01&end=le2030-01-16&status=free&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=ge2030-01-05&end=le2030-01-04&status=free&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=gt2030-01-01&end=le2030-01-02&status=free&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=ge2030-01&end=le2030-01-02&status=free&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=ge2030-01-01T10:00:00Z&end=le2030-01-02&status=free&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        (
            "start=ge2030-01-01T10:00:00&end=le2030-01-02&status=free&_include=Slot:schedule",
            422,
            "INVALID_PARAMETER",
        ),
        ("start=ge2030-01-01&end=le2030-01-02&status=free", 422, "INVALID_PARAMETER"),
    ],
)
def test_it_refuses_bad_search_parameters_as_the_specification_says(fhir, query, status, code):
    response = search(fhir, query)

    assert response.status_code == status
    assert outcome_code(response) == code


def test_fourteen_days_is_allowed(fhir, morning):
    response = search(fhir, days(1, 15) + "&_include=Slot:schedule")

    assert response.status_code == 200


def test_unknown_search_filters_are_ignored(fhir, morning):
    response = search(
        fhir,
        days()
        + "&_include=Slot:schedule&searchFilter=https://fhir.nhs.uk/Id/uec-dos-service-id|1000123",
    )

    assert kinds(response.json()).count("Slot") == 3


def test_a_slot_restricted_to_urgent_care_is_offered_to_urgent_care_only(fhir, riverside, okafor):
    from tests.factories import gp_connect_bookable

    gp_connect_bookable(riverside, slot_type="urgent", organisation_types=["urgent-care"])
    slot = SlotFactory(
        practice=riverside,
        clinician=okafor,
        slot_type="urgent",
        start=tomorrow_at(15),
        end=tomorrow_at(15, 10),
    )
    urgent = (
        "&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1|urgent-care"
    )
    practice = (
        "&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1|gp-practice"
    )

    as_urgent_care = search(fhir, days() + "&_include=Slot:schedule" + urgent)
    as_gp_practice = search(fhir, days() + "&_include=Slot:schedule" + practice)
    anonymous = search(fhir, days() + "&_include=Slot:schedule")

    assert str(slot.id) in as_urgent_care.content.decode()
    assert str(slot.id) not in as_gp_practice.content.decode()
    assert str(slot.id) not in anonymous.content.decode()


def test_metadata_names_what_is_served(fhir):
    response = fhir.get(f"{BASE}/metadata", READ_METADATA)

    assert response.status_code == 200
    statement = response.json()
    served = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert served == {"Patient", "Appointment", "Slot"}
    slot = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Slot")
    assert "Location:managingOrganization" in slot["searchInclude"]
