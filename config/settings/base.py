"""Settings shared by every environment; each value comes from the environment.

Safe defaults only: anything that would be unsafe in production (DEBUG, a known secret key)
is switched on in ``local.py``, never here.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ
import redis
from botocore.config import Config
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# Opt-in, so a stray .env can never change what tests or servers see; real environment
# variables always win over it.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=None)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    # First, so its admin/base_site.html (our stylesheet on every staff page) is found
    # before Django's own.
    "core",
    "accounts.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "practices",
    "booking",
    "gpconnect",
    "datasets",
]

MIDDLEWARE = [
    "core.http.request_id.RequestIdMiddleware",
    # Outside the limits, so their 413 and 414 answers are not cached either.
    "core.http.caching.ApiCacheControlMiddleware",
    "core.http.limits.RequestLimitsMiddleware",
    # Before host validation and the HTTPS redirect, so load balancer probes by task IP over
    # plain HTTP are answered rather than refused.
    "core.http.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files straight from the app container (compressed, cache-busted names).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.admin_site.AdminTimezoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, Any]:
    config = env.db_url_config(url)
    # A unix-socket directory arrives percent-encoded as the URL's host.
    config["HOST"] = unquote(config["HOST"])
    return config


# Measured under gunicorn (README, Performance): see database_settings.
DB_POOL = env.bool("DB_POOL", default=False)


def database_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The connection settings every environment shares, around ``config``'s server.

    A worker keeps its connection for DB_CONN_MAX_AGE seconds (production: 60), or, with
    DB_POOL, borrows one from a psycopg pool of its own per request (Django then wants
    CONN_MAX_AGE 0). Either way no request pays for a new connection."""
    options: dict[str, Any] = {
        **config.get("OPTIONS", {}),
        # No query may run away with a connection: 5 s by default (0 turns it off, e.g. for a
        # migration that builds an index on a large table).
        "options": f"-c statement_timeout={env.int('DB_STATEMENT_TIMEOUT_MS', default=5000)}",
        # Parameters bound by the server (prepared statements) rather than quoted by psycopg.
        "server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=False),
    }
    if DB_POOL:
        # One connection per synchronous worker is all it can use; a second covers a
        # connection being replaced.
        options["pool"] = {"min_size": 1, "max_size": 2, "timeout": 10}
    return {
        **config,
        "CONN_MAX_AGE": 0 if DB_POOL else env.int("DB_CONN_MAX_AGE", default=0),
        # A "SELECT 1" before the first query of each request that reuses a connection: a
        # round trip per request, which DB_CONN_HEALTH_CHECKS=false saves where connections
        # are not cut behind our back.
        "CONN_HEALTH_CHECKS": env.bool("DB_CONN_HEALTH_CHECKS", default=True),
        "ATOMIC_REQUESTS": False,
        "OPTIONS": options,
    }


# PostgreSQL only. DATABASE_URL (CI, compose, a developer's own server), or on ECS the parts,
# the password from the RDS-managed secret. With neither, DATABASES is left empty here: the
# local and test settings start a private server (core.localdb), production refuses to start.
if "DATABASE_URL" in env.ENVIRON:
    DATABASES = {"default": database_settings(database_from_url(env("DATABASE_URL")))}
elif env("DB_HOST", default=""):
    _parts: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env("DB_HOST"),
        "PORT": env.int("DB_PORT", default=5432),
        "NAME": env("DB_NAME"),
        "USER": env("DB_USER", default=""),
        "PASSWORD": env("DB_PASSWORD", default=""),
        "OPTIONS": {"sslmode": env("DB_SSLMODE", default="require")},
    }
    if env("DB_PASSWORD_SECRET_ARN", default=""):
        # Follows RDS password rotation (core/db_backends/postgresql).
        _parts["ENGINE"] = "core.db_backends.postgresql"
        _parts["PASSWORD_SECRET_ARN"] = env("DB_PASSWORD_SECRET_ARN")
    DATABASES = {"default": database_settings(_parts)}
else:
    DATABASES = {"default": {}}
# A read replica (RDS read replica, Aurora reader endpoint) for the reads that may lag a
# moment (core.db.replica_reads: the availability search). Empty: everything reads the writer.
if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **database_settings(database_from_url(env("DATABASE_REPLICA_URL"))),
        # Tests read the writer under the replica's name.
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.db.ReplicaRouter"]

# Largest request body accepted (API requests are small JSON documents).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# Path plus query string; longer is a 414 (no legitimate request comes near it).
MAX_URL_LENGTH = 4096
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

# Cognito's default policy (8+ characters with upper, lower, digit and symbol) plus Django's
# similarity and common-password checks.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "given_name", "family_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "accounts.passwords.CharacterClassesValidator"},
]

