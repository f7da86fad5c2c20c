"""A PostgreSQL restart under load (issue 17.12): while the database cannot be reached every
request answers 503 with a problem body and Retry-After, readiness fails, and service resumes
by itself when the database is back. Against a real server, stopped and started for real."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.servers import free_port, get, hold_database, server_env, stop_database, wait_until_up

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def outage_stack(tmp_path):
    """gunicorn with the production settings on a private PostgreSQL we can stop."""
    pgdata = tmp_path / "pgdata"
    holder, url = hold_database(pgdata)
    port = free_port()
    env = server_env(
        url,
        # Persistent connections, as in production: the broken ones must be replaced.
        DB_CONN_MAX_AGE="60",
        WEB_CONCURRENCY="2",
        THROTTLE_ANON_RATE="100000/min",  # the load is one client
    )
    python = Path(sys.executable)
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [python.parent / "gunicorn", "--config", "config/gunicorn.py",
         "--bind", f"127.0.0.1:{port}", "config.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    holders = [holder]
    try:
        wait_until_up(port)
        yield f"http://127.0.0.1:{port}", pgdata, holders
    finally:
        server.terminate()
        server.wait(timeout=20)
        for process in reversed(holders):
            process.stdin.close()
            process.wait(timeout=30)


def test_a_database_restart_under_load_is_503s_then_service_resumes(outage_stack):
    base, pgdata, holders = outage_stack
    assert get(f"{base}/api/v1/practices")[0] == 200
    statuses: list[int] = []
    done = threading.Event()

    def load() -> None:
        while not done.is_set():
            statuses.append(get(f"{base}/api/v1/practices")[0])

    loader = threading.Thread(target=load)
    loader.start()
    try:
        time.sleep(0.5)
        stop_database(pgdata)
        time.sleep(1)
        status, headers, body = get(f"{base}/api/v1/practices")
        ready = get(f"{base}/readyz")[0]
        holder, _ = hold_database(pgdata)  # the database comes back
        holders.append(holder)
        deadline = time.monotonic() + 20
        while get(f"{base}/api/v1/practices")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        done.set()
        loader.join(timeout=30)

    assert status == 503
    assert headers["Retry-After"] == "5"
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "database_unavailable"
    assert ready == 503
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert statuses.count(503) > 0 and statuses[-1] == 200
