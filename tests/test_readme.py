"""The README's API journey works as written: pasted into bash against a running service.

The block marked ``<!-- readme-journey -->`` runs in bash, unchanged but for where the API
is (``API``) and where the emails land (``MAIL_DIR``), against gunicorn with the demo data and
the notifications worker writing emails as ``make run`` does.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, free_port, server_env, wait_until_up

MARKER = "<!-- readme-journey -->"
BASH = shutil.which("bash") or "/bin/bash"

pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None,
    reason="the README's journey needs curl and jq (.ci/run installs jq)",
)


def journey() -> str:
    readme = (ROOT / "README.md").read_text()
    after = readme.split(MARKER, 1)[1]
    match = re.match(r"\s*```bash\n(.*?)\n```", after, re.DOTALL)
    assert match, "the journey's bash block follows its marker"
    return match.group(1)


def test_the_readme_journey_runs_against_a_live_service(scratch_database_url, tmp_path):
    mail = tmp_path / "mail"
    env = server_env(
        scratch_database_url,
        ALLOW_DEMO_DATA="true",
        EMAIL_BACKEND="booking.notifications.email_backends.PlainFileEmailBackend",
        EMAIL_FILE_PATH=str(mail),
        WEB_CONCURRENCY="2",
    )
    python = Path(sys.executable)
    for command in (["migrate", "--noinput"], ["seed_data"]):
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
        script = "set -euo pipefail\n" + journey()
        result = subprocess.run(
            [BASH, "-c", script],
            cwd=tmp_path,
            env={
                "PATH": os.environ["PATH"],
                "API": f"http://127.0.0.1:{port}/api/v1",
                "MAIL_DIR": str(mail),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)

    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert '{"detail":"Your email address is confirmed."}' in output
    assert '"status": "booked"' in output  # the booking by slot id
    # Then the booking by practice, time and type, and the cancellation.
    assert re.findall(r'^"(\w+)"$', output, re.MULTILINE) == ["booked", "cancelled"], output
