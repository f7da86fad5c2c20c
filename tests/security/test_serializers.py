"""Write serializers accept no privileged field: each refuses them by name."""

import pytest

from accounts.api.serializers import (
    LoginInputSerializer,
    ProfileUpdateSerializer,
    RefreshInputSerializer,
    RegisterInputSerializer,
)
from booking.api.serializers import (
    AmendSerializer,
    BookBySlotSerializer,
    BookByTimeSerializer,
    CancelSerializer,
    OutcomeSerializer,
    RescheduleToSlotSerializer,
    RescheduleToTimeSerializer,
)

PRIVILEGED = ["role", "is_staff", "is_superuser", "status", "booked_by", "version", "reference",
              "cancelled_at", "registered_practice", "patient", "id"]  # fmt: skip

WRITE_SERIALIZERS = [
    RegisterInputSerializer,
    ProfileUpdateSerializer,
    LoginInputSerializer,
    RefreshInputSerializer,
    BookBySlotSerializer,
    BookByTimeSerializer,
    AmendSerializer,
    RescheduleToSlotSerializer,
    RescheduleToTimeSerializer,
    CancelSerializer,
    OutcomeSerializer,
]


@pytest.mark.parametrize("serializer", WRITE_SERIALIZERS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("field", PRIVILEGED)
def test_a_privileged_field_is_refused_by_name(serializer, field):
    if serializer is RegisterInputSerializer and field == "role":
        # The original API's contract sends "role": "patient"; any other value is refused by
        # the service (tests/accounts/test_register.py).
        return
    if field in serializer().fields and not serializer().fields[field].read_only:
        pytest.fail(f"{serializer.__name__} accepts {field}")

    data = serializer(data={field: "x"}, partial=True)

    assert not data.is_valid()
    assert field in data.errors
