"""Test settings: fast hashing, in-memory mail and cache, a throwaway signing key, and the
private PostgreSQL (core.localdb) unless DATABASE_URL names a server."""

from core.keys import generate_private_key_pem

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK, database_from_url, database_settings

if not DATABASES["default"]:
    from core import localdb

    DATABASES = {"default": database_settings(database_from_url(localdb.database_url()))}

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "booking.notifications.sms.LocMemSmsBackend"
DEFAULT_FROM_EMAIL = "GP Booking <no-reply@gp-booking.test>"
EMAIL_MESSAGE_ID_DOMAIN = "gp-booking.test"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

JWT_PRIVATE_KEY = generate_private_key_pem()
JWT_ISSUER = "http://testserver"
SIMPLE_JWT = {**SIMPLE_JWT, "ISSUER": JWT_ISSUER}  # noqa: F405

# Throttles stay on in tests (they are behaviour under test) but high enough that only the
# tests that aim at them trip them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        "user": "100000/min",
        "anon": "100000/min",
        "login": "1000/min",
        "register": "1000/min",
        "refresh": "1000/min",
        "account_email": "1000/min",
        "gpconnect": "100000/min",
        "gpconnect_refused": "100000/min",
    },
}

# Tests make demo data on purpose (with DEBUG off, like production).
ALLOW_DEMO_DATA = True

# Cognito stays off unless a test configures it.
COGNITO_REGION = ""
COGNITO_USER_POOL_ID = ""
COGNITO_APP_CLIENT_IDS = []

# No collected static files in tests (WhiteNoise would warn that the folder is missing).
STATIC_ROOT = None
