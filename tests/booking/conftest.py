"""Fixtures for the booking tests."""

import pytest

from booking.notifications.sms import LocMemSmsBackend


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    """Texts "sent" by one test must not be seen by the next (the backend keeps a list)."""
    LocMemSmsBackend.outbox.clear()
    yield
    LocMemSmsBackend.outbox.clear()
