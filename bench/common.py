"""What every benchmark shares: the production settings gunicorn runs with on loopback, and
starting it. Imported by bench/run.py, bench/rush.py and bench/waiting_list.py's kin."""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def server_env(*, database: str) -> dict[str, str]:
    """The production settings, with throwaway secrets, limits out of the way (a benchmark is
    one caller sending thousands of requests) and mail and SMS kept in memory."""
    key = subprocess.run(
        [PYTHON, "-c", "from core.keys import generate_private_key_pem as g; print(g())"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_PRIVATE_KEY": key,
        "JWT_ISSUER": "http://127.0.0.1",
        "JWT_ACCESS_TOKEN_MINUTES": "240",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "ALLOW_DEMO_DATA": "true",
        "THROTTLE_USER_RATE": "100000000/min",
        "THROTTLE_ANON_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "dbcache://django_cache"),
        # The rate-limit counters' Redis, as compose and AWS have one (BENCH_REDIS_URL="" for
        # the database counter).
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "REDIS_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
        "SMS_BACKEND": "booking.notifications.sms.LocMemSmsBackend",
        "TRUSTED_PROXY_NETWORKS": "none",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not start")


def start_gunicorn(
    env: dict[str, str], *, port: int, workers: int, log: IO[str]
) -> subprocess.Popen:
    """gunicorn as the container runs it (config/gunicorn.py), on loopback."""
    return subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "config.wsgi",
        ],
        cwd=ROOT,
        env={**env, "WEB_CONCURRENCY": str(workers)},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def patient_access_token(user_id: object) -> str:
    """Just an access token for a patient (one RSA signature), as the API checks on every
    request: cheaper to make by the thousand than issue_tokens' set. Needs Django set up with
    the server's settings (JWT_PRIVATE_KEY), so that the token verifies there."""
    from accounts.tokens import AccessToken

    token = AccessToken()
    token["sub"] = str(user_id)
    token["cognito:groups"] = ["patient"]
    return str(token)
