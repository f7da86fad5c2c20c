"""RSA signing keys for our JWTs, and their public JWK form served at /.well-known/jwks.json.

Kept free of Django imports: settings modules call it before Django is configured.
"""

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def generate_private_key_pem() -> str:
    """A new 2048-bit RSA private key as PKCS#8 PEM text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


def load_or_create_dev_key(path: Path) -> str:
    """The local development key, created on first use so tokens survive restarts."""
    if path.exists():
        return path.read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_private_key_pem()
    path.write_text(pem)
    path.chmod(0o600)
    return pem


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@lru_cache(maxsize=8)
def public_jwk(key_pem: str) -> dict[str, Any]:
    """The public half of an RSA key (a private key's PEM, or a public key's) as a JWK whose
    ``kid`` is its RFC 7638 thumbprint."""
    public_key: Any
    if "PRIVATE KEY" in key_pem:
        private_key = serialization.load_pem_private_key(key_pem.encode(), password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("JWT keys must be RSA keys")
        public_key = private_key.public_key()
    else:
        public_key = serialization.load_pem_public_key(key_pem.encode())
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("JWT keys must be RSA keys")
    numbers = public_key.public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid, "alg": "RS256", "use": "sig"}
