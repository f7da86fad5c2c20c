"""What a profile may hold (issue 17.10): each refusal is a 422 with a clear message."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import User
from practices.models import PATIENT_AS_CLINICIAN, Clinician, Profession
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

REGISTER = reverse("accounts:register")
ME = reverse("accounts:me")


def register(api, **fields):
    body = {"email": "new@example.com", "password": "Correct-Horse-42", **fields}
    return api.post(REGISTER, body, format="json")


@pytest.mark.parametrize("born", ["0001-01-01", "1800-06-01"])
def test_a_date_of_birth_older_than_anyone_alive_is_refused(api, born):
    response = register(api, date_of_birth=born)

    assert response.status_code == 422
    assert response.json()["errors"]["date_of_birth"] == [services.DATE_OF_BIRTH_TOO_EARLY]
    assert not User.objects.exists()


def test_a_date_of_birth_a_century_ago_is_accepted(api):
    assert register(api, date_of_birth="1925-02-28").status_code == 202


def test_changing_the_date_of_birth_to_1800_is_refused(alice):
    response = client_for(alice).patch(ME, {"date_of_birth": "1800-01-01"}, format="json")

    assert response.status_code == 422


@pytest.mark.parametrize(
    "name",
    [
        "Alice\u202eecilA",  # right-to-left override: shows reversed
        "Al\u200bice",  # zero-width space
        "Ali\u2066ce",  # left-to-right isolate
        "Alice\u2028Smith",  # line separator
        "Ali\x07ce",  # a control character
    ],
)
def test_a_name_with_hidden_or_reordering_characters_is_refused(api, name):
    response = register(api, given_name=name)

    assert response.status_code == 422
    assert response.json()["errors"]["given_name"] == [
        "Names cannot contain hidden or formatting characters."
    ]


def test_a_name_of_only_spaces_is_refused_not_stored_empty(alice):
    response = client_for(alice).patch(ME, {"given_name": "   "}, format="json")

    assert response.status_code == 422
    assert "given_name" in response.json()["errors"]
    alice.refresh_from_db()
    assert alice.given_name == "Alice"


def test_names_in_any_script_with_accents_hyphens_and_apostrophes_are_kept(api):
    response = register(api, given_name=" Zoë-Siân ", family_name="O'Brien-Nguyễn 王")

    assert response.status_code == 202
    user = User.objects.get(email="new@example.com")
    assert (user.given_name, user.family_name) == ("Zoë-Siân", "O'Brien-Nguyễn 王")


def test_a_patient_account_cannot_be_made_a_clinician(alice):
    clinician = Clinician(user=alice, display_name="Dr A Smith", profession=Profession.GP)

    with pytest.raises(ValidationError) as info:
        clinician.full_clean()

    assert info.value.message_dict["user"] == [PATIENT_AS_CLINICIAN]


def test_the_admin_refuses_to_link_a_patient_as_a_clinician(client, django_user_model, alice):
    operator = django_user_model.objects.create_superuser("root@example.com", "Root-Pass-123!")
    client.force_login(operator)

    response = client.post(
        reverse("admin:practices_clinician_add"),
        {"user": alice.pk, "display_name": "Dr A Smith", "profession": "gp", "gender": "unknown"},
    )

    assert response.status_code == 200  # the form again, with the error
    assert PATIENT_AS_CLINICIAN in response.content.decode()
    assert not Clinician.objects.filter(user=alice).exists()


def test_a_joiner_between_letters_is_kept_for_the_scripts_that_need_it(api):
    # Persian "Mehrnoosh" with a zero-width non-joiner between two letters.
    name = "مهر\u200cنوش"

    assert register(api, given_name=name).status_code == 202


@pytest.mark.parametrize("name", ["\u3164", "Bob\u200c", "\u200dAlice"])
def test_blank_letters_and_stray_joiners_are_refused(api, name):
    assert register(api, given_name=name).status_code == 422


def test_the_admin_refuses_a_name_the_api_refuses(alice):
    alice.given_name = "Alice\u202eecilA"

    with pytest.raises(ValidationError) as info:
        alice.full_clean()

    assert "given_name" in info.value.message_dict


def test_names_from_a_cognito_pool_are_stored_without_hidden_characters():
    user = services.provision_cognito_user(
        sub="5c3a5a4e-1f0b-4c6e-9a44-3b7b6b1e2f10",
        role="patient",
        attributes={"email": "pool@example.com", "given_name": "Ev\u202eil", "family_name": "X"},
    )

    assert user.given_name == "Evil"
