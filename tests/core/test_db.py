"""Database helpers: which constraint an IntegrityError names."""

import pytest
from django.db import IntegrityError, transaction

from core.db import violated_constraint
from practices.models import Practice

pytestmark = pytest.mark.django_db


def test_an_integrity_error_names_the_constraint_postgresql_reports(riverside):
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        Practice.objects.filter(pk=riverside.pk).update(ods_code="bad")

    assert violated_constraint(info.value) == "practices_ods_code_format"


def test_a_unique_field_clash_names_its_index(riverside, hilltop):
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        Practice.objects.filter(pk=hilltop.pk).update(ods_code=riverside.ods_code)

    assert violated_constraint(info.value) == "practices_practice_ods_code_key"


def test_an_error_without_a_database_cause_names_nothing():
    assert violated_constraint(IntegrityError("raised by hand")) is None
