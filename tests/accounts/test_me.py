import pytest
from django.urls import reverse

from accounts import services
from accounts.models import AccountEmail, PatientProfile
from tests.conftest import client_for
from tests.factories import PatientFactory, fake_nhs_number

pytestmark = pytest.mark.django_db

ME = reverse("accounts:me")


def test_a_patient_sees_their_own_account_and_profile(alice):
    response = client_for(alice).get(ME)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(alice.id)
    assert body["email"] == "alice@example.com"
    assert body["role"] == "patient"
    assert body["nhs_number"] == alice.patient_profile.nhs_number
    assert body["phone"] == "+447700900123"


def test_staff_see_null_patient_fields(carol):
    body = client_for(carol).get(ME).json()

    assert body["role"] == "clinician"
    assert body["nhs_number"] is None
    assert body["notify_by_email"] is None


def test_anonymous_callers_get_401_with_a_bearer_challenge(api):
    response = api.get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_a_patient_updates_names_and_preferences(alice):
    response = client_for(alice).patch(
        ME,
        {"given_name": "Ally", "postcode": "ls1 4ap", "notify_by_email": False},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["given_name"] == "Ally"
    alice.refresh_from_db()
    profile = PatientProfile.objects.get(user=alice)
    assert alice.given_name == "Ally"
    assert (profile.postcode, profile.notify_by_email) == ("LS1 4AP", False)


@pytest.mark.parametrize(
    ("field", "value"),
    [("role", "admin"), ("email", "new@example.com"), ("is_staff", True), ("id", "x")],
)
def test_privileged_or_read_only_fields_are_refused(alice, field, value):
    response = client_for(alice).patch(ME, {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    alice.refresh_from_db()
    assert (alice.role, alice.email, alice.is_staff) == ("patient", "alice@example.com", False)


def test_a_patient_without_an_nhs_number_can_add_one(db):
    patient = PatientFactory(profile__nhs_number=None)
    number = fake_nhs_number()

    response = client_for(patient).patch(ME, {"nhs_number": number}, format="json")

    assert response.status_code == 200
    assert PatientProfile.objects.get(user=patient).nhs_number == number


def test_a_confirmed_nhs_number_cannot_be_changed_online(alice):
    original = alice.patient_profile.nhs_number

    response = client_for(alice).patch(ME, {"nhs_number": fake_nhs_number()}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "nhs_number_locked"
    assert PatientProfile.objects.get(user=alice).nhs_number == original


def test_another_patients_nhs_number_is_kept_as_an_unconfirmed_claim_not_refused(alice, bob):
    # A refusal would tell any signed-in patient whose number is registered here.
    PatientProfile.objects.filter(user=alice).update(nhs_number=None, nhs_number_confirmed_at=None)

    response = client_for(alice).patch(
        ME, {"nhs_number": bob.patient_profile.nhs_number}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["nhs_number"], response.json()["nhs_number_confirmed"]) == (
        bob.patient_profile.nhs_number,
        False,
    )
    assert AccountEmail.objects.get().user == bob  # the confirmed holder is told


def test_an_unconfirmed_nhs_number_can_be_corrected(alice):
    PatientProfile.objects.filter(user=alice).update(nhs_number_confirmed_at=None)
    corrected = fake_nhs_number()

    response = client_for(alice).patch(ME, {"nhs_number": corrected}, format="json")

    assert response.status_code == 200
    assert PatientProfile.objects.get(user=alice).nhs_number == corrected


def test_sms_needs_a_phone_number_on_update(alice):
    client = client_for(alice)

    response = client.patch(ME, {"phone": "", "notify_by_sms": True}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"]["notify_by_sms"] == [services.SMS_NEEDS_PHONE]
    assert PatientProfile.objects.get(user=alice).phone == "+447700900123"


def test_staff_cannot_set_patient_fields(carol):
    response = client_for(carol).patch(ME, {"phone": "07700900123"}, format="json")

    assert response.status_code == 422
    assert response.json()["errors"]["phone"] == [services.NOT_A_PATIENT]


def test_get_me_costs_two_queries(alice, assert_statements):
    client = client_for(alice)
    # 1. the user for the token's sub, with profile and practice (joined)  2. the audit row
    with assert_statements(2):
        client.get(ME)


def test_get_me_for_staff_costs_three_queries(dave, assert_statements):
    client = client_for(dave)
    # 1. the user for the token's sub  2. the practices they work at (joined)  3. the audit row
    with assert_statements(3):
        response = client.get(ME)

    assert len(response.json()["practices"]) == 1


def test_a_closed_practice_is_no_workplace(dave, riverside):
    riverside.is_active = False
    riverside.save(update_fields=["is_active"])

    assert client_for(dave).get(ME).json()["practices"] == []


def test_a_patient_registers_with_a_practice_by_ods_code(api, riverside):
    response = api.post(
        reverse("accounts:register"),
        {"email": "new@example.com", "password": "Tr1cky-Pass!", "practice_id": "a81001"},
        format="json",
    )

    assert response.status_code == 202
    assert (
        PatientProfile.objects.get(user__email="new@example.com").registered_practice == riverside
    )


def test_registration_with_an_unknown_practice_is_refused(api, db):
    response = api.post(
        reverse("accounts:register"),
        {"email": "new@example.com", "password": "Tr1cky-Pass!", "practice_id": "NOPE1"},
        format="json",
    )

    assert response.status_code == 422
    assert "practice_id" in response.json()["errors"]
    assert not PatientProfile.objects.exists()


def test_a_patient_moves_to_another_practice(alice, hilltop):
    response = client_for(alice).patch(ME, {"practice_id": "B82002"}, format="json")

    assert response.status_code == 200
    assert response.json()["practice_id"] == "B82002"
    assert PatientProfile.objects.get(user=alice).registered_practice == hilltop


def test_an_inactive_practice_cannot_be_chosen(alice, hilltop):
    hilltop.is_active = False
    hilltop.save()

    response = client_for(alice).patch(ME, {"practice_id": "B82002"}, format="json")

    assert response.status_code == 422
    assert PatientProfile.objects.get(user=alice).registered_practice.ods_code == "A81001"


def test_me_shows_the_registered_practice(alice):
    assert client_for(alice).get(ME).json()["practice_id"] == "A81001"


def test_staff_see_the_practices_they_work_at_with_their_role(dave, carol, riverside):
    # dave administers Riverside; carol is a GP there (a clinician record, no membership).
    expected = {"ods_code": riverside.ods_code, "name": riverside.name}

    as_admin = client_for(dave).get(ME).json()["practices"]
    as_gp = client_for(carol).get(ME).json()["practices"]

    assert as_admin == [{**expected, "role": "admin"}]
    assert as_gp == [{**expected, "role": "clinician"}]


def test_a_patient_lists_no_workplace(alice):
    assert client_for(alice).get(ME).json()["practices"] == []
