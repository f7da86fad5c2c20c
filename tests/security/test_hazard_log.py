"""Every test the clinical safety hazard log cites exists, so the log cannot silently rot."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOG = (ROOT / "docs" / "clinical-safety" / "hazard-log.md").read_text()
CITED = sorted(set(re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", LOG)))
HAZARDS = (
    "Double booking",
    "Wrong patient",
    "Lost booking",
    "Slot not freed",
    "Clock-change",
    "Booking in the past",
    "Stale availability",
    "Missed notification",
    "Unauthorised access",
)


@pytest.mark.parametrize(("path", "test"), CITED, ids=[f"{p}::{t}" for p, t in CITED])
def test_each_cited_test_exists(path, test):
    assert re.search(rf"^def {test}\(", (ROOT / path).read_text(), re.MULTILINE), f"{path}::{test}"


def test_every_required_hazard_is_in_the_log():
    for hazard in HAZARDS:
        assert hazard in LOG
    assert len(CITED) >= 20
