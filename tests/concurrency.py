"""Run calls from many threads at once, each thread on its own database connection."""

import threading
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection


def run_concurrently(call: Callable[[Any], Any], inputs: Sequence[Any]) -> list[Any]:
    """``call(input)`` for every input, all released together; each result or exception."""
    barrier = threading.Barrier(len(inputs))
    results: list[Any] = [None] * len(inputs)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call(inputs[index])
        except BaseException as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
