"""Fixtures and named personas shared by the suite."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import cognito
from accounts.tokens import issue_tokens

from .factories import ClinicianFactory, PatientFactory, PracticeAdminFactory


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Throttle counters and fetched JWKS must not leak from one test into another.
    cache.clear()
    cognito.jwks_cache.clear()
    yield
    cache.clear()
    cognito.jwks_cache.clear()


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
    return client


@pytest.fixture
def alice(db):
    """Alice: a patient; owns the records under test."""
    return PatientFactory(email="alice@example.com", given_name="Alice", family_name="Smith")


@pytest.fixture
def bob(db):
    """Bob: another patient, who must never see Alice's data."""
    return PatientFactory(email="bob@example.com", given_name="Bob", family_name="Jones")


@pytest.fixture
def carol(db):
    """Carol: a clinician (staff, no patient profile)."""
    return ClinicianFactory(email="carol@example.com", given_name="Carol", family_name="Patel")


@pytest.fixture
def dave(db):
    """Dave: a practice administrator."""
    return PracticeAdminFactory(email="dave@example.com", given_name="Dave", family_name="Brown")
