"""Throttles whose rates are read on each request, so settings changes apply at once."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings


class _CurrentRates:
    scope: str

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc


class ScopedRateThrottle(_CurrentRates, throttling.ScopedRateThrottle):
    """DRF's scoped throttle; keyed by user id, or by client IP for anonymous callers."""


class UserRateThrottle(_CurrentRates, throttling.UserRateThrottle):
    """Every signed-in user's requests, whatever the endpoint."""


class AnonRateThrottle(_CurrentRates, throttling.AnonRateThrottle):
    """Anonymous requests per client IP."""
