import pytest
from django.urls import reverse

from accounts import services
from accounts.api.views import REGISTRATION_RECEIVED
from accounts.models import PatientProfile, User
from accounts.passwords import PASSWORD_CHARACTER_CLASSES
from tests.factories import PatientFactory, fake_nhs_number

pytestmark = pytest.mark.django_db

URL = reverse("accounts:register")
STRONG = "Tr1cky-Pass!"


def register(api, **fields):
    body = {"email": "new@example.com", "password": STRONG, "role": "patient", **fields}
    return api.post(URL, body, format="json")


def test_it_registers_a_patient_with_the_seed_contract(api):
    response = register(api, email="test@example.com", password="TestPass123!")

    # Accepted, not created: the same answer whether or not the address was free
    # (tests/accounts/test_email_flows.py), and the account waits for its address to be
    # confirmed.
    assert response.status_code == 202
    assert response.json() == {"detail": REGISTRATION_RECEIVED}
    user = User.objects.get(email="test@example.com")
    assert user.role == "patient"
    assert user.check_password("TestPass123!")
    assert user.email_verified is False
    assert PatientProfile.objects.filter(user=user).exists()


def test_it_stores_the_optional_profile_fields_normalised(api):
    nhs = fake_nhs_number()
    spaced = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"

    response = register(
        api,
        given_name="Nia",
        family_name="Evans",
        nhs_number=spaced,
        date_of_birth="1990-04-01",
        phone="07700 900456",
        postcode="cf10 1aa",
        notify_by_sms=True,
    )

    assert response.status_code == 202, response.json()
    profile = PatientProfile.objects.get(user__email="new@example.com")
    assert (profile.nhs_number, profile.phone, profile.postcode) == (
        nhs,
        "+447700900456",
        "CF10 1AA",
    )
    assert profile.notify_by_sms is True


def test_it_defaults_the_role_to_patient(api):
    response = api.post(URL, {"email": "new@example.com", "password": STRONG}, format="json")

    assert response.status_code == 202
    assert User.objects.get(email="new@example.com").role == "patient"


@pytest.mark.parametrize("role", ["clinician", "admin", "superuser"])
def test_it_refuses_self_registration_as_anything_but_a_patient(api, role):
    response = register(api, role=role)

    # The schema lists "patient" as the only role, so anything else is a malformed request.
    assert response.status_code == 400
    assert response.json()["errors"]["role"] == [services.ROLE_NOT_ALLOWED]
    assert not User.objects.filter(email="new@example.com").exists()


def test_it_makes_no_second_account_for_an_email_in_any_case(api):
    PatientFactory(email="taken@example.com")

    response = register(api, email="Taken@Example.COM")

    assert response.status_code == 202
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_it_stores_the_email_in_lower_case(api):
    register(api, email="Mixed.Case@Example.com")

    assert User.objects.filter(email="mixed.case@example.com").exists()


def test_an_nhs_number_linked_to_another_is_kept_unconfirmed_beside_it(api):
    existing = PatientFactory()
    number = existing.patient_profile.nhs_number

    response = register(api, nhs_number=number)

    assert response.status_code == 202
    claims = PatientProfile.objects.filter(nhs_number=number)
    assert sorted(c.nhs_number_confirmed for c in claims) == [False, True]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!", "too short"),
        ("alllower1!", "no upper case"),
        ("ALLUPPER1!", "no lower case"),
        ("NoDigits!!", "no digit"),
        ("NoSymbol12", "no symbol"),
    ],
)
def test_it_enforces_the_cognito_password_policy(api, password, reason):
    response = register(api, password=password)

    assert response.status_code == 422, reason
    assert response.json()["code"] == "weak_password"
    assert "password" in response.json()["errors"]
    assert not User.objects.exists()


def test_it_names_the_missing_character_classes(api):
    response = register(api, password="nosymbolsorcaps")

    assert PASSWORD_CHARACTER_CLASSES in response.json()["errors"]["password"]


def test_it_refuses_a_common_password_even_if_it_has_every_class(api):
    response = register(api, password="Password1!")

    assert response.status_code == 422
    assert any("common" in m for m in response.json()["errors"]["password"])


def test_it_refuses_a_password_too_similar_to_the_email(api):
    response = register(api, email="margaret.thatcher@example.com", password="Margaret.Thatcher1")

    assert response.status_code == 422
    assert any("similar" in m for m in response.json()["errors"]["password"])


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        # Wrong for the schema: 400.
        ("date_of_birth", "31/12/1990", 400),
        ("email", "not-an-email", 400),
        ("given_name", "x" * 101, 400),
        ("given_name", 5, 400),
        # Fine for the schema, wrong by a rule it cannot state: 422.
        ("nhs_number", "1234567890", 422),
        ("phone", "not a phone", 422),
        ("postcode", "NOWHERE", 422),
    ],
)
def test_it_refuses_malformed_fields_by_name(api, field, value, status):
    response = register(api, **{field: value})

    assert response.status_code == status
    assert field in response.json()["errors"]
    assert not User.objects.exists()


def test_it_refuses_a_date_of_birth_in_the_future(api):
    response = register(api, date_of_birth="2999-01-01")

    assert response.status_code == 422
    assert response.json()["errors"]["date_of_birth"] == [services.DATE_OF_BIRTH_IN_FUTURE]


def test_it_refuses_sms_reminders_without_a_phone_number(api):
    response = register(api, notify_by_sms=True)

    assert response.status_code == 422
    assert response.json()["errors"]["notify_by_sms"] == [services.SMS_NEEDS_PHONE]


@pytest.mark.parametrize("field", ["is_staff", "is_superuser", "id", "practice"])
def test_it_refuses_fields_it_does_not_accept(api, field):
    response = register(api, **{field: True})

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not User.objects.exists()


@pytest.mark.parametrize("missing", ["email", "password"])
def test_it_requires_email_and_password(api, missing):
    body = {"email": "new@example.com", "password": STRONG}
    del body[missing]

    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][missing] == ["This field is required."]


def test_it_answers_malformed_json_with_a_problem_body(api):
    response = api.post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "parse_error"


def test_it_refuses_a_json_body_that_is_not_an_object(api):
    response = api.post(URL, [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