LANGUAGE_CODE = "en-gb"
# One date format everywhere staff read dates: "Mon 30 Nov 2026, 14:30" (config/formats).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# None where nothing is collected (local and test settings).
STATIC_ROOT: Path | None = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The web and mobile frontends call the API from their own origins.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Request-ID", "Idempotent-Replayed"]
CORS_ALLOW_HEADERS = [
    "accept", "authorization", "content-type", "idempotency-key", "if-match", "x-request-id",
]  # fmt: skip

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    # Deny by default: every view states who may call it.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.http.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.http.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.http.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.http.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.http.errors.exception_handler",
    # Per user (signed in) and per client IP (anonymous), counted in the shared cache so the
    # limits hold across all gunicorn workers and tasks.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.http.throttling.UserRateThrottle",
        "core.http.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("THROTTLE_USER_RATE", default="600/min"),
        "anon": env("THROTTLE_ANON_RATE", default="120/min"),
        "login": env("THROTTLE_LOGIN_RATE", default="10/min"),
        "register": env("THROTTLE_REGISTER_RATE", default="5/min"),
        "refresh": env("THROTTLE_REFRESH_RATE", default="30/min"),
        # Email verification and password reset, per client address.
        "account_email": env("THROTTLE_ACCOUNT_EMAIL_RATE", default="5/min"),
        # GP Connect requests per consumer system (an NHS 111 service books for a region).
        "gpconnect": env("THROTTLE_GPCONNECT_RATE", default="1200/min"),
        # GP Connect requests refused before any consumer was identified, per client address.
        "gpconnect_refused": env("THROTTLE_GPCONNECT_REFUSED_RATE", default="60/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# A Redis for the rate-limit counters (redis://, or rediss:// with TLS); empty: they are kept
# in the database (core.http.throttling). Keys start with the prefix (one Redis, many stacks).
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # Refused here, not on the first request (where it would fail every request).
    try:
        redis.connection.parse_url(REDIS_URL)
    except ValueError as _error:
        raise ImproperlyConfigured(f"REDIS_URL: {_error}") from _error
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="gp-booking")

# The load balancer's subnets (CIDRs): only a request from there has its X-Forwarded-For
# believed, for throttles and audit rows (core.http.client). Empty: nobody's is.
TRUSTED_PROXY_NETWORKS = [
    cidr
    for cidr in env.list("TRUSTED_PROXY_NETWORKS", default=[])
    if cidr.strip().lower() != "none"
]
for _cidr in TRUSTED_PROXY_NETWORKS:
    try:
        ipaddress.ip_network(_cidr.strip(), strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(f"TRUSTED_PROXY_NETWORKS: {_error}") from _error

# Every page (the admin, the API docs) loads only our own scripts, styles and fonts: no inline
# script, no third-party host. JSON answers carry the header too, harmlessly.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "GP Booking API",
    "DESCRIPTION": (
        "Appointment booking for NHS GP practices.\n\n"
        "**Other NHS services (NHS 111, urgent treatment centres, other practices)** book "
        "through a second door onto the same booking core: GP Connect Appointment Management "
        "1.2.7 (FHIR STU3) at `/gpconnect/fhir/`. It is not described here: its "
        "CapabilityStatement is `GET /gpconnect/fhir/metadata` (a signed GP Connect JWT and "
        "the `Ssp-*` headers are required, as on every interaction), and README.md's "
        '"GP Connect" section lists its interactions.'
    ),
    "EXTERNAL_DOCS": {
        "description": "GP Connect Appointment Management 1.2.7, the specification we serve",
        "url": "https://developer.nhs.uk/apis/gpconnect-1-2-7/appointments.html",
    },
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI's files from the drf-spectacular-sidecar package, pinned by uv.lock: the docs
    # work offline and load nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for a choice set used by several fields (a slot's channel, a waiting
    # patient's channels).
    "ENUM_NAME_OVERRIDES": {"ChannelEnum": "practices.models.Channel"},
}

# Repeated failed logins lock the email address (known or not, so the lock reveals nothing).
# Cookie sessions (the patient pages and the admin): they end after SESSION_IDLE_MINUTES
# without a request, each request moving the end on, as NHS services sign out an idle user.
# HttpOnly and SameSite=Lax always; Secure in production (production.py).
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=60)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "core.http.errors.csrf_failure"
# Where a page for signed-in patients sends everyone else.
LOGIN_URL = "account-pages:sign-in"

