"""Who is calling the GP Connect door: the Spine headers and the bearer JWT of each request.

GP Connect's cross-organisation audit page has consumers send an *unsigned* JWT ("alg":
"none"): on the Spine the caller is proven by the Spine Secure Proxy's mutual TLS, and the JWT
only carries who asks for audit. This door is not behind the SSP, so the JWT is its only proof
of the caller: it must be signed (RS256, RS512 or ES256) by the key an operator registered for
the system its ``iss`` names (gpconnect.models.ConsumerSystem). Unsigned and HMAC tokens are
refused. Every other rule is the specification's, with its error codes:

- a missing or wrong Spine header, a malformed token, a missing claim or one with a wrong
  value: 400 BAD_REQUEST (error handling page, "Malformed request errors"; the provider
  assurance tests, JWT.feature and SSP.feature);
- a requesting_device, _organization or _practitioner that is not the FHIR resource it should
  be: 422 INVALID_RESOURCE ("Resource fails to validate against StructureDefinition (either in
  request body or in JWT claim)"; JWT.feature expects 422);
- a caller we cannot trust (no such system, revoked, bad signature, unsigned token, an
  Ssp-From that is not its ASID): 403 ACCESS_DENIED, the one Spine code for a refused caller
  (the SSP itself answers 403 to an unauthorised ASID).

Not done: refusing a replayed token (same iss and iat, or a jti). The specification has no jti,
and a token lives five minutes; the TLS in front of the door keeps tokens from being read.
"""

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from booking.services.rules import Organisation

from .errors import ACCESS_DENIED, BAD_REQUEST, INVALID_RESOURCE, FhirError, has_nul
from .models import ConsumerSystem, key_algorithms, load_public_key

# Where the FHIR endpoints are served: the default JWT audience is this URL on our own host.
SERVICE_ROOT_PATH = "/gpconnect/fhir"

_INTERACTION = "urn:nhs:names:services:gpconnect:fhir"
READ_METADATA = f"{_INTERACTION}:rest:read:metadata-1"
READ_PATIENT = f"{_INTERACTION}:rest:read:patient-1"
SEARCH_PATIENT = f"{_INTERACTION}:rest:search:patient-1"
READ_PRACTITIONER = f"{_INTERACTION}:rest:read:practitioner-1"
SEARCH_PRACTITIONER = f"{_INTERACTION}:rest:search:practitioner-1"
READ_ORGANIZATION = f"{_INTERACTION}:rest:read:organization-1"
SEARCH_ORGANIZATION = f"{_INTERACTION}:rest:search:organization-1"
READ_LOCATION = f"{_INTERACTION}:rest:read:location-1"
SEARCH_FREE_SLOTS = f"{_INTERACTION}:rest:search:slot-1"
READ_APPOINTMENT = f"{_INTERACTION}:rest:read:appointment-1"
BOOK_APPOINTMENT = f"{_INTERACTION}:rest:create:appointment-1"
AMEND_APPOINTMENT = f"{_INTERACTION}:rest:update:appointment-1"
CANCEL_APPOINTMENT = f"{_INTERACTION}:rest:cancel:appointment-1"
RETRIEVE_PATIENT_APPOINTMENTS = f"{_INTERACTION}:rest:search:patient_appointments-1"

PATIENT_READ = "patient/*.read"
PATIENT_WRITE = "patient/*.write"
ORGANIZATION_READ = "organization/*.read"
ORGANIZATION_WRITE = "organization/*.write"
SCOPES = frozenset({PATIENT_READ, PATIENT_WRITE, ORGANIZATION_READ, ORGANIZATION_WRITE})

# The requested_scope of each interaction, from the table of the JWT page ("When to use");
# the assurance tests refuse any other (AppointmentRetrieve.feature: 400 BAD_REQUEST).
REQUIRED_SCOPE: Mapping[str, str] = {
    READ_METADATA: ORGANIZATION_READ,
    READ_PATIENT: PATIENT_READ,
    SEARCH_PATIENT: PATIENT_READ,
    READ_PRACTITIONER: ORGANIZATION_READ,
    SEARCH_PRACTITIONER: ORGANIZATION_READ,
    READ_ORGANIZATION: ORGANIZATION_READ,
    SEARCH_ORGANIZATION: ORGANIZATION_READ,
    READ_LOCATION: ORGANIZATION_READ,
    SEARCH_FREE_SLOTS: ORGANIZATION_READ,
    READ_APPOINTMENT: PATIENT_READ,
    BOOK_APPOINTMENT: PATIENT_WRITE,
    AMEND_APPOINTMENT: PATIENT_WRITE,
    CANCEL_APPOINTMENT: PATIENT_WRITE,
    RETRIEVE_PATIENT_APPOINTMENTS: PATIENT_READ,
}

