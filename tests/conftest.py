"""Fixtures and named personas shared by the suite.

Riverside Surgery (A81001) is the practice under test; Hilltop (B82002) is another practice.
"""

import uuid
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import cognito
from accounts.authentication import forget_verified_tokens
from accounts.tokens import issue_tokens

from .factories import (
    ClinicianFactory,
    ClinicianUserFactory,
    MembershipFactory,
    PatientFactory,
    PracticeAdminFactory,
    PracticeFactory,
)


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Throttle counters, fetched JWKS and verified tokens must not leak from one test into
    # another.
    cache.clear()
    cognito.jwks_cache.clear()
    forget_verified_tokens()
    yield
    cache.clear()
    cognito.jwks_cache.clear()
    forget_verified_tokens()


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
THROTTLE_COUNTER = "INSERT INTO accounts_ratecounter"
THROTTLE_PURGE = "DELETE FROM accounts_ratecounter"


@pytest.fixture
def assert_statements():
    """``with assert_statements(n):`` the endpoint's own SQL is exactly ``n`` statements.

    The shared throttle's counter (core.http.throttling), one upsert on every throttled
    request, is asserted on its own: exactly one (or none with ``throttled=False``).
    Transaction control (BEGIN, COMMIT, savepoints) is not counted.
    """

    @contextmanager
    def check(n: int, *, throttled: bool = True):  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as captured:
            yield
        sql = [q["sql"].strip() for q in captured.captured_queries]
        sql = [s for s in sql if not s.startswith(TRANSACTION_CONTROL)]
        throttle = [s for s in sql if s.startswith(THROTTLE_COUNTER)]
        # One request in PURGE_ONE_IN also clears old counters: the throttle's too, not the
        # endpoint's (it made this test fail once in a thousand runs).
        own = [s for s in sql if not s.startswith((THROTTLE_COUNTER, THROTTLE_PURGE))]
        assert len(throttle) == int(throttled), throttle
        assert len(own) == n, "\n".join(s[:120] for s in own)

    return check


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(user=user).access}")
    return client


@pytest.fixture
def riverside(db):
    """The practice under test."""
    return PracticeFactory(ods_code="A81001", name="Riverside Surgery", postcode="LS1 4AP")


@pytest.fixture
def hilltop(db):
    """Another practice, whose staff must not act on Riverside's data."""
    return PracticeFactory(ods_code="B82002", name="Hilltop Health Centre", postcode="M1 1AE")


@pytest.fixture
def alice(riverside):
    """Alice: a patient registered at Riverside; owns the records under test."""
    return PatientFactory(
        email="alice@example.com",
        given_name="Alice",
        family_name="Smith",
        profile__registered_practice=riverside,
    )


@pytest.fixture
def bob(riverside):
    """Bob: another patient at Riverside, who must never see Alice's data."""
    return PatientFactory(
        email="bob@example.com",
        given_name="Bob",
        family_name="Jones",
        profile__registered_practice=riverside,
    )


@pytest.fixture
def carol(riverside):
    """Carol: a GP at Riverside (staff, no patient profile)."""
    user = ClinicianUserFactory(email="carol@example.com", given_name="Carol", family_name="Patel")
    ClinicianFactory(user=user, display_name="Dr C Patel", practice=riverside)
    return user


@pytest.fixture
def dave(riverside):
    """Dave: Riverside's practice administrator."""
    user = PracticeAdminFactory(email="dave@example.com", given_name="Dave", family_name="Brown")
    MembershipFactory(practice=riverside, user=user)
    return user


@pytest.fixture
def erin(hilltop):
    """Erin: Hilltop's practice administrator: staff, but of another practice."""
    user = PracticeAdminFactory(email="erin@example.com", given_name="Erin", family_name="Wood")
    MembershipFactory(practice=hilltop, user=user)
    return user


@pytest.fixture
def scratch_database_url():
    """A new, empty database on the test server, dropped afterwards: for the servers and
    commands a test starts in processes of their own."""
    db = connection.settings_dict
    server = {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
    }
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(db["USER"] or "", safe="") + (
        ":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else ""
    )
    host = quote(db["HOST"] or "localhost", safe="")
    yield f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
