"""Production: every secret must come from the environment; a missing one stops start-up."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, DB_POOL, env

# Required: without the load balancer's subnets every client would share its few addresses,
# and one address's sign-in lock would lock everyone out. "none" when nothing stands in front.
env("TRUSTED_PROXY_NETWORKS")
if not DATABASES["default"]:
    raise ImproperlyConfigured("Set DATABASE_URL, or DB_HOST and DB_NAME, to name the database.")
# A console backend (the default when these are unset) would print patients' messages into
# the logs and send nothing.
for _name, _backend in (("EMAIL_BACKEND", EMAIL_BACKEND), ("SMS_BACKEND", SMS_BACKEND)):  # noqa: F405
    if "console" in _backend.lower():
        raise ImproperlyConfigured(f"Set {_name} to a real provider, not {_backend}.")

DEBUG = False
# No defaults: ECS injects these from Secrets Manager, and a missing one must fail loudly.
SECRET_KEY = env("DJANGO_SECRET_KEY")
# The signing key: JWT_PRIVATE_KEY, or a file named by JWT_PRIVATE_KEY_FILE (see base).
JWT_PRIVATE_KEY = JWT_PRIVATE_KEY or env.str("JWT_PRIVATE_KEY", multiline=True)  # noqa: F405
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
JWT_ISSUER = env("JWT_ISSUER")
SIMPLE_JWT = {**SIMPLE_JWT, "ISSUER": JWT_ISSUER}  # noqa: F405

CACHES = {"default": env.cache("CACHE_URL", default="dbcache://django_cache")}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405

# TLS ends at the load balancer, which tells us the original scheme in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Off only for a local container stack on plain http (docker compose).
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
if not DB_POOL:  # a pool wants CONN_MAX_AGE 0 (base.database_settings)
    # The writer's and the read replica's alike: a new TLS connection per request would cost
    # more than the search the replica serves.
    for _alias in DATABASES.values():
        _alias["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
