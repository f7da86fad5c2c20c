"""Frontends generate their clients from /api/schema/: generate them as they would, check the
journeys in clients/ against them with the type checkers, and run those journeys against a
live service. A schema change that breaks a consumer fails here.

- Python: openapi-python-client (zero warnings), clients/python/journey.py, mypy.
- TypeScript: openapi-typescript and openapi-fetch (pinned in clients/typescript), tsc.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT, demo_service

PYTHON = Path(sys.executable)
NPM = shutil.which("npm")
# A booked appointment that has started, for the staff journey's outcome (demo data keeps
# outcomes of the past recorded already).
STARTED = """
import datetime as dt
from django.utils import timezone
from booking.models import Appointment
from practices.models import Slot
started = timezone.now() - dt.timedelta(hours=2)
slot = (Slot.objects.filter(practice__ods_code="Y90001", status="free", start__lt=started)
        .order_by("-start").first())
patient = Appointment.objects.filter(practice__ods_code="Y90001").first().patient
slot.status = "booked"; slot.save()
Appointment.objects.create(patient=patient, practice=slot.practice, slot=slot,
    clinician=slot.clinician, start=slot.start, end=slot.end, appointment_type=slot.slot_type,
    channel=slot.channel, booked_by=patient)
"""


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=600, **kwargs
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def service(scratch_database_url, tmp_path):
    """The service as make run serves it, with one started appointment awaiting an outcome."""
    mail = tmp_path / "mail"
    with demo_service(scratch_database_url, mail, setup=STARTED) as base_url:
        yield base_url, mail, None


@pytest.fixture
def schema_file(tmp_path):
    path = tmp_path / "schema.json"
    run(
        PYTHON, "manage.py", "spectacular", "--format", "openapi-json", "--file", path,
        "--validate", "--fail-on-warn", cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
    )  # fmt: skip
    return path


def test_a_generated_python_client_carries_both_journeys(service, schema_file, tmp_path):
    base_url, mail, _ = service
    package = tmp_path / "gp_booking_client"
    generated = run(
        PYTHON.parent / "openapi-python-client", "generate", "--path", schema_file,
        "--meta", "none", "--output-path", package, "--fail-on-warning", cwd=tmp_path,
    )  # fmt: skip
    journey = ROOT / "clients" / "python" / "journey.py"
    # The journey strictly; the generated code is the generator's business.
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nstrict = True\n[mypy-gp_booking_client.*]\nignore_errors = True\n"
    )
    typed = run(
        PYTHON, "-m", "mypy", "--config-file", tmp_path / "mypy.ini", "--no-incremental",
        "--cache-dir", os.devnull, journey, cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(tmp_path)},
    )  # fmt: skip
    ran = run(
        PYTHON, journey, base_url, mail, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip

    assert "Warning" not in generated.stdout + generated.stderr
    assert "Success" in typed.stdout
    assert "outcome recorded: did_not_attend" in ran.stdout
    assert "patient and staff journeys passed" in ran.stdout


@pytest.mark.skipif(NPM is None, reason="npm is not installed")
def test_generated_typescript_types_carry_both_journeys(service, schema_file, tmp_path):
    base_url, mail, _ = service
    project = tmp_path / "typescript"
    shutil.copytree(
        ROOT / "clients" / "typescript", project, ignore=shutil.ignore_patterns("node_modules")
    )
    run(NPM, "ci", "--no-audit", "--no-fund", cwd=project)
    generated = run(
        project / "node_modules" / ".bin" / "openapi-typescript", schema_file,
        # A property with a default is optional in a request (role, page_size...).
        "--default-non-nullable", "false", "--output", project / "schema.d.ts", cwd=project,
    )  # fmt: skip
    run(project / "node_modules" / ".bin" / "tsc", "--noEmit", cwd=project)
    run(project / "node_modules" / ".bin" / "tsc", "--outDir", project / "build", cwd=project)
    ran = run("node", project / "build" / "journey.js", base_url, mail, cwd=project)

    assert "warn" not in generated.stderr.lower()
    assert "outcome recorded: did_not_attend" in ran.stdout
    assert "patient and staff journeys passed" in ran.stdout
