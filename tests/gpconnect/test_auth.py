"""Who may come through the GP Connect door: the Spine headers and the signed JWT, driven
through gpconnect.auth.authenticate as a view calls it.

Persona: NHS 111 North West's Adastra (``consumer_system``, conftest), signing with its
registered key on behalf of Dr Claire Jones. Everyone else (a forger, a revoked system, an
unsigned token) must be refused with the specification's status and Spine code.
"""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from booking.services.rules import Organisation
from gpconnect import auth
from gpconnect.auth import (
    BOOK_APPOINTMENT,
    READ_APPOINTMENT,
    SEARCH_FREE_SLOTS,
    authenticate,
)
from gpconnect.errors import FhirError
from gpconnect.models import ConsumerSystem

from .conftest import (
    CONSUMER_ASID,
    PRACTITIONER_ID,
    REQUESTING_ODS,
    REQUESTING_ORGANISATION,
    public_pem,
)

pytestmark = pytest.mark.django_db

PATH = "/gpconnect/fhir/Slot"


def authenticated(rf, headers, interaction=SEARCH_FREE_SLOTS):
    return authenticate(rf.get(PATH, headers=headers), interaction_id=interaction)


def refusal(rf, headers, interaction=SEARCH_FREE_SLOTS) -> FhirError:
    """The error authenticate raises, after checking it gives diagnostics and that they
    repeat no part of the token."""
    with pytest.raises(FhirError) as caught:
        authenticated(rf, headers, interaction)
    error = caught.value
    assert error.diagnostics
    token = (headers.get("Authorization") or "").partition(" ")[2]
    for part in token.split("."):
        assert len(part) < 10 or part not in error.diagnostics
    return error


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, claims: dict, secret: bytes) -> str:
    """A token signed by hand with HMAC-SHA256 (PyJWT itself refuses a PEM as an HMAC key)."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def assert_refused(error: FhirError, status: int, code: str, diagnostics: str) -> None:
    assert (error.status, error.code, error.diagnostics) == (status, code, diagnostics)


# The way in.


def test_it_lets_a_registered_system_in_with_the_specs_example_claims(
    rf, gpc_headers, consumer_system
):
    headers = gpc_headers(SEARCH_FREE_SLOTS)

    consumer = authenticated(rf, headers)

    assert consumer.system == consumer_system
    assert consumer.organisation == Organisation(
        ods_code=REQUESTING_ODS, name=REQUESTING_ORGANISATION
    )
    assert consumer.practitioner_id == PRACTITIONER_ID
    assert consumer.practitioner_name == "Dr Claire Jones"
    assert consumer.scope == "organization/*.read"
    assert consumer.trace_id == headers["Ssp-TraceID"]
    assert consumer.from_asid == CONSUMER_ASID
    assert consumer.claims["iss"] == consumer_system.client_id


def test_it_reads_one_row_the_system_with_its_service_user(rf, gpc_headers):
    headers = gpc_headers(SEARCH_FREE_SLOTS)

    with CaptureQueriesContext(connection) as queries:
        consumer = authenticated(rf, headers)
        assert not consumer.system.user.is_active

    assert len(queries) == 1


def test_it_takes_the_scope_each_interaction_needs(rf, gpc_headers):
    consumer = authenticated(rf, gpc_headers(BOOK_APPOINTMENT), BOOK_APPOINTMENT)

    assert consumer.scope == "patient/*.write"


def test_it_accepts_rs512(rf, gpc_headers):
    assert authenticated(rf, gpc_headers(SEARCH_FREE_SLOTS, algorithm="RS512"))


def test_it_accepts_es256_from_a_system_registered_with_an_ec_key(rf, gpc_headers, gpc_ec_key):
    out_of_hours = ConsumerSystem.objects.create(
        name="Out of hours",
        client_id="https://ooh.example.nhs.uk/",
        public_key=public_pem(gpc_ec_key),
    )

    consumer = authenticated(
        rf, gpc_headers(SEARCH_FREE_SLOTS, consumer=out_of_hours, key=gpc_ec_key, algorithm="ES256")
    )

    assert consumer.system == out_of_hours


def test_a_system_without_an_asid_may_send_any_ssp_from(rf, gpc_headers, consumer_system):
    consumer_system.asid = ""
    consumer_system.save()

    assert authenticated(
        rf, gpc_headers(SEARCH_FREE_SLOTS, header_overrides={"Ssp-From": "918999198738"})
    )


def test_it_accepts_an_iat_200_seconds_ahead_as_the_assurance_tests_ask(rf, gpc_headers):
    iat = int(time.time()) + 200

    assert authenticated(
        rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"iat": iat, "exp": iat + 300})
    )


def test_the_audience_may_end_with_a_slash(rf, gpc_headers):
    headers = gpc_headers(
        SEARCH_FREE_SLOTS, claims_overrides={"aud": "http://testserver/gpconnect/fhir/"}
    )

    assert authenticated(rf, headers)


def test_the_configured_base_url_is_the_audiences(rf, gpc_headers, settings):
    settings.GPCONNECT_BASE_URL = "https://gpb.example.nhs.uk"
    headers = gpc_headers(
        SEARCH_FREE_SLOTS, claims_overrides={"aud": "https://gpb.example.nhs.uk/gpconnect/fhir"}
    )

    assert authenticated(rf, headers)


def test_a_practices_own_service_root_is_its_audience(rf, gpc_headers):
    headers = gpc_headers(
        SEARCH_FREE_SLOTS, claims_overrides={"aud": "http://testserver/gpconnect/A81001/fhir"}
    )
    request = rf.get("/gpconnect/A81001/fhir/Slot", headers=headers)

    assert auth.authenticate(request, interaction_id=SEARCH_FREE_SLOTS)


def test_the_all_practices_audience_is_refused_at_one_practices_root(rf, gpc_headers):
    request = rf.get("/gpconnect/A81001/fhir/Slot", headers=gpc_headers(SEARCH_FREE_SLOTS))

    with pytest.raises(FhirError) as refused:
        auth.authenticate(request, interaction_id=SEARCH_FREE_SLOTS)

    assert refused.value.code == "BAD_REQUEST"


def test_practitioner_identifiers_may_be_unk_or_missing_as_consumers_vary(
    rf, gpc_headers, gpc_claims
):
    practitioner = gpc_claims(SEARCH_FREE_SLOTS)["requesting_practitioner"]
    practitioner["identifier"] = [{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "UNK"}]

    assert authenticated(
        rf,
        gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_practitioner": practitioner}),
    )


def test_the_rc5_ods_system_is_still_accepted(rf, gpc_headers, gpc_claims):
    organisation = gpc_claims(SEARCH_FREE_SLOTS)["requesting_organization"]
    organisation["identifier"] = [
        {"system": "http://fhir.nhs.net/Id/ods-organization-code", "value": "rya"}
    ]

    consumer = authenticated(
        rf,
        gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_organization": organisation}),
    )

    assert consumer.organisation.ods_code == "RYA"


def test_an_interaction_the_door_does_not_serve_is_a_programming_error(rf, gpc_headers):
    with pytest.raises(ValueError):
        authenticated(rf, gpc_headers(SEARCH_FREE_SLOTS), "urn:nhs:names:services:gpconnect:x")


# The Spine headers: 400 BAD_REQUEST ("an expected header ... is missing or invalid").


@pytest.mark.parametrize("header", ["Ssp-TraceID", "Ssp-From", "Ssp-To", "Ssp-InteractionID"])
def test_it_refuses_a_request_without_each_spine_header(rf, gpc_headers, header):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, header_overrides={header: None}))

    assert_refused(error, 400, "BAD_REQUEST", auth.MISSING_HEADER.format(header=header))


def test_it_refuses_a_trace_id_that_is_no_guid(rf, gpc_headers):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, header_overrides={"Ssp-TraceID": "abc"}))

    assert_refused(error, 400, "BAD_REQUEST", auth.BAD_TRACE_ID)


def test_it_refuses_a_request_for_another_providers_asid(rf, gpc_headers):
    # SSP.feature: "To ASID - Invalid" => 400 BAD_REQUEST.
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, header_overrides={"Ssp-To": "123456789123"}))

    assert_refused(error, 400, "BAD_REQUEST", auth.WRONG_SSP_TO)


def test_it_refuses_everything_until_the_providers_asid_is_configured(rf, gpc_headers, settings):
    settings.GPCONNECT_ASID = ""

    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS))

    assert_refused(error, 400, "BAD_REQUEST", auth.NO_PROVIDER_ASID)


def test_it_refuses_an_interaction_id_that_does_not_match_the_request(rf, gpc_headers):
    headers = gpc_headers(
        SEARCH_FREE_SLOTS, header_overrides={"Ssp-InteractionID": READ_APPOINTMENT}
    )

    error = refusal(rf, headers)

    assert_refused(
        error, 400, "BAD_REQUEST", auth.WRONG_INTERACTION.format(expected=SEARCH_FREE_SLOTS)
    )


def test_it_refuses_an_ssp_from_that_is_not_the_systems_asid(rf, gpc_headers):
    # The SSP's own answer to an unauthorised sender ASID is a 403.
    headers = gpc_headers(SEARCH_FREE_SLOTS, header_overrides={"Ssp-From": "918999198738"})

    error = refusal(rf, headers)

    assert_refused(error, 403, "ACCESS_DENIED", auth.WRONG_SSP_FROM)


# The bearer token.


@pytest.mark.parametrize("value", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "a b c"])
def test_it_refuses_a_request_without_a_bearer_token(rf, gpc_headers, value):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, header_overrides={"Authorization": value}))

    assert_refused(error, 400, "BAD_REQUEST", auth.NO_BEARER)


def test_it_refuses_a_token_that_is_not_base64_encoded(rf, gpc_headers):
    # JWT.feature: "Bearer Token - not base 64 encoded" => 400.
    token = '{"alg":"RS256"}.{"iss":"x"}.'

    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, token=token))

    assert_refused(error, 400, "BAD_REQUEST", auth.MALFORMED_JWT)


def test_it_refuses_an_unsigned_token_although_the_spec_sends_them(rf, gpc_headers, gpc_claims):
    # The spec's consumers send alg "none" behind the SSP's mutual TLS; this door has no SSP.
    token = jwt.encode(gpc_claims(SEARCH_FREE_SLOTS), key=None, algorithm="none")

    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, token=token))

    assert_refused(error, 403, "ACCESS_DENIED", auth.UNSIGNED_JWT)


def test_it_refuses_hs256_signed_with_the_public_key_as_its_secret(
    rf, gpc_headers, gpc_claims, gpc_key
):
    # Algorithm confusion: anyone holds the public key, so an HMAC "signed" with it proves nothing.
    token = forged(
        {"alg": "HS256", "typ": "JWT"},
        gpc_claims(SEARCH_FREE_SLOTS),
        public_pem(gpc_key).encode(),
    )

    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, token=token))

    assert_refused(error, 403, "ACCESS_DENIED", auth.UNSIGNED_JWT)


def test_it_refuses_a_token_signed_with_another_key(rf, gpc_headers, gpc_other_key):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, key=gpc_other_key))

    assert_refused(error, 403, "ACCESS_DENIED", auth.BAD_SIGNATURE)


def test_it_refuses_a_token_whose_signature_was_cut_off(rf, gpc_headers, gpc_token):
    header_and_claims = gpc_token(SEARCH_FREE_SLOTS).rsplit(".", 1)[0]

    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, token=f"{header_and_claims}."))

    assert_refused(error, 403, "ACCESS_DENIED", auth.BAD_SIGNATURE)


def test_it_refuses_an_ec_token_from_a_system_registered_with_an_rsa_key(
    rf, gpc_headers, gpc_ec_key
):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, key=gpc_ec_key, algorithm="ES256"))

    assert_refused(error, 403, "ACCESS_DENIED", auth.WRONG_ALGORITHM)


def test_it_refuses_a_token_from_an_unknown_issuer(rf, gpc_headers):
    headers = gpc_headers(
        SEARCH_FREE_SLOTS, claims_overrides={"iss": "https://elsewhere.example.com/"}
    )

    error = refusal(rf, headers)

    assert_refused(error, 403, "ACCESS_DENIED", auth.UNKNOWN_SYSTEM)


def test_it_refuses_a_token_without_an_issuer(rf, gpc_headers):
    # JWT.feature: "Requesting System URL - missing" => 400.
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"iss": None}))

    assert_refused(error, 400, "BAD_REQUEST", auth.NO_ISS)


def test_it_refuses_a_revoked_system(rf, gpc_headers, consumer_system):
    headers = gpc_headers(SEARCH_FREE_SLOTS)
    consumer_system.revoke()

    error = refusal(rf, headers)

    assert_refused(error, 403, "ACCESS_DENIED", auth.REVOKED_SYSTEM)


# Times: exp is iat + 300 exactly, and not passed (JWT.feature).


def test_it_refuses_an_expired_token(rf, gpc_headers):
    # JWT.feature: "Consumer clock is slow 600s" => 400.
    iat = int(time.time()) - 600

    error = refusal(
        rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"iat": iat, "exp": iat + 300})
    )

    assert_refused(error, 400, "BAD_REQUEST", auth.EXPIRED)


@pytest.mark.parametrize("lifetime", [301, 299, -1, 3600])
def test_it_refuses_an_exp_that_is_not_five_minutes_after_iat(rf, gpc_headers, lifetime):
    iat = int(time.time())

    error = refusal(
        rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"iat": iat, "exp": iat + lifetime})
    )

    assert_refused(error, 400, "BAD_REQUEST", auth.WRONG_LIFETIME)


def test_it_refuses_an_iat_more_than_five_minutes_ahead(rf, gpc_headers):
    iat = int(time.time()) + 400

    error = refusal(
        rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"iat": iat, "exp": iat + 300})
    )

    assert_refused(error, 400, "BAD_REQUEST", auth.ISSUED_IN_FUTURE)


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_it_refuses_a_token_without_each_time(rf, gpc_headers, claim):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={claim: None}))

    assert_refused(error, 400, "BAD_REQUEST", auth.MISSING_CLAIM.format(claim=claim))


@pytest.mark.parametrize("value", ["1469436687", 1469436687.5, True])
def test_it_refuses_a_time_that_is_not_whole_seconds(rf, gpc_headers, value):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"iat": value}))

    assert_refused(error, 400, "BAD_REQUEST", auth.NOT_A_TIME.format(claim="iat"))


# The other claims: 400 BAD_REQUEST when missing or wrong.


def test_it_refuses_a_token_for_another_audience(rf, gpc_headers):
    headers = gpc_headers(
        SEARCH_FREE_SLOTS, claims_overrides={"aud": "https://other-provider.example.nhs.uk/fhir"}
    )

    error = refusal(rf, headers)

    assert_refused(
        error,
        400,
        "BAD_REQUEST",
        auth.WRONG_AUDIENCE.format(audience="http://testserver/gpconnect/fhir"),
    )


@pytest.mark.parametrize(
    "claim", ["aud", "reason_for_request", "requested_scope", "sub", "requesting_device"]
)
def test_it_refuses_a_token_without_each_claim(rf, gpc_headers, claim):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={claim: None}))

    assert_refused(error, 400, "BAD_REQUEST", auth.MISSING_CLAIM.format(claim=claim))


@pytest.mark.parametrize("claim", ["requesting_organization", "requesting_practitioner"])
def test_it_refuses_a_token_without_each_requester(rf, gpc_headers, claim):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={claim: None}))

    assert_refused(error, 400, "BAD_REQUEST", auth.MISSING_CLAIM.format(claim=claim))


def test_it_refuses_a_reason_other_than_direct_care(rf, gpc_headers):
    headers = gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"reason_for_request": "secondary"})

    error = refusal(rf, headers)

    assert_refused(error, 400, "BAD_REQUEST", auth.WRONG_REASON)


def test_it_refuses_a_scope_gp_connect_does_not_have(rf, gpc_headers):
    # JWT.feature: "Requested Scope - incorrect" ("badScope") => 400.
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, scope="badScope"))

    assert_refused(error, 400, "BAD_REQUEST", auth.UNKNOWN_SCOPE)


@pytest.mark.parametrize(
    ("interaction", "scope", "needed"),
    [
        (READ_APPOINTMENT, "patient/*.write", "patient/*.read"),
        (READ_APPOINTMENT, "organization/*.write", "patient/*.read"),
        (BOOK_APPOINTMENT, "patient/*.read", "patient/*.write"),
        (SEARCH_FREE_SLOTS, "patient/*.read", "organization/*.read"),
    ],
)
def test_it_refuses_a_scope_that_is_not_the_interactions(
    rf, gpc_headers, interaction, scope, needed
):
    # AppointmentRetrieve.feature: a write scope on a read => 400 BAD_REQUEST.
    error = refusal(rf, gpc_headers(interaction, scope=scope), interaction)

    assert_refused(error, 400, "BAD_REQUEST", auth.WRONG_SCOPE.format(scope=needed))


def test_it_refuses_a_sub_that_is_not_the_practitioner(rf, gpc_headers):
    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"sub": "10020"}))

    assert_refused(error, 400, "BAD_REQUEST", auth.SUB_NOT_PRACTITIONER)


# The requesting resources: 422 INVALID_RESOURCE when they are not what they say.


@pytest.mark.parametrize(
    ("claim", "resource_type"),
    [
        ("requesting_device", "Device"),
        ("requesting_organization", "Organization"),
        ("requesting_practitioner", "Practitioner"),
    ],
)
def test_it_refuses_a_requester_of_the_wrong_resource_type(
    rf, gpc_headers, gpc_claims, claim, resource_type
):
    # JWT.feature: "Resource Type - invalid" => 422.
    resource = {**gpc_claims(SEARCH_FREE_SLOTS)[claim], "resourceType": "Patient"}

    error = refusal(rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={claim: resource}))

    assert_refused(
        error,
        422,
        "INVALID_RESOURCE",
        auth.NOT_A_RESOURCE.format(claim=claim, resource_type=resource_type),
    )


def test_it_refuses_a_requester_that_is_no_resource_at_all(rf, gpc_headers):
    headers = gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_device": "Adastra"})

    error = refusal(rf, headers)

    assert_refused(
        error,
        422,
        "INVALID_RESOURCE",
        auth.NOT_A_RESOURCE.format(claim="requesting_device", resource_type="Device"),
    )


def test_it_refuses_a_device_with_an_element_devices_do_not_have(rf, gpc_headers, gpc_claims):
    # JWT.feature: "Requesting Device - invalid" (an invalidField added) => 422.
    device = {**gpc_claims(SEARCH_FREE_SLOTS)["requesting_device"], "invalidField": "x"}

    error = refusal(
        rf, gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_device": device})
    )

    assert_refused(
        error,
        422,
        "INVALID_RESOURCE",
        auth.UNKNOWN_ELEMENT.format(
            claim="requesting_device", resource_type="Device", name="invalidField"
        ),
    )


@pytest.mark.parametrize(
    "identifier",
    [
        [],
        [{"system": "https://example.com/Id/local", "value": "RYA"}],
        [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "R"}],
        [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RY A"}],
        [{"system": "https://fhir.nhs.uk/Id/ods-organization-code"}],
    ],
)
def test_it_refuses_an_organisation_without_an_ods_code(rf, gpc_headers, gpc_claims, identifier):
    organisation = {**gpc_claims(SEARCH_FREE_SLOTS)["requesting_organization"]}
    organisation["identifier"] = identifier

    error = refusal(
        rf,
        gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_organization": organisation}),
    )

    assert_refused(error, 422, "INVALID_RESOURCE", auth.NO_ODS_CODE)


@pytest.mark.parametrize("name", [None, "", "   ", "x" * 201])
def test_it_refuses_an_organisation_without_a_name(rf, gpc_headers, gpc_claims, name):
    organisation = {**gpc_claims(SEARCH_FREE_SLOTS)["requesting_organization"], "name": name}
    if name is None:
        del organisation["name"]

    error = refusal(
        rf,
        gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_organization": organisation}),
    )

    assert_refused(error, 422, "INVALID_RESOURCE", auth.NO_ORGANISATION_NAME)


def test_it_refuses_a_practitioner_without_an_id(rf, gpc_headers, gpc_claims):
    practitioner = {**gpc_claims(SEARCH_FREE_SLOTS)["requesting_practitioner"]}
    del practitioner["id"]

    error = refusal(
        rf,
        gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_practitioner": practitioner}),
    )

    assert_refused(error, 422, "INVALID_RESOURCE", auth.NO_PRACTITIONER_ID)


@pytest.mark.parametrize("name", [None, [], [{"given": ["Claire"]}], [{"family": ""}]])
def test_it_refuses_a_practitioner_without_a_name(rf, gpc_headers, gpc_claims, name):
    practitioner = {**gpc_claims(SEARCH_FREE_SLOTS)["requesting_practitioner"], "name": name}
    if name is None:
        del practitioner["name"]

    error = refusal(
        rf,
        gpc_headers(SEARCH_FREE_SLOTS, claims_overrides={"requesting_practitioner": practitioner}),
    )

    assert_refused(error, 422, "INVALID_RESOURCE", auth.NO_PRACTITIONER_NAME)
