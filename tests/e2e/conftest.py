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


# The patient pages: one browser per test module, a context per test (or per tab group) -----


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's Chromium, launched once for a test module (the axe checks open dozens of
    pages; a launch per page would cost more than the checks)."""
    from playwright.sync_api import sync_playwright

    # Playwright runs an event loop in this thread while the browser is open, for the whole
    # module: the tests' own database calls are safe.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


def watch_for_problems(page, problems: list[tuple[str, str]], documents: set[str]) -> None:
    """What ``strict_page`` fails on: console errors, page errors, and any asset (not the
    document itself) answered with a 4xx or 5xx. ``documents`` collects the pages answered
    with a 4xx or 5xx: the test checks their status, and Chromium's console error for them
    ("Failed to load resource") is no problem."""

    def console(message):
        if message.type == "error":
            url = message.location.get("url", "")
            problems.append((url, f"console: {message.text} ({url})"))

    def check(response):
        if response.request.resource_type == "document":
            if response.status >= 400:
                documents.add(response.url)
        elif response.status >= 400:
            problems.append((response.url, f"{response.status} {response.url}"))

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append((page.url, f"page error: {error}")))
    page.on("response", check)


@pytest.fixture
def new_context(chromium_browser, tmp_path):
    """``new_context(**options)``: a browser context (Playwright's ``new_context`` options:
    ``viewport``, ``device_scale_factor``, ``bypass_csp``...), 1400x1000 unless told. Every
    page opened in it, tabs included, fails the test as ``strict_page`` does: on a console
    error or an asset answered with a 4xx or 5xx."""
    problems: list[tuple[str, str]] = []
    documents: set[str] = set()
    contexts = []

    def make(**options):
        context = chromium_browser.new_context(
            **{"viewport": {"width": 1400, "height": 1000}, **options}
        )
        context.set_default_timeout(15_000)
        context.on("page", lambda page: watch_for_problems(page, problems, documents))
        contexts.append(context)
        return context

    yield make
    for number, context in enumerate(contexts):
        for tab, page in enumerate(context.pages):
            page.screenshot(path=str(tmp_path / f"last-page-{number}-{tab}.png"), full_page=True)
        context.close()
    assert [
        problem
        for url, problem in problems
        if not (url in documents and "Failed to load resource" in problem)
    ] == []


@pytest.fixture
def patient_page(new_context):
    """A strict page (as ``strict_page``) in a context of its own, for the patient journeys:
    more tabs come from ``patient_page.context.new_page()``."""
    return new_context().new_page()


@pytest.fixture
def axe_page(new_context):
    """A strict page whose context ignores the Content-Security-Policy, so that axe-core
    (tests/e2e/axe.py) can be injected: the policy allows no script but our own."""
    return new_context(bypass_csp=True).new_page()


def sign_in_as_patient(page, base_url: str, email: str, password: str) -> None:
    """Through the patient pages' own sign-in form; lands on the home page."""
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base_url}/")


def fill_in_registration(page, *, email: str, password: str) -> None:
    """The registration form's required answers, as Nia Evans, born 15 March 1984."""
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Evans")
    born = page.get_by_role("group", name="Date of birth")
    born.get_by_label("Day").fill("15")
    born.get_by_label("Month").fill("3")
    born.get_by_label("Year").fill("1984")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Create a password").fill(password)
