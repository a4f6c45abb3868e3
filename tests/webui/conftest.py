"""A sandbox appliance for the console's browser tests, and Debian's chromium to drive it.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright; Playwright's own browser
download is never used. The console's certificate is checked against the sandbox's CA by
httpx first; Chromium is then told to accept exactly that certificate's public key (SPKI
pin), nothing else.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from services.sandbox.sandbox import Sandbox
from tests.conftest import _factory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def console_box() -> Iterator[Sandbox]:
    """An appliance of the console tests' own (they replace its DHCP scope)."""
    for factory in _factory("w"):
        yield factory.start()


def spki_pin(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def pinned_chromium(driver: Playwright, *boxes: Sandbox) -> Browser:
    """Headless Chromium that accepts exactly these appliances' console certificates."""
    pins = ",".join(spki_pin(box.root.pki / "webui.crt") for box in boxes)
    return driver.chromium.launch(
        executable_path="/usr/bin/chromium",
        headless=True,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pins}"],
    )


@pytest.fixture(scope="session")
def console_url(console_box: Sandbox) -> str:
    url = f"https://{console_box.address}"
    # The console's certificate must chain to the appliance CA before the browser pins it.
    with httpx.Client(verify=console_box.tls_context(), timeout=10) as http:
        assert http.get(url + "/health").status_code == 200
    return url


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright, console_box: Sandbox) -> Iterator[Browser]:
    chromium = pinned_chromium(playwright_driver, console_box)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


def watched_page(context: BrowserContext) -> Page:
    """A new page whose script errors and Content Security Policy reports gather in
    ``page.errors``."""
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda exc: errors.append(str(exc)))
    found.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    found.on(
        "console",
        lambda msg: (
            errors.append(f"at {found.url}") if "Content Security Policy" in msg.text else None
        ),
    )
    found.errors = errors  # type: ignore[attr-defined]
    return found


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return watched_page(context)


@contextlib.contextmanager
def admin_session(browser: Browser, box: Sandbox, url: str) -> Iterator[Page]:
    """One watched page logged in as the administrator, for a module's tests."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    try:
        found = watched_page(context)
        login(found, url, *box.admin_credentials())
        yield found
    finally:
        context.close()


def login(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url + "/")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("h1:has-text('Dashboard')")


def shot(page: Page, name: str) -> None:
    """A screenshot of the page as a user sees it, for the README (1280x800 PNG); the pages
    ``./build.sh screenshots`` takes with an office's data (tests/webui/screenshots.py) are
    left to it."""
    from tests.webui.screenshots import PAGES

    if name in PAGES:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
