"""The systems allowed through the GP Connect door, each with the key its requests are signed
with."""

import base64
import hashlib
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Role, User

# NCSC and the NHS's approved cryptographic algorithms: RSA of at least 2048 bits, or ECDSA on
# P-256. Nothing weaker is accepted as a consumer's key.
MIN_RSA_BITS = 2048
BAD_KEY = (
    "Paste a PEM public key (-----BEGIN PUBLIC KEY-----): RSA of 2048 bits or more, or EC P-256."
)
WEAK_RSA_KEY = "This RSA key has {bits} bits; at least 2048 are needed."
WRONG_CURVE = "Only EC keys on P-256 (secp256r1) are accepted."
RSA_ALGORITHMS = ("RS256", "RS512")
EC_ALGORITHMS = ("ES256",)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@lru_cache(maxsize=256)
def load_public_key(pem: str) -> PublicKey:
    """The key in ``pem``, or ValidationError if it is not one we accept. Cached: every GP
    Connect request verifies with its system's key, and parsing it each time would be waste."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise ValidationError(BAD_KEY, code="bad_key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValidationError(WEAK_RSA_KEY.format(bits=key.key_size), code="weak_key")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValidationError(WRONG_CURVE, code="weak_key")
        return key
    raise ValidationError(BAD_KEY, code="bad_key")


def key_algorithms(key: PublicKey) -> tuple[str, ...]:
    """The JWT algorithms a key of this kind verifies: never "none", never an HMAC (whose
    "secret" would be this public key, known to anyone)."""
    return RSA_ALGORITHMS if isinstance(key, rsa.RSAPublicKey) else EC_ALGORITHMS


def key_fingerprint(pem: str) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, base64 as OpenSSH prints it: what an
    operator compares with the fingerprint the consumer's supplier sends by another channel."""
    key = load_public_key(pem)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


class ConsumerSystem(models.Model):
    """A system (NHS 111, another practice's system) that may call the GP Connect door, known
    by the JWT issuer it signs as and the public key it signs with."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, help_text="The system and who runs it.")
    client_id = models.CharField(
        "client ID (JWT issuer)",
        max_length=200,
        unique=True,
        help_text='The "iss" claim of its JWTs: the URL of its Spine endpoint.',
    )
    public_key = models.TextField(
        help_text="PEM public key its JWTs are signed with: RSA 2048+ bits or EC P-256."
    )
    asid = models.CharField(
        "ASID",
        max_length=20,
        blank=True,
        validators=[RegexValidator(r"^[0-9]+$", "An ASID is digits only.")],
        help_text="Its Spine ASID. When set, the Ssp-From header of its requests must equal it.",
    )
    # Whom it may book for: its JWT names the requesting organisation, and slots released to
    # an ODS code go to that code only, so an operator can hold a system to its own.
    organisations = ArrayField(
        models.CharField(max_length=10),
        default=list,
        blank=True,
        verbose_name="acts for (ODS codes)",
        help_text="The organisations its JWTs may name as requesting organisation, separated "
        "by commas (e.g. RYA for NHS 111 North West). Empty: any.",
    )
    is_active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who the system's bookings and audit rows are by: an inactive account that can never
    # sign in (no usable password, no memberships, not staff).
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, editable=False, related_name="gp_connect_system"
    )

    class Meta:
        verbose_name = "GP Connect consumer system"
        ordering = ["name"]
        constraints = [
            # A revoked system stays revoked: it cannot be active again with a revocation
            # date, whatever writes the row.
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | models.Q(is_active=False),
                name="gpconnect_revoked_is_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            if self.user_id is None:
                self.user = User.objects.create_user(
                    # .invalid never resolves (RFC 2606): no email can reach this account.
                    email=f"gpconnect-{self.id}@gpconnect.invalid",
                    password=None,
                    given_name="GP Connect",
                    family_name=self.name[:100],
                    role=Role.ADMIN,
                    is_staff=False,
                    is_active=False,
                )
            super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        try:
            load_public_key(self.public_key)
        except ValidationError as error:
            raise ValidationError({"public_key": error.messages}) from error
        # ODS codes are written in capitals, each once.
        self.organisations = sorted({code.strip().upper() for code in self.organisations} - {""})

    @property
    def key_fingerprint(self) -> str:
        try:
            return key_fingerprint(self.public_key)
        except ValidationError:
            return "(not a usable key)"

    def revoke(self, *, now: datetime | None = None) -> None:
        """Refuse every further request from this system; its past bookings and audit rows
        keep pointing at it."""
        if self.revoked_at is not None:
            return
        self.is_active = False
        self.revoked_at = now or timezone.now()
        self.save(update_fields=["is_active", "revoked_at"])
