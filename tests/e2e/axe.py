"""axe-core accessibility checks for the browser tests.

axe-core is pinned in frontend/package.json and installed by ``npm ci --prefix frontend`` (CI
does this; locally, ``make frontend``). Injecting it needs a browser context made with
``bypass_csp=True``: our Content-Security-Policy allows no script but our own.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_SCRIPT = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.2 AA, the NHS's standard, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return results.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        nodes: violation.nodes.map((node) => ({
            target: node.target,
            failureSummary: node.failureSummary,
        })),
    }));
}"""


def axe_script_path() -> Path:
    """frontend/node_modules/axe-core/axe.min.js; skips the test when it is not installed."""
    if not AXE_SCRIPT.is_file():
        pytest.skip(
            f"axe-core is not installed ({AXE_SCRIPT.relative_to(ROOT)} is missing): "
            "run `npm ci --prefix frontend` or `make frontend`"
        )
    return AXE_SCRIPT


def check_accessibility(page) -> list[dict]:
    """The page's axe violations: id, impact, help and each node's target and failureSummary."""
    if page.evaluate("typeof window.axe === 'undefined'"):
        page.add_script_tag(path=str(axe_script_path()))
    return page.evaluate(RUN_AXE, TAGS)


def format_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}")
            for summary in (node["failureSummary"] or "").splitlines():
                lines.append(f"      {summary.strip()}")
    return "\n".join(lines)


def assert_accessible(page, name: str) -> None:
    """Fails with every axe violation on the page, each with where it is and how to fix it."""
    violations = check_accessibility(page)
    if violations:
        raise AssertionError(
            f"{name} ({page.url}): {len(violations)} accessibility violation(s)\n"
            + format_violations(violations)
        )