LOGIN_LOCKOUT_THRESHOLD = env.int("LOGIN_LOCKOUT_THRESHOLD", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
# Failures from one client address within one lock period that lock it: higher
# than per account, because a practice's whole reception may share one address.
LOGIN_LOCKOUT_ADDRESS_THRESHOLD = env.int("LOGIN_LOCKOUT_ADDRESS_THRESHOLD", default=20)

# Tokens shaped like Amazon Cognito's, signed with RS256. The private key is a PEM string;
# local and test settings generate one, production refuses to start without it.
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", multiline=True, default="")
# Or a file holding it (a mounted secret); JWT_PRIVATE_KEY wins when both are set.
JWT_PRIVATE_KEY_FILE = env("JWT_PRIVATE_KEY_FILE", default="")
if not JWT_PRIVATE_KEY and JWT_PRIVATE_KEY_FILE:
    JWT_PRIVATE_KEY = Path(JWT_PRIVATE_KEY_FILE).read_text()
# After a key rotation, the key before (its PEM, private or public: only the public half is
# used). Tokens it signed still verify, and the JWKS lists it, until it is removed: keep it at
# least as long as a refresh token lives (JWT_REFRESH_TOKEN_DAYS). docs/operations.md.
JWT_PREVIOUS_KEY = env.str("JWT_PREVIOUS_KEY", multiline=True, default="")
if JWT_PREVIOUS_KEY.strip().lower() == "none":  # a secret cannot be empty: "none" says so
    JWT_PREVIOUS_KEY = ""
JWT_ISSUER = env("JWT_ISSUER", default="http://localhost:8000")
# Where the links in account emails (verify an address, reset a password) point: the site
# serving /account/verify-email and /account/reset-password. Default: this service itself.
ACCOUNT_LINK_BASE_URL = env("ACCOUNT_LINK_BASE_URL", default=JWT_ISSUER)
EMAIL_VERIFICATION_HOURS = env.int("EMAIL_VERIFICATION_HOURS", default=48)
# Django's own setting, in seconds; a reset link is short-lived.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_MINUTES", default=60) * 60
JWT_CLIENT_ID = env("JWT_CLIENT_ID", default="gp-booking-web")
JWT_ACCESS_TOKEN_MINUTES = env.int("JWT_ACCESS_TOKEN_MINUTES", default=15)
JWT_REFRESH_TOKEN_DAYS = env.int("JWT_REFRESH_TOKEN_DAYS", default=7)
# How many verified access tokens (with their users) each worker keeps, least recently used
# out first: a token seen again skips the signature check and the user's load.
AUTH_TOKEN_CACHE_SIZE = env.int("AUTH_TOKEN_CACHE_SIZE", default=4096)

SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_TOKEN_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_TOKEN_DAYS),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ISSUER": JWT_ISSUER,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    # Cognito names the token kind in "token_use"; an ID token therefore never passes as an
    # access token.
    "TOKEN_TYPE_CLAIM": "token_use",
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.AccessToken",),
}

# GP Connect (gpconnect/): this provider's Spine ASID, which the Ssp-To header of every request
# must name. Empty (the default): the door refuses every request until one is configured.
GPCONNECT_ASID = env("GPCONNECT_ASID", default="")
# Where consumers reach us (https://gpb.example.nhs.uk): a JWT's "aud" must be this followed by
# the service root the request used, /gpconnect/fhir (every practice) or /gpconnect/<ODS>/fhir
# (one practice), as the Spine directory lists it. Empty (the default): as the request reached
# this host.
GPCONNECT_BASE_URL = env("GPCONNECT_BASE_URL", default="")

# Accept access tokens from a real Cognito user pool when these are set.
COGNITO_REGION = env("COGNITO_REGION", default="")
COGNITO_USER_POOL_ID = env("COGNITO_USER_POOL_ID", default="")
COGNITO_APP_CLIENT_IDS = env.list("COGNITO_APP_CLIENT_IDS", default=[])
COGNITO_JWKS_CACHE_SECONDS = env.int("COGNITO_JWKS_CACHE_SECONDS", default=3600)

# Background work (notifications) runs through django-tasks with its database backend:
# `manage.py notifications_worker` is the worker (django-tasks' db_worker, outage-proof).
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "notifications", "waiting_list"],
    }
}

# Notifications. Email through Django's email backends (django-ses in production); SMS through
# booking.notifications.sms backends (SNS in production).
EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="booking.notifications.email_backends.RedactedConsoleEmailBackend"
)
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# Every provider call gives up well inside the notification lease (delivery.STALE_SENDING).
EMAIL_TIMEOUT = 20
AWS_SES_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 2})
# Where the file backends write (local runs: booking...PlainFileEmailBackend).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / ".local" / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="GP Booking <no-reply@gp-booking.example>")
EMAIL_MESSAGE_ID_DOMAIN = env("EMAIL_MESSAGE_ID_DOMAIN", default="gp-booking.local")
SMS_BACKEND = env("SMS_BACKEND", default="booking.notifications.sms.ConsoleSmsBackend")
SMS_SENDER_ID = env("SMS_SENDER_ID", default="")
AWS_REGION = env("AWS_REGION", default="eu-west-2")
AWS_SES_REGION_NAME = env("AWS_SES_REGION_NAME", default=AWS_REGION)
AWS_SES_REGION_ENDPOINT = env(
    "AWS_SES_REGION_ENDPOINT", default=f"email.{AWS_SES_REGION_NAME}.amazonaws.com"
)

# `manage.py seed_data` creates accounts with a published password; with DEBUG off it runs
# only when this says so (demo and test deployments).
ALLOW_DEMO_DATA = env.bool("ALLOW_DEMO_DATA", default=False)

LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.http.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
