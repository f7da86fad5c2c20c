"""Fuzz the running API against its own OpenAPI schema with Schemathesis.

Sets up a database with the demo data, starts gunicorn on loopback with the production
settings, signs in as the demo patient and the demo practice administrator, and runs
``schemathesis run`` once per persona with every check (``--checks all``), every phase
(examples, coverage, fuzzing, stateful links) and a bounded number of examples per operation.
Exits non-zero on any failure. Configuration that is not per-run lives in schemathesis.toml.

    python scripts/fuzz.py                     # gp_booking_fuzz on the private server
    DATABASE_URL=postgres://... python scripts/fuzz.py --max-examples 25
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPORTS = ROOT / ".fuzz"
PERSONAS = {
    "patient": "patient@demo.gp-booking.test",
    "staff": "practice.admin@demo.gp-booking.test",
}
DEMO_PASSWORD = "Demo-Pass-123!"  # noqa: S105 - the published demo password (README)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*command: str, env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)  # noqa: S603 - our own commands


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    for _ in range(120):
        if server.poll() is not None:
            sys.exit("gunicorn exited; see .fuzz/gunicorn.log")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.5)
    sys.exit("gunicorn did not become ready")


def sign_in(base: str, email: str) -> str:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/api/v1/auth/login",
        data=json.dumps({"email": email, "password": DEMO_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.load(response)["access"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=15, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (repeatable)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()

    REPORTS.mkdir(exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        database_url = os.environ["DATABASE_URL"]
    else:
        # A database of its own on the private server; this process keeps the server up.
        sys.path.insert(0, str(ROOT))
        from core import localdb

        database_url = localdb.database_url("gp_booking_fuzz")
    key = subprocess.run(  # noqa: S603 - our own interpreter
        [
            sys.executable,
            "-c",
            "from core.keys import generate_private_key_pem as g; print(g())",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    port = free_port()
    env = {
        **os.environ,
        # The settings operators run, with only what a loopback run must change.
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_PRIVATE_KEY": key,
        "JWT_ISSUER": f"http://127.0.0.1:{port}",
        "JWT_ACCESS_TOKEN_MINUTES": "120",  # outlives the run: an expired token is not a finding
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "ALLOW_DEMO_DATA": "true",
        # Throttles stay on but high: the fuzzer should reach the handlers, not the limiter.
        # (429 is still documented on every operation and tested in tests/security.)
        "THROTTLE_USER_RATE": "100000/min",
        "THROTTLE_ANON_RATE": "100000/min",
        "THROTTLE_LOGIN_RATE": "100000/min",
        "THROTTLE_REGISTER_RATE": "100000/min",
        "THROTTLE_REFRESH_RATE": "100000/min",
        "THROTTLE_ACCOUNT_EMAIL_RATE": "100000/min",
        "THROTTLE_GPCONNECT_RATE": "100000/min",
        "THROTTLE_GPCONNECT_REFUSED_RATE": "100000/min",
        "LOG_LEVEL": "WARNING",
        "SMS_BACKEND": "booking.notifications.sms.LocMemSmsBackend",
        "TRUSTED_PROXY_NETWORKS": "none",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    python = sys.executable
    run(python, "manage.py", "migrate", "--noinput", "-v0", env=env)
    run(python, "manage.py", "createcachetable", env=env)
    run(python, "manage.py", "seed_data", "-v0", "--history-days", "14", env=env)

    server = subprocess.Popen(  # noqa: S603 - our own server
        [
            str(BIN / "gunicorn"),
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(REPORTS / "gunicorn.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    failed = []
    try:
        wait_until_up(base, server)
        for persona, email in PERSONAS.items():
            token = sign_in(base, email)
            print(f"== schemathesis as the demo {persona} ({email})", flush=True)
            command = [
                str(BIN / "schemathesis"),
                "run",
                f"{base}/api/schema/?format=json",
                "--checks",
                "all",
                "--max-examples",
                str(args.max_examples),
                "--workers",
                "1",
                "--header",
                f"Authorization: Bearer {token}",
                "--report",
                "junit",
                "--report-junit-path",
                str(REPORTS / f"junit-{persona}.xml"),
            ]
            if args.seed is not None:
                command += ["--seed", str(args.seed)]
            if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:  # noqa: S603
                failed.append(persona)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failed:
        print(f"Schemathesis found failures as: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