# "The expiration time SHALL be set to 5 minutes after the token creation time"; the assurance
# tests refuse 299 and 301 seconds alike.
TOKEN_LIFETIME_SECONDS = 300
# How far ahead of ours a consumer's clock may run: the assurance tests accept an iat 200 s in
# the future (gpconnect issue 188). Beyond this a token could be minted to last for days.
CLOCK_SKEW_SECONDS = 300
DIRECT_CARE = "directcare"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
# The system of GP Connect 0.x (RC5) consumers, which the assurance tests still accept.
LEGACY_ODS_SYSTEM = "http://fhir.nhs.net/Id/ods-organization-code"
SSP_HEADERS = ("Ssp-TraceID", "Ssp-From", "Ssp-To", "Ssp-InteractionID")

# What each refusal says (diagnostics). None repeats the token or a claim's value.
MISSING_HEADER = "The {header} header is missing."
BAD_TRACE_ID = "The Ssp-TraceID header must be a GUID."
NO_PROVIDER_ASID = "This provider has no ASID configured, so no Ssp-To can name it."
WRONG_SSP_TO = "The Ssp-To header does not name this provider's ASID."
WRONG_INTERACTION = "The Ssp-InteractionID header does not match this request: expected {expected}."
NO_BEARER = "The Authorization header must be 'Bearer' followed by a JWT."
MALFORMED_JWT = "The bearer token is not a well-formed JWT."
UNSIGNED_JWT = (
    "The JWT is not signed with an accepted algorithm. This provider accepts JWTs signed with "
    "RS256, RS512 or ES256 by the key registered for the consumer system; unsigned ('none') "
    "and HMAC-signed tokens are refused."
)
NO_ISS = "The JWT has no iss claim naming the consumer system."
UNKNOWN_SYSTEM = "No consumer system is registered for this JWT's issuer."
REVOKED_SYSTEM = "This consumer system's access has been revoked."
NOT_ITS_ORGANISATION = "This consumer system is not registered to act for {ods_code}."
WRONG_ALGORITHM = "The JWT's algorithm does not match the key registered for the consumer system."
BAD_SIGNATURE = "The JWT's signature does not verify with the key registered for its issuer."
WRONG_SSP_FROM = "The Ssp-From header is not the ASID registered for this consumer system."
MISSING_CLAIM = "The JWT has no {claim} claim."
NOT_A_TIME = "The JWT's {claim} claim must be a whole number of seconds since 1970."
WRONG_LIFETIME = "The JWT's exp must be exactly 300 seconds (5 minutes) after its iat."
EXPIRED = "The JWT has expired."
ISSUED_IN_FUTURE = "The JWT's iat is more than 5 minutes ahead of this provider's clock."
WRONG_AUDIENCE = "The JWT's aud claim must be this provider's service root URL, {audience}."
WRONG_REASON = "The JWT's reason_for_request claim must be 'directcare'."
UNKNOWN_SCOPE = (
    "The JWT's requested_scope claim must be one of patient/*.read, patient/*.write, "
    "organization/*.read or organization/*.write."
)
WRONG_SCOPE = "This interaction needs the requested_scope {scope}."
NOT_A_RESOURCE = "The JWT's {claim} claim must be a FHIR {resource_type} resource."
UNKNOWN_ELEMENT = "The JWT's {claim} claim has an element a {resource_type} does not have: {name}."
NO_ODS_CODE = (
    "The JWT's requesting_organization must have an identifier with system "
    "https://fhir.nhs.uk/Id/ods-organization-code and an ODS code as its value."
)
NO_ORGANISATION_NAME = (
    "The JWT's requesting_organization must have a name (at most 200 characters)."
)
NO_PRACTITIONER_ID = "The JWT's requesting_practitioner must have an id."
NO_PRACTITIONER_NAME = "The JWT's requesting_practitioner must have a name with a family name."
SUB_NOT_PRACTITIONER = "The JWT's sub claim must equal requesting_practitioner.id."

