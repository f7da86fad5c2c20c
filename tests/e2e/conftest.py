"""The browser for end-to-end tests: Debian's Chromium, driven by Playwright."""

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# As the machine notes advise for Chromium as root in a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

chromium_missing = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"
)


@pytest.fixture
def browser_page(monkeypatch, tmp_path):
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread; the test's own database calls are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # Every console message, for tests that look for Content-Security-Policy violations.
        page.console_messages = []
        page.on("console", lambda message: page.console_messages.append(message.text))
        page.set_default_timeout(15_000)
        yield page
        page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
        browser.close()


# Screenshots of the journeys, for people to look at (git-ignored with the rest of .local/).
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".local" / "screenshots"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def strict_page(browser_page):
    """``browser_page`` that fails the test on any console error or any asset (style sheet,
    script, image, font, icon) answered with a 4xx or 5xx."""
    errors: list[str] = []
    browser_page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    browser_page.on("pageerror", lambda error: errors.append(f"page error: {error}"))

    def check(response):
        # Everything but the documents themselves (their status is what the test checks).
        if response.request.resource_type != "document" and response.status >= 400:
            errors.append(f"{response.status} {response.url}")

    browser_page.on("response", check)
    yield browser_page
    assert errors == []


def sign_in(page, base_url: str, email: str, password: str, *, next_path: str = "/admin/") -> None:
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + r"(\?.*)?$"))
