"""Which database errors mean "come back in a moment" (503) and which are bugs (500)."""

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.test import RequestFactory

from core.db import database_unreachable
from core.http.errors import server_error

pytestmark = pytest.mark.django_db


def test_a_statement_timeout_is_a_bug_to_fix_not_an_outage():
    with (
        pytest.raises(OperationalError) as info,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 10")
        cursor.execute("SELECT pg_sleep(1)")

    assert not database_unreachable(info.value)


def test_the_crash_handler_answers_500_for_a_refused_query():
    request = RequestFactory().get("/api/v1/practices")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 10")
            cursor.execute("SELECT pg_sleep(1)")
    except OperationalError:
        response = server_error(request)

    assert response.status_code == 500


def test_a_connection_that_cannot_be_made_is_unreachable():
    try:
        psycopg.connect("host=127.0.0.1 port=1 connect_timeout=1")
    except psycopg.OperationalError as cause:
        error = OperationalError(str(cause))
        error.__cause__ = cause

    assert database_unreachable(error)