# The elements of the STU3 resources the claims carry: anything else fails validation against
# the resource's StructureDefinition (JWT.feature's "invalid Device" adds one and expects 422).
_RESOURCE = frozenset(
    {"resourceType", "id", "meta", "implicitRules", "language", "text", "contained"}
    | {"extension", "modifierExtension"}
)
_ELEMENTS = {
    "Device": _RESOURCE
    | {"identifier", "udi", "status", "type", "lotNumber", "manufacturer", "manufactureDate"}
    | {"expirationDate", "model", "version", "patient", "owner", "contact", "location", "url"}
    | {"note", "safety"},
    "Organization": _RESOURCE
    | {"identifier", "active", "type", "name", "alias", "telecom", "address", "partOf"}
    | {"contact", "endpoint"},
    "Practitioner": _RESOURCE
    | {"identifier", "active", "name", "telecom", "address", "gender", "birthDate", "photo"}
    | {"qualification", "communication"},
}
_ODS_CODE_LENGTHS = range(3, 11)


@dataclass(frozen=True)
class Consumer:
    """Who asked: the registered system, and the organisation and person its JWT names."""

    system: ConsumerSystem
    organisation: Organisation
    practitioner_id: str
    practitioner_name: str
    scope: str
    trace_id: str
    from_asid: str
    claims: Mapping[str, Any] = field(repr=False)


def authenticate(request: HttpRequest, *, interaction_id: str) -> Consumer:
    """The consumer behind ``request``, checked as the GP Connect interaction ``interaction_id``
    (one of REQUIRED_SCOPE's keys); FhirError says what is wrong when the request may not
    pass. Reads one row (the consumer system with its service user)."""
    if interaction_id not in REQUIRED_SCOPE:
        raise ValueError(f"Not a GP Connect interaction this door serves: {interaction_id}")
    ssp = _ssp_headers(request, interaction_id)
    token = _bearer_token(request)
    system, claims = _verified_claims(token)
    if system.asid and ssp["Ssp-From"] != system.asid:
        raise FhirError(ACCESS_DENIED, WRONG_SSP_FROM)
    _check_times(claims)
    _check_audience(request, claims)
    if claims.get("reason_for_request") is None:
        raise FhirError(BAD_REQUEST, MISSING_CLAIM.format(claim="reason_for_request"))
    if claims["reason_for_request"] != DIRECT_CARE:
        raise FhirError(BAD_REQUEST, WRONG_REASON)
    scope = _scope(claims, interaction_id)
    _resource(claims, "requesting_device", "Device")
    organisation = _organisation(_resource(claims, "requesting_organization", "Organization"))
    if system.organisations and organisation.ods_code not in system.organisations:
        raise FhirError(ACCESS_DENIED, NOT_ITS_ORGANISATION.format(ods_code=organisation.ods_code))
    practitioner = _resource(claims, "requesting_practitioner", "Practitioner")
    practitioner_id, practitioner_name = _practitioner(practitioner)
    if claims.get("sub") is None:
        raise FhirError(BAD_REQUEST, MISSING_CLAIM.format(claim="sub"))
    if claims["sub"] != practitioner_id:
        raise FhirError(BAD_REQUEST, SUB_NOT_PRACTITIONER)
    return Consumer(
        system=system,
        organisation=organisation,
        practitioner_id=practitioner_id,
        practitioner_name=practitioner_name,
        scope=scope,
        trace_id=ssp["Ssp-TraceID"],
        from_asid=ssp["Ssp-From"],
        claims=claims,
    )


_SERVICE_ROOT = re.compile(r"^/gpconnect/(?:[A-Za-z0-9]{3,10}/)?fhir(?=/|$)")


def service_root(request: HttpRequest) -> str:
    """The service root the request came through: ``/gpconnect/fhir`` (every practice on GP
    Connect) or ``/gpconnect/<ODS code>/fhir`` (one practice, as the Spine directory lists
    each practice's endpoint)."""
    match = _SERVICE_ROOT.match(request.path)
    return match.group(0) if match else SERVICE_ROOT_PATH


