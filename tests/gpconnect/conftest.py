"""What every GP Connect test needs: a registered consumer system with its own signing key, and
the headers and signed JWT of a request it makes.

Persona: "NHS 111 North West", whose Adastra system (registered as ``consumer_system``) asks on
behalf of Dr Claire Jones, the spec's example practitioner.

Usage, with the Django test client (real header names, for its ``headers=`` argument):

    response = client.get(url, headers=gpc_headers(SEARCH_FREE_SLOTS))
    headers = gpc_headers(READ_APPOINTMENT, claims_overrides={"aud": None})  # aud left out

``gpc_meta`` takes the same arguments and answers in the WSGI form (``HTTP_SSP_TRACEID``...),
for ``**kwargs`` and for RequestFactory.
"""

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gpconnect.auth import REQUIRED_SCOPE, SERVICE_ROOT_PATH
from gpconnect.models import ConsumerSystem
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    PracticeFactory,
    SlotFactory,
    gp_connect_bookable,
)

from .door import tomorrow_at
from .fhir import FhirClient

PROVIDER_ASID = "200000000001"
CONSUMER_ASID = "200000000115"
CONSUMER_CLIENT_ID = "https://111.nw.example.nhs.uk/"
AUDIENCE = f"http://testserver{SERVICE_ROOT_PATH}"
REQUESTING_ODS = "RYA"
REQUESTING_ORGANISATION = "NHS 111 North West"
PRACTITIONER_ID = "10019"
# How the audit trail and the patient's access log name the requesting organisation.
AUDIT_ORGANISATION = f"{REQUESTING_ORGANISATION} ({REQUESTING_ODS})"


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session")
def gpc_key():
    """The consumer system's RSA signing key (made once: RSA key generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def gpc_other_key():
    """Someone else's RSA key: what signs a forged token."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def gpc_ec_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(autouse=True)
def gpc_settings(settings):
    """This provider's ASID; the JWT audience derived from the request (http://testserver)."""
    settings.GPCONNECT_ASID = PROVIDER_ASID
    settings.GPCONNECT_BASE_URL = ""


@pytest.fixture
def consumer_system(db, gpc_key):
    """NHS 111 North West's Adastra, registered with gpc_key's public half."""
    return ConsumerSystem.objects.create(
        name="NHS 111 North West Adastra",
        client_id=CONSUMER_CLIENT_ID,
        asid=CONSUMER_ASID,
        public_key=public_pem(gpc_key),
    )


@pytest.fixture
def gpc_claims(consumer_system):
    """``gpc_claims(interaction_id, *, consumer=None, scope=None)``: the claims of the spec's
    full example JWT, for ``consumer`` (default consumer_system) asking for ``interaction_id``."""

    def claims(interaction_id, *, consumer=None, scope=None):
        consumer = consumer or consumer_system
        now = int(time.time())
        return {
            "iss": consumer.client_id,
            "sub": PRACTITIONER_ID,
            "aud": AUDIENCE,
            "exp": now + 300,
            "iat": now,
            "reason_for_request": "directcare",
            "requested_scope": scope or REQUIRED_SCOPE[interaction_id],
            "requesting_device": {
                "resourceType": "Device",
                "identifier": [
                    {"system": "https://111.nw.example.nhs.uk/Id/device", "value": "ADASTRA-4"}
                ],
                "model": "Adastra",
                "version": "5.3.0",
            },
            "requesting_organization": {
                "resourceType": "Organization",
                "identifier": [
                    {
                        "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                        "value": REQUESTING_ODS,
                    }
                ],
                "name": REQUESTING_ORGANISATION,
            },
            "requesting_practitioner": {
                "resourceType": "Practitioner",
                "id": PRACTITIONER_ID,
                "identifier": [
                    {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "111222333444"},
                    {
                        "system": "https://fhir.nhs.uk/Id/sds-role-profile-id",
                        "value": "444555666777",
                    },
                    {
                        "system": "https://111.nw.example.nhs.uk/Id/user-guid",
                        "value": "98ed4f78-814d-4266-8d5b-cde742f3093c",
                    },
                ],
                "name": [{"family": "Jones", "given": ["Claire"], "prefix": ["Dr"]}],
            },
        }

    return claims


