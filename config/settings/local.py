"""Developer machine: DEBUG on, a private PostgreSQL unless DATABASE_URL is set, a signing
key generated on first run."""

from core.keys import load_or_create_dev_key

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, database_from_url, database_settings, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")  # noqa: S105

if not DATABASES["default"]:
    from core import localdb

    DATABASES = {"default": database_settings(database_from_url(localdb.database_url()))}

JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", multiline=True, default="") or (
    load_or_create_dev_key(BASE_DIR / ".local" / "jwt-signing-key.pem")
)

# A made-up ASID, so the GP Connect door opens locally (manage.py gpconnect_headers); a real
# one comes from NHS England's onboarding.
GPCONNECT_ASID = env("GPCONNECT_ASID", default="900000000001")

# runserver serves static files from the apps; nothing is collected locally.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# Emails are files a developer can open (the links in them work against this server), unless
# EMAIL_BACKEND names something else (docker compose sends them to Mailpit).
EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="booking.notifications.email_backends.PlainFileEmailBackend"
)

# Browser apps under development (Vite on 5173, Create React App and Next.js on 3000) may call
# the API; elsewhere CORS_ALLOWED_ORIGINS names the frontends (default: none).
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS",
    default=[
        f"http://{host}:{port}" for host in ("localhost", "127.0.0.1") for port in (5173, 3000)
    ],
)
