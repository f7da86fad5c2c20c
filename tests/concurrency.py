"""Run the same call from many threads at once, each on its own database connection."""

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connection

T = TypeVar("T")

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers, so there is no race to test",
)


def run_concurrently(call: Callable[[], T], *, times: int) -> list[T | BaseException]:
    """Start ``times`` threads that call ``call`` together; return each result or exception."""
    barrier = threading.Barrier(times)
    results: list[T | BaseException] = [None] * times  # type: ignore[list-item]

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
