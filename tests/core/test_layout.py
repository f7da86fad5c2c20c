"""Dependencies run one way: core <- accounts <- practices <- booking <- gpconnect <- datasets.

config names the apps in strings and imports only core; nothing imports "upwards".
Imports inside functions count too: a lazy import is still a dependency. Imports for type
checking only (``if TYPE_CHECKING:``) do not: they never run.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
# gpconnect, the GP Connect door, is a second door onto the booking core; datasets may seed
# what it needs (a consumer system).
ORDER = ["core", "accounts", "practices", "booking", "gpconnect", "datasets"]
# What each package may import from the project.
ALLOWED = {
    "config": {"config", "core"},
    **{app: set(ORDER[: ORDER.index(app) + 1]) for app in ORDER},
}


def project_imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        type_only = {
            id(inner)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test) in TYPE_CHECKING
            for statement in block.body  # not the else branch: that one runs
            for inner in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED:
                    found.add((str(path.relative_to(ROOT)), top))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_sits_below_it(package):
    wrong = sorted(
        (path, top) for path, top in project_imports(package) if top not in ALLOWED[package]
    )

    assert wrong == []