@pytest.fixture
def gpc_token(gpc_claims, gpc_key):
    """``gpc_token(interaction_id, *, consumer=None, scope=None, claims_overrides=None,
    key=None, algorithm="RS256")``: a signed JWT. In ``claims_overrides`` a value None removes
    the claim."""

    def token(
        interaction_id,
        *,
        consumer=None,
        scope=None,
        claims_overrides=None,
        key=None,
        algorithm="RS256",
    ):
        claims = gpc_claims(interaction_id, consumer=consumer, scope=scope)
        for name, value in (claims_overrides or {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(claims, key or gpc_key, algorithm=algorithm)

    return token


@pytest.fixture
def gpc_headers(consumer_system, gpc_token):
    """``gpc_headers(interaction_id, *, consumer=None, scope=None, claims_overrides=None,
    key=None, algorithm="RS256", token=None, header_overrides=None)``: every header of a GP
    Connect request, by name. ``token`` replaces the signed JWT; in ``header_overrides`` a
    value None removes the header."""

    def headers(
        interaction_id,
        *,
        consumer=None,
        scope=None,
        claims_overrides=None,
        key=None,
        algorithm="RS256",
        token=None,
        header_overrides=None,
    ):
        consumer = consumer or consumer_system
        if token is None:
            token = gpc_token(
                interaction_id,
                consumer=consumer,
                scope=scope,
                claims_overrides=claims_overrides,
                key=key,
                algorithm=algorithm,
            )
        values = {
            "Authorization": f"Bearer {token}",
            "Ssp-TraceID": str(uuid.uuid4()),
            "Ssp-From": consumer.asid or CONSUMER_ASID,
            "Ssp-To": PROVIDER_ASID,
            "Ssp-InteractionID": interaction_id,
            "Accept": "application/fhir+json",
        }
        for name, value in (header_overrides or {}).items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return values

    return headers


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    """Header names as WSGI spells them (``HTTP_SSP_TRACEID``)."""
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


@pytest.fixture
def gpc_meta(gpc_headers):
    """``gpc_headers``, with the keys as WSGI spells them, for ``client.get(url, **meta)``."""

    def meta(interaction_id, **options):
        return as_meta(gpc_headers(interaction_id, **options))

    return meta


# The interaction tests' personas: Riverside Surgery (A81001) has GP Connect switched on and
# lets any organisation book its routine slots; Dr Amara Okafor has three adjacent ten-minute
# slots there tomorrow morning; Jane Jackson is registered there with a confirmed NHS number.
# NHS 111 North West (consumer_system) books for her through ``fhir``.


@pytest.fixture
def riverside(db):
    practice = PracticeFactory(ods_code="A81001", name="Riverside Surgery")
    gp_connect_bookable(practice)
    return practice


@pytest.fixture
def okafor(riverside):
    return ClinicianFactory(practice=riverside, display_name="Dr Amara Okafor", gender="female")


@pytest.fixture
def morning(riverside, okafor):
    """Dr Okafor's three adjacent routine slots, tomorrow 10:00 to 10:30."""
    return [
        SlotFactory(
            practice=riverside,
            clinician=okafor,
            start=tomorrow_at(10, 10 * n),
            end=tomorrow_at(10, 10 * n + 10),
        )
        for n in range(3)
    ]


@pytest.fixture
def jane(riverside):
    patient = PatientFactory(given_name="Jane", family_name="Jackson")
    patient.patient_profile.registered_practice = riverside
    patient.patient_profile.save()
    return patient


@pytest.fixture
def fhir(client, gpc_headers):
    return FhirClient(client, gpc_headers)
