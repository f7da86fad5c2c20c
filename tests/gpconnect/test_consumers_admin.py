"""Operators register the systems that may come through the GP Connect door, with the key
their JWTs are signed with, and revoke them.

Personas: root (an operator: a superuser); dave (Riverside's practice administrator: staff,
but not an operator, so the consumer systems are none of his business).
"""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Role
from gpconnect.models import BAD_KEY, WRONG_CURVE, ConsumerSystem, key_fingerprint

from .conftest import public_pem

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:gpconnect_consumersystem_changelist")
ADD = reverse("admin:gpconnect_consumersystem_add")


@pytest.fixture
def root_client(client, django_user_model):
    """An operator (superuser), signed in to the admin."""
    client.force_login(django_user_model.objects.create_superuser("root@example.com", "Root-1!x"))
    return client


@pytest.fixture
def dave_client(client, dave):
    client.force_login(dave)
    return client


def add_form(gpc_key, **fields):
    return {
        "name": "NHS 111 North West Adastra",
        "client_id": "https://111.nw.example.nhs.uk/",
        "asid": "200000000115",
        "public_key": public_pem(gpc_key),
        **fields,
    }


# The service user ---------------------------------------------------------------------------


def test_a_new_system_gets_a_service_user_that_can_never_sign_in(consumer_system):
    user = consumer_system.user

    assert (user.is_active, user.is_staff, user.is_superuser) == (False, False, False)
    assert not user.has_usable_password()
    assert user.role == Role.ADMIN
    assert user.email.endswith("@gpconnect.invalid")
    assert not user.practice_memberships.exists()


def test_saving_a_system_again_keeps_its_service_user(consumer_system):
    user = consumer_system.user

    consumer_system.name = "Adastra (renamed)"
    consumer_system.save()

    consumer_system.refresh_from_db()
    assert consumer_system.user == user


def test_revoking_deactivates_and_dates_it(consumer_system):
    consumer_system.revoke()

    consumer_system.refresh_from_db()
    assert consumer_system.is_active is False
    assert consumer_system.revoked_at is not None


def test_the_database_refuses_a_revoked_system_made_active_again(consumer_system):
    consumer_system.revoke()

    with pytest.raises(IntegrityError), transaction.atomic():
        ConsumerSystem.objects.filter(pk=consumer_system.pk).update(is_active=True)


# The key ------------------------------------------------------------------------------------


def test_an_rsa_2048_key_and_an_ec_p256_key_are_accepted(consumer_system, gpc_ec_key):
    consumer_system.full_clean()
    consumer_system.public_key = public_pem(gpc_ec_key)
    consumer_system.full_clean()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            # Too weak on purpose: the key the admin must refuse.
            rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505
            "This RSA key has 1024 bits",
        ),
        (ec.generate_private_key(ec.SECP384R1()), WRONG_CURVE),
    ],
    ids=["rsa-1024", "ec-p384"],
)
def test_a_weak_key_is_refused(consumer_system, key, message):
    consumer_system.public_key = public_pem(key)

    with pytest.raises(ValidationError) as caught:
        consumer_system.full_clean()

    assert message in caught.value.message_dict["public_key"][0]


def test_the_fingerprint_is_the_sha256_of_the_key_as_openssh_prints_it(consumer_system):
    fingerprint = key_fingerprint(consumer_system.public_key)

    assert fingerprint.startswith("SHA256:")
    assert len(fingerprint) == len("SHA256:") + 43


# The admin ----------------------------------------------------------------------------------


def test_an_operator_adds_a_system_by_pasting_its_key(root_client, gpc_key):
    response = root_client.post(ADD, add_form(gpc_key))

    assert response.status_code == 302
    system = ConsumerSystem.objects.get()
    assert (system.name, system.client_id, system.asid) == (
        "NHS 111 North West Adastra",
        "https://111.nw.example.nhs.uk/",
        "200000000115",
    )
    assert system.is_active
    assert system.user.is_active is False


def test_a_key_that_is_not_a_public_key_is_a_form_error(root_client, gpc_key):
    response = root_client.post(ADD, add_form(gpc_key, public_key="-----BEGIN PUBLIC KEY-----\nxx"))

    assert response.status_code == 200
    assert BAD_KEY in response.text.replace("&#x27;", "'")
    assert not ConsumerSystem.objects.exists()


def test_an_asid_must_be_digits(root_client, gpc_key):
    response = root_client.post(ADD, add_form(gpc_key, asid="ASID-1"))

    assert response.status_code == 200
    assert "An ASID is digits only." in response.text
    assert not ConsumerSystem.objects.exists()


def test_the_list_shows_each_systems_key_fingerprint(root_client, consumer_system):
    response = root_client.get(CHANGELIST)

    assert response.status_code == 200
    assert key_fingerprint(consumer_system.public_key) in response.text


def test_an_operator_revokes_a_system_from_the_list(root_client, consumer_system):
    response = root_client.post(
        CHANGELIST, {"action": "revoke", "_selected_action": [consumer_system.pk]}
    )

    assert response.status_code == 302
    consumer_system.refresh_from_db()
    assert (consumer_system.is_active, consumer_system.revoked_at is not None) == (False, True)


def test_a_system_is_never_deleted_only_revoked(root_client, consumer_system):
    url = reverse("admin:gpconnect_consumersystem_delete", args=[consumer_system.pk])

    assert root_client.get(url).status_code == 403


def test_staff_who_are_not_operators_cannot_see_the_systems(dave_client, consumer_system):
    change = reverse("admin:gpconnect_consumersystem_change", args=[consumer_system.pk])

    assert dave_client.get(CHANGELIST).status_code == 403
    assert dave_client.get(ADD).status_code == 403
    assert dave_client.get(change).status_code == 403
    assert "gpconnect" not in dave_client.get(reverse("admin:index")).text
