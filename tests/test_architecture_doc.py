"""docs/architecture.md names the test that proves each invariant: those tests must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"


def test_every_test_the_architecture_page_names_exists():
    text = DOC.read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", text)
    missing = [
        f"{path}::{test}"
        for path, test in named
        if not (ROOT / path).exists()
        or not re.search(rf"^def {test}\(", (ROOT / path).read_text(), flags=re.M)
    ]

    assert named, "the page names no tests"
    assert missing == []


def test_every_module_the_architecture_page_names_exists():
    text = DOC.read_text()
    paths = set(
        re.findall(r"`((?:core|accounts|practices|booking|datasets|config)/[\w/.]+)`", text)
    )

    assert [p for p in sorted(paths) if not (ROOT / p).exists()] == []
