"""For mypy's Django plugin: the app registry without a database or secrets to start."""

from .base import *  # noqa: F403

SECRET_KEY = "typecheck-only-not-secret"  # noqa: S105
