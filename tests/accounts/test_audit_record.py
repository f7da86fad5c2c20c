"""The record a view fills for the audit trail refuses fields it does not have."""

import pytest

from accounts.audit import AuditRecord


def test_a_misspelt_audit_field_is_an_error_not_a_lost_patient():
    record = AuditRecord(object_type="appointment")

    with pytest.raises(AttributeError):
        record.patinet = "a patient id"  # the typo this class exists to catch

    assert record.patient is None