def service_root_url(request: HttpRequest) -> str:
    """The URL of the service root the request came through, on GPCONNECT_BASE_URL (or this
    host, as the request reached it): the ``aud`` its JWT must carry, and the base of the
    links we answer with."""
    base: str = settings.GPCONNECT_BASE_URL.rstrip("/")
    root = service_root(request)
    return base + root if base else request.build_absolute_uri(root)


def _ssp_headers(request: HttpRequest, interaction_id: str) -> dict[str, str]:
    values = {}
    for header in SSP_HEADERS:
        value = request.headers.get(header, "").strip()
        if not value:
            raise FhirError(BAD_REQUEST, MISSING_HEADER.format(header=header))
        values[header] = value
    try:
        uuid.UUID(values["Ssp-TraceID"])
    except ValueError:
        raise FhirError(BAD_REQUEST, BAD_TRACE_ID) from None
    provider_asid: str = settings.GPCONNECT_ASID
    if not provider_asid:
        raise FhirError(BAD_REQUEST, NO_PROVIDER_ASID)
    if values["Ssp-To"] != provider_asid:
        raise FhirError(BAD_REQUEST, WRONG_SSP_TO)
    if values["Ssp-InteractionID"] != interaction_id:
        raise FhirError(BAD_REQUEST, WRONG_INTERACTION.format(expected=interaction_id))
    return values


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    # The scheme is case-insensitive (RFC 7235); the token is one word.
    if scheme.lower() != "bearer" or not token or " " in token:
        raise FhirError(BAD_REQUEST, NO_BEARER)
    return token


def _verified_claims(token: str) -> tuple[ConsumerSystem, dict[str, Any]]:
    """The system that signed ``token``, and its claims once the signature holds."""
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise FhirError(BAD_REQUEST, MALFORMED_JWT) from None
    # An allow-list, checked before any key is touched: never "none", never HS256 with the
    # public key as its "secret".
    if algorithm not in ("RS256", "RS512", "ES256"):
        raise FhirError(ACCESS_DENIED, UNSIGNED_JWT)
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise FhirError(BAD_REQUEST, NO_ISS)
    # Text with a NUL in it reaches no query (PostgreSQL refuses NUL in text).
    if has_nul(unverified):
        raise FhirError(BAD_REQUEST, MALFORMED_JWT)
    system = ConsumerSystem.objects.select_related("user").filter(client_id=issuer).first()
    if system is None:
        raise FhirError(ACCESS_DENIED, UNKNOWN_SYSTEM)
    if not system.is_active or system.revoked_at is not None:
        raise FhirError(ACCESS_DENIED, REVOKED_SYSTEM)
    try:
        key = load_public_key(system.public_key)
    except ValidationError:  # a key that no longer loads: nothing it signs can be believed
        raise FhirError(ACCESS_DENIED, BAD_SIGNATURE) from None
    if algorithm not in key_algorithms(key):
        raise FhirError(ACCESS_DENIED, WRONG_ALGORITHM)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            # The signature only: every claim is checked below, each with its own answer.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
                "verify_sub": False,
                "verify_jti": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise FhirError(ACCESS_DENIED, BAD_SIGNATURE) from None
    except jwt.PyJWTError:
        raise FhirError(BAD_REQUEST, MALFORMED_JWT) from None
    return system, claims


def _seconds(claims: Mapping[str, Any], claim: str) -> int:
    value = claims.get(claim)
    if value is None:
        raise FhirError(BAD_REQUEST, MISSING_CLAIM.format(claim=claim))
    # JSON true is an int to Python; a time is not.
    if not isinstance(value, int) or isinstance(value, bool):
        raise FhirError(BAD_REQUEST, NOT_A_TIME.format(claim=claim))
    return value


def _check_times(claims: Mapping[str, Any]) -> None:
    expires, issued = _seconds(claims, "exp"), _seconds(claims, "iat")
    if expires - issued != TOKEN_LIFETIME_SECONDS:
        raise FhirError(BAD_REQUEST, WRONG_LIFETIME)
    now = dt.datetime.now(tz=dt.UTC).timestamp()
    # "the expiration time ... on and after which the JWT SHALL NOT be accepted"
    if now >= expires:
        raise FhirError(BAD_REQUEST, EXPIRED)
    if issued > now + CLOCK_SKEW_SECONDS:
        raise FhirError(BAD_REQUEST, ISSUED_IN_FUTURE)


