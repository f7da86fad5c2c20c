"""Headers for calling the GP Connect door by hand on a developer's machine, as a demo consumer
("Demo NHS 111") would send them: the Ssp-* headers and a JWT signed with its key.

    uv run python manage.py gpconnect_headers slot > .local/gpc.headers
    curl -H @.local/gpc.headers "http://localhost:8000/gpconnect/fhir/Slot?..."

The demo consumer system and its private key (.local/gpconnect-demo-key.pem) are made on first
use. Only with DEBUG on: a consumer whose private key sits on the server would be a back door.
"""

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gpconnect.auth import REQUIRED_SCOPE, SERVICE_ROOT_PATH
from gpconnect.models import ConsumerSystem

DEMO_CLIENT_ID = "https://demo-111.gp-booking.invalid/"
DEMO_ASID = "918999198993"
# Short names for the interactions a developer tries by hand.
SHORT_NAMES = {
    "metadata": "read:metadata-1",
    "patient": "search:patient-1",
    "slot": "search:slot-1",
    "book": "create:appointment-1",
    "read": "read:appointment-1",
    "amend": "update:appointment-1",
    "cancel": "cancel:appointment-1",
    "appointments": "search:patient_appointments-1",
}


def _demo_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def demo_consumer(key: rsa.RSAPrivateKey) -> ConsumerSystem:
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    system, _ = ConsumerSystem.objects.update_or_create(
        client_id=DEMO_CLIENT_ID,
        defaults={
            "name": "Demo NHS 111 (this machine only)",
            "asid": DEMO_ASID,
            "public_key": public,
        },
    )
    return system


def demo_claims(system: ConsumerSystem, interaction_id: str, audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": system.client_id,
        "sub": "demo-clinician",
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "reason_for_request": "directcare",
        "requested_scope": REQUIRED_SCOPE[interaction_id],
        "requesting_device": {
            "resourceType": "Device",
            "identifier": [{"system": DEMO_CLIENT_ID + "Id/device", "value": "demo"}],
            "model": "curl",
            "version": "1",
        },
        "requesting_organization": {
            "resourceType": "Organization",
            "identifier": [
                {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RYA"}
            ],
            "name": "Demo NHS 111",
        },
        "requesting_practitioner": {
            "resourceType": "Practitioner",
            "id": "demo-clinician",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "UNK"}],
            "name": [{"family": "Jones", "given": ["Claire"], "prefix": ["Dr"]}],
        },
    }


class Command(BaseCommand):
    help = "Print GP Connect request headers of a demo consumer (DEBUG only), for curl -H @file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("interaction", choices=sorted(SHORT_NAMES))
        parser.add_argument("--base-url", default="http://localhost:8000")
        parser.add_argument(
            "--practice", help="An ODS code: for that practice's root, /gpconnect/<ODS>/fhir"
        )

    def handle(
        self, *args: Any, interaction: str, base_url: str, practice: str | None, **options: Any
    ) -> None:
        if not settings.DEBUG:
            raise CommandError("Only for a developer's machine (DEBUG on).")
        if not settings.GPCONNECT_ASID:
            raise CommandError("Set GPCONNECT_ASID (the local settings give one).")
        interaction_id = f"urn:nhs:names:services:gpconnect:fhir:rest:{SHORT_NAMES[interaction]}"
        key = _demo_key(Path(settings.BASE_DIR) / ".local" / "gpconnect-demo-key.pem")
        system = demo_consumer(key)
        root = f"/gpconnect/{practice}/fhir" if practice else SERVICE_ROOT_PATH
        audience = (settings.GPCONNECT_BASE_URL or base_url).rstrip("/") + root
        token = jwt.encode(demo_claims(system, interaction_id, audience), key, algorithm="RS256")
        headers = {
            "Authorization": f"Bearer {token}",
            "Ssp-TraceID": str(uuid.uuid4()),
            "Ssp-From": DEMO_ASID,
            "Ssp-To": settings.GPCONNECT_ASID,
            "Ssp-InteractionID": interaction_id,
            "Accept": "application/fhir+json",
            "Content-Type": "application/fhir+json",
        }
        for name, value in headers.items():
            self.stdout.write(f"{name}: {value}")
