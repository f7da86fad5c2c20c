"""The admin and the API docs work under the Content-Security-Policy, loading nothing from
another host (issue 17.7): in a real browser, which reports every violation."""

import pytest

from tests.e2e.conftest import chromium_missing
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), chromium_missing]


def violations(page) -> list[str]:
    return [text for text in page.console_messages if "Content Security Policy" in text]


def test_the_api_docs_render_from_our_own_files_under_the_policy(browser_page, live_server):
    requested: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))

    response = browser_page.goto(f"{live_server.url}/api/docs/")
    browser_page.wait_for_selector(".swagger-ui .info .title")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "GP Booking API" in browser_page.inner_text(".swagger-ui .info .title")
    assert violations(browser_page) == []
    assert [url for url in requested if not url.startswith(live_server.url)] == []


def test_the_admin_works_under_the_policy(browser_page, live_server, dave):
    browser_page.goto(f"{live_server.url}/admin/login/")
    browser_page.fill("input[name=username]", dave.email)
    browser_page.fill("input[name=password]", DEFAULT_PASSWORD)
    browser_page.click("input[type=submit]")
    browser_page.wait_for_selector("#site-name")
    browser_page.goto(f"{live_server.url}/admin/booking/appointment/")
    browser_page.wait_for_selector("#changelist")

    assert violations(browser_page) == []


def test_redoc_renders_from_our_own_files_with_no_inline_script(browser_page, live_server):
    loaded: list[str] = []  # requests that got an answer (a blocked one fails)
    browser_page.on("requestfinished", lambda request: loaded.append(request.url))

    response = browser_page.goto(f"{live_server.url}/api/redoc/")
    browser_page.wait_for_selector("h1")

    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy + ";"  # no inline script even here
    assert "GP Booking API" in browser_page.inner_text("h1")
    # ReDoc always shows Redocly's logo from their CDN; the policy blocks it, as it should.
    assert [
        v for v in violations(browser_page) if "cdn.redoc.ly/redoc/logo-mini.svg" not in v
    ] == []
    assert [u for u in loaded if not u.startswith((live_server.url, "blob:", "data:"))] == []