def _check_audience(request: HttpRequest, claims: Mapping[str, Any]) -> None:
    audience = claims.get("aud")
    if audience is None or audience == "":
        raise FhirError(BAD_REQUEST, MISSING_CLAIM.format(claim="aud"))
    expected = service_root_url(request)
    if not isinstance(audience, str) or audience.rstrip("/") != expected:
        raise FhirError(BAD_REQUEST, WRONG_AUDIENCE.format(audience=expected))


def _scope(claims: Mapping[str, Any], interaction_id: str) -> str:
    scope = claims.get("requested_scope")
    if scope is None:
        raise FhirError(BAD_REQUEST, MISSING_CLAIM.format(claim="requested_scope"))
    if not isinstance(scope, str) or scope not in SCOPES:
        raise FhirError(BAD_REQUEST, UNKNOWN_SCOPE)
    if scope != REQUIRED_SCOPE[interaction_id]:
        raise FhirError(BAD_REQUEST, WRONG_SCOPE.format(scope=REQUIRED_SCOPE[interaction_id]))
    return str(scope)


def _resource(claims: Mapping[str, Any], claim: str, resource_type: str) -> Mapping[str, Any]:
    """The claim's FHIR resource: a missing claim is a malformed request (400), one that is no
    valid ``resource_type`` an invalid resource (422)."""
    resource = claims.get(claim)
    if resource is None:
        raise FhirError(BAD_REQUEST, MISSING_CLAIM.format(claim=claim))
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        raise FhirError(
            INVALID_RESOURCE, NOT_A_RESOURCE.format(claim=claim, resource_type=resource_type)
        )
    unknown = sorted(set(resource) - _ELEMENTS[resource_type])
    if unknown:
        raise FhirError(
            INVALID_RESOURCE,
            # The element's name only, and only so much of it.
            UNKNOWN_ELEMENT.format(claim=claim, resource_type=resource_type, name=unknown[0][:40]),
        )
    return resource


def _organisation(resource: Mapping[str, Any]) -> Organisation:
    identifiers = resource.get("identifier")
    ods_codes = [
        identifier.get("value")
        for identifier in (identifiers if isinstance(identifiers, list) else [])
        if isinstance(identifier, dict)
        and identifier.get("system") in (ODS_SYSTEM, LEGACY_ODS_SYSTEM)
    ]
    ods_code = ods_codes[0] if ods_codes else None
    if (
        not isinstance(ods_code, str)
        or len(ods_code) not in _ODS_CODE_LENGTHS
        or not ods_code.isascii()
        or not ods_code.isalnum()
    ):
        raise FhirError(INVALID_RESOURCE, NO_ODS_CODE)
    name = resource.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise FhirError(INVALID_RESOURCE, NO_ORGANISATION_NAME)
    # ODS codes are upper case; the organisation type comes with the slot search, not here.
    return Organisation(ods_code=ods_code.upper(), name=name.strip())


def _practitioner(resource: Mapping[str, Any]) -> tuple[str, str]:
    """The practitioner's id and name as people read it ("Dr Claire Jones")."""
    practitioner_id = resource.get("id")
    if not isinstance(practitioner_id, str) or not practitioner_id:
        raise FhirError(INVALID_RESOURCE, NO_PRACTITIONER_ID)
    names = resource.get("name")
    name = names[0] if isinstance(names, list) and names else None
    if not isinstance(name, dict) or not isinstance(name.get("family"), str | list):
        raise FhirError(INVALID_RESOURCE, NO_PRACTITIONER_NAME)
    # STU3 has one family name; a DSTU2-shaped list of them is read as well.
    family = name["family"] if isinstance(name["family"], list) else [name["family"]]
    parts = [*_strings(name.get("prefix")), *_strings(name.get("given")), *_strings(family)]
    if not _strings(family):
        raise FhirError(INVALID_RESOURCE, NO_PRACTITIONER_NAME)
    return practitioner_id, " ".join(parts)[:200]


def _strings(value: object) -> list[str]:
    return [
        part.strip()
        for part in (value if isinstance(value, list) else [])
        if isinstance(part, str) and part.strip()
    ]
