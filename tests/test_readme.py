"""The README's API journey works as written: pasted into bash against a running service.

The block marked ``<!-- readme-journey -->`` runs in bash, unchanged but for where the API
is (``API``) and where the emails land (``MAIL_DIR``), against gunicorn with the demo data and
the notifications worker writing emails as ``make run`` does.
"""

import os
import re
import shutil
import subprocess

import pytest

from tests.servers import ROOT, demo_service

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
    with demo_service(scratch_database_url, mail) as base_url:
        result = subprocess.run(
            [BASH, "-c", "set -euo pipefail\n" + journey()],
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"], "API": f"{base_url}/api/v1", "MAIL_DIR": str(mail)},
            capture_output=True,
            text=True,
            timeout=120,
        )

    output = result.stdout
    assert result.returncode == 0, output + result.stderr
    assert '{"detail":"Your email address is confirmed."}' in output
    assert '"status": "booked"' in output  # the booking by slot id
    # Then the booking by practice, time and type, and the cancellation.
    assert re.findall(r'^"(\w+)"$', output, re.MULTILINE) == ["booked", "cancelled"], output
    # Then the waiting list: joined, and left.
    assert '"status": "waiting"' in output
    assert output.rstrip().endswith("204"), output
