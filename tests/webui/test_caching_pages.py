"""The console of a caching appliance in headless Chromium (the ``caching_sandbox``: Unbound,
Central, the agents, the console): the navigation offers Caching and neither DNS zones nor
DHCP, the dashboard and the servers page show the caching server as such, the Caching page's
statistics, a local zone added in its settings form answered by Unbound, a bad entry refused
at its field and line with nothing changed, a flush shown with Unbound's words. Every page is
checked by axe-core, also at 390 px wide in the dark scheme.

The settings are put back after (the appliance is shared with other tests)."""

from __future__ import annotations

from collections.abc import Iterator

import dns.rcode
import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from services.sandbox.sandbox import Sandbox
from tests.central_caching.test_caching_api import Api
from tests.webui.axe import assert_accessible, check_narrow_and_dark
from tests.webui.conftest import admin_session, pinned_chromium

pytestmark = pytest.mark.sandbox

ZONE = "console-caching.test."


@pytest.fixture(scope="module")
def caching_url(caching_sandbox: Sandbox) -> str:
    url = f"https://{caching_sandbox.address}"
    with httpx.Client(verify=caching_sandbox.tls_context(), timeout=10) as http:
        assert http.get(url + "/health").status_code == 200
    return url


@pytest.fixture(scope="module")
def caching_browser(playwright_driver: Playwright, caching_sandbox: Sandbox) -> Iterator[Browser]:
    chromium = pinned_chromium(playwright_driver, caching_sandbox)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def page(caching_browser: Browser, caching_sandbox: Sandbox, caching_url: str) -> Iterator[Page]:
    with admin_session(caching_browser, caching_sandbox, caching_url) as found:
        yield found


def _nav(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("nav[aria-label='Main'] a").all_inner_texts()]


def test_the_navigation_dashboard_and_servers_show_a_caching_appliance(
    page: Page, caching_url: str
) -> None:
    page.goto(caching_url + "/")
    nav = _nav(page)
    assert "Caching" in nav, nav
    assert "DNS" not in nav and "DHCP" not in nav, nav
    servers = page.locator("td[data-kind='caching']")
    expect(servers.first).to_contain_text("caching DNS (Unbound)")
    expect(page.locator("#health")).to_contain_text("Caching DNS server (Unbound)")
    expect(page.locator("body")).not_to_contain_text("DHCP utilisation")
    assert_accessible(page)
    page.goto(caching_url + "/servers")
    expect(page.locator("#servers td[data-kind='caching']")).to_contain_text("caching DNS")
    expect(page.locator("#servers a:has-text('Settings and statistics')")).to_be_visible()
    assert_accessible(page)
    assert page.errors == []  # type: ignore[attr-defined]


def test_settings_statistics_and_a_flush_on_the_caching_page(
    page: Page, caching_url: str, caching_sandbox: Sandbox
) -> None:
    api = Api(caching_sandbox)
    sid = api.server_id()
    path = f"/api/v1/caching/servers/{sid}/settings"
    before = api.ok(api.call("GET", path))["settings"]
    try:
        page.goto(caching_url + "/")
        page.click("nav[aria-label='Main'] a:has-text('Caching')")
        expect(page.locator("h1")).to_contain_text("Caching DNS server:")
        expect(page.locator("#stat-queries")).to_be_visible()
        expect(page.locator("#rcodes")).to_be_visible()
        assert_accessible(page)

        # A bad access rule: refused at its field and line, nothing changed.
        access = page.locator("#f-access")
        access.fill(access.input_value() + "\n10.0.0.1/8 allow")
        page.click("button:has-text('Save settings')")
        expect(page.locator("#e-access")).to_contain_text("rule")
        expect(page.locator("#e-access")).to_contain_text("10.0.0.1/8")
        assert_accessible(page)
        assert api.ok(api.call("GET", path))["settings"] == before

        # A local zone with a record: saved, and Unbound answers it.
        page.goto(f"{caching_url}/caching/servers/{sid}")
        zones = page.locator("#f-local_zones")
        zones.fill(zones.input_value() + f"\n{ZONE} static\n  www.{ZONE} 300 IN A 10.20.30.41")
        page.fill("#f-comment", "a local zone from the console")
        page.click("button:has-text('Save settings')")
        expect(page.locator("p.notice")).to_contain_text("Unbound runs them now")
        answer = caching_sandbox.dns_query(f"www.{ZONE}", "A", timeout=2.0)
        assert answer.rcode() == dns.rcode.NOERROR
        assert [rr.to_text() for rrset in answer.answer for rr in rrset] == ["10.20.30.41"]
        expect(page.locator("#f-local_zones")).to_contain_text(f"www.{ZONE} 300 IN A 10.20.30.41")

        # A flush of a whole zone, with Unbound's words.
        page.fill("#flush-f-name", "example.com")
        page.check("#flush-f-zone")
        page.click("#flush button:has-text('Flush')")
        expect(page.locator("#flushed")).to_contain_text("every name at and below example.com.")
        expect(page.locator("#flushed")).to_contain_text("ok")
        assert_accessible(page)
        check_narrow_and_dark(page, [f"{caching_url}/caching/servers/{sid}",
                                     f"{caching_url}/", f"{caching_url}/servers"])  # fmt: skip
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        api.ok(api.call("PUT", path, {"settings": before, "comment": "put back by a test"}))
