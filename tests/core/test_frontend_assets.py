"""The NHS.UK frontend in core/static/nhsuk is built from the pinned packages, and loads nothing
from another host.

scripts/vendor_nhsuk.sh (``make frontend``) builds it from frontend/node_modules, which
frontend/package.json and package-lock.json pin: the JavaScript, its source map and the images
are the nhsuk-frontend package's own files, but the style sheet is compiled from
frontend/nhsuk.scss with the pinned sass. We build the CSS because the package's prebuilt one
loads the Frutiger font from https://assets.nhs.uk/fonts/ (our Content-Security-Policy allows
only our own files, so browsers refuse it, and log it, on every page) and points at its images
as /assets/images/..., where we serve nothing.

These tests catch a folder left behind after a version bump or a change to the Sass, a
hand-edited file, a loose pin, a style sheet or script that would fetch fonts or code from a
CDN, and a style sheet pointing at an image we don't serve. No database is needed.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.axe import axe_script_path

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
NODE_MODULES = FRONTEND / "node_modules"
VENDORED = ROOT / "core" / "static" / "nhsuk"
PACKAGE = NODE_MODULES / "nhsuk-frontend"
BUILD_SCRIPT = ROOT / "scripts" / "vendor_nhsuk.sh"
CSS = VENDORED / "nhsuk-frontend.min.css"
EXACT_VERSION = re.compile(r"\d+\.\d+\.\d+")
# A style sheet pulling a file from another host: @import url(http...), @import "http...", or
# any url(https://...) or url(//host/...), such as a font's src. The URL is captured, for the
# failure message.
REMOTE_CSS = re.compile(
    r"""(?:@import\s+(?:url\(\s*)?|url\(\s*)["']?((?:https?:)?//[^"')\s]+)""",
    re.IGNORECASE,
)
# Every url(...) in a style sheet, quoted or not; the URL is captured.
CSS_URL = re.compile(r"""url\(\s*["']?([^"')\s]+)""", re.IGNORECASE)


def package_json() -> dict:
    return json.loads((FRONTEND / "package.json").read_text())


def pinned(name: str) -> str:
    return package_json()["devDependencies"][name]


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under folder, by its path relative to folder."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def require_installed_packages() -> None:
    """Skip when frontend/node_modules is missing; fail when it holds other versions than the
    pins (the build script would reinstall them, which a test must not do)."""
    if not NODE_MODULES.is_dir():
        pytest.skip("frontend/node_modules is missing: run `make frontend` (CI installs it)")
    installed = {}
    for name in package_json()["devDependencies"]:
        manifest = NODE_MODULES / name / "package.json"
        installed[name] = manifest.is_file() and json.loads(manifest.read_text())["version"]
    assert installed == package_json()["devDependencies"], (
        "frontend/node_modules is not what package.json pins: run `make frontend`"
    )


def test_every_dev_dependency_is_pinned_to_an_exact_version():
    pins = package_json()["devDependencies"]

    assert {"nhsuk-frontend", "sass", "axe-core", "nunjucks"} <= set(pins)
    assert {name: v for name, v in pins.items() if not EXACT_VERSION.fullmatch(v)} == {}


def test_the_lock_file_installs_every_pinned_version():
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    pins = package_json()["devDependencies"]

    assert lock["lockfileVersion"] == 3
    assert lock["packages"][""]["devDependencies"] == pins
    assert {name: lock["packages"][f"node_modules/{name}"]["version"] for name in pins} == pins


def test_the_vendored_copy_is_the_pinned_version():
    assert (VENDORED / "VERSION").read_text().strip() == pinned("nhsuk-frontend")


def test_the_vendored_folder_is_exactly_what_the_build_script_makes(tmp_path):
    require_installed_packages()
    out = tmp_path / "nhsuk"

    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(BUILD_SCRIPT)],
        env={**os.environ, "NHSUK_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    built, vendored = files_under(out), files_under(VENDORED)
    assert sorted(vendored) == sorted(built)
    assert [name for name in sorted(built) if built[name] != vendored[name]] == []


def test_the_vendored_script_and_images_are_the_packages_own_byte_for_byte():
    require_installed_packages()
    dist = PACKAGE / "dist" / "nhsuk"
    expected = {"nhsuk-frontend.min.js", "nhsuk-frontend.min.js.map"} | {
        f"assets/{name}" for name in files_under(dist / "assets")
    }
    ours = {
        name: content
        for name, content in files_under(VENDORED).items()
        if name not in {"nhsuk-frontend.min.css", "VERSION"}
    }

    assert sorted(ours) == sorted(expected)
    assert [name for name in sorted(ours) if ours[name] != (dist / name).read_bytes()] == []


@pytest.mark.parametrize(
    "css",
    [
        '@import url("https://fonts.example.com/css?family=Frutiger");',
        "@import 'http://cdn.example.com/x.css';",
        "@font-face{font-family:F;src:url(https://assets.example.com/f.woff2) format('woff2')}",
        '@font-face { src: url( "http://assets.example.com/f.woff" ) }',
        "@font-face{src:url(//assets.example.com/f.woff2)}",
    ],
)
def test_the_remote_url_check_catches_what_it_is_for(css):
    assert REMOTE_CSS.search(css)


def test_the_vendored_css_loads_nothing_from_another_host():
    assert REMOTE_CSS.findall(CSS.read_text(encoding="utf-8-sig")) == []


def test_the_vendored_css_still_sets_the_pages_font_without_the_web_font():
    # nhsuk-frontend sets html's font-family only beside its @font-face; frontend/nhsuk.scss
    # sets it again, else the page falls back to the browser's serif.
    css = CSS.read_text(encoding="utf-8-sig")

    assert 'html{font-family:"Frutiger W01",arial,sans-serif}' in css


def test_every_file_the_vendored_css_points_at_is_one_of_our_static_files():
    # settings.STATIC_URL is "/static/" (Django adds the leading slash).
    prefix = f"{settings.STATIC_URL}nhsuk/"
    css = CSS.read_text(encoding="utf-8-sig")
    urls = {url for url in CSS_URL.findall(css) if not url.startswith("data:")}

    assert urls, "expected the CSS to point at the package's images"
    assert (
        sorted(
            url
            for url in urls
            if not (url.startswith(prefix) and (VENDORED / url.removeprefix(prefix)).is_file())
        )
        == []
    )


def test_the_vendored_js_names_no_other_host():
    js = (VENDORED / "nhsuk-frontend.min.js").read_text()

    assert re.findall(r"https?://[^\s\"'`)]+", js) == []


def test_axe_core_resolves_from_the_installed_package():
    path = axe_script_path()

    assert path == FRONTEND / "node_modules" / "axe-core" / "axe.min.js"
    assert path.read_text().startswith(f"/*! axe v{pinned('axe-core')}\n")
