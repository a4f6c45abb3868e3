"""The console's appliance page and custom option definitions, against a real appliance.

Network changes land on the sandbox's real interface (read back through Central and with
``ip``); a bad route or an option code the server already knows is refused with the API's
error at its field, and nothing changes.
"""

from __future__ import annotations

import ipaddress
import subprocess

import pytest
from playwright.sync_api import Page, expect

from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi
from tests.webui.conftest import login, shot

pytestmark = pytest.mark.sandbox


def _ip(box: Sandbox, *args: str) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", box.ns, "ip", *args],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip


def _spare(box: Sandbox) -> ipaddress.IPv4Network:
    """A network the sandbox's own is not (for an extra address on the interface)."""
    for candidate in ("203.0.113.240/28", "198.51.100.240/28"):
        net = ipaddress.IPv4Network(candidate)
        if not net.overlaps(box.network):
            return net
    raise AssertionError("no spare test network")


def test_network_settings_applied_and_a_bad_route_refused_at_its_field(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    box = console_box
    api = CentralApi(box)
    login(page, console_url, *box.admin_credentials())
    page.goto(console_url + "/appliance")
    expect(page.locator("h1:has-text('This appliance')")).to_be_visible()
    expect(page.locator("#appliance-state")).not_to_be_empty()
    before = api.get("/api/v1/appliance/network")

    # A route whose gateway is on no network of the appliance: refused, at the routes field.
    spare = _spare(box)
    page.fill("#f-routes", f"{spare[0]}/28 via 192.0.2.200")
    page.fill("#network-form #f-comment", "a route that cannot work")
    page.click("button:has-text('Apply network settings')")
    expect(page.locator("#e-routes")).to_contain_text("line 1")
    assert api.get("/api/v1/appliance/network") == before
    # A line the console cannot read at all never reaches Central.
    page.fill("#f-routes", "nonsense")
    page.click("button:has-text('Apply network settings')")
    expect(page.locator("#e-routes")).to_contain_text("DESTINATION via GATEWAY")

    # An extra address: applied to the live interface, shown again, in the history.
    extra = f"{spare[1]}/32"
    page.fill("#f-routes", "")
    page.fill("#f-extra_addresses", extra)
    page.fill("#network-form #f-comment", "a service address")
    page.click("button:has-text('Apply network settings')")
    expect(page.locator("text=The network settings were applied.")).to_be_visible()
    expect(page.locator("#f-extra_addresses")).to_have_value(extra)
    assert extra.split("/")[0] in _ip(box, "-4", "address", "show", "dev", before["interface"])
    shot(page, "appliance")
    history = api.get("/api/v1/history?filter=object_type:appliance-network&sort=-id&limit=1")
    assert history["items"][0]["comment"] == "a service address"

    # Not paired: the page offers pairing, and a bad fingerprint is named.
    page.fill("#pair-form #f-address", "198.51.100.3")
    page.fill("#pair-form #f-token", "not-a-token")
    page.fill("#pair-form #f-fingerprint", "sha256:" + "0" * 10)
    page.click("button:has-text('Pair')")
    expect(page.locator("#pair-form .error").first).to_be_visible()
    assert api.get("/api/v1/appliance/peer")["paired"] is False

    # Put the network back as it was.
    page.on("dialog", lambda dialog: dialog.accept())
    page.fill("#f-extra_addresses", "")
    page.fill("#network-form #f-comment", "back as it was")
    page.click("button:has-text('Apply network settings')")
    expect(page.locator("text=The network settings were applied.")).to_be_visible()
    assert extra.split("/")[0] not in _ip(box, "-4", "address", "show", "dev", before["interface"])
    assert page.errors == []  # type: ignore[attr-defined]


def test_custom_option_definition_created_and_a_taken_code_refused(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    box = console_box
    login(page, console_url, *box.admin_credentials())
    page.goto(console_url + "/dhcp/options")
    before = box.kea("config-get", service="dhcp4")["arguments"]["Dhcp4"].get("option-def", [])

    def define(code: str, name: str, kind: str, comment: str) -> None:
        form = page.locator("#define-option")
        form.locator("#def-f-code").fill(code)
        form.locator("#def-f-name").fill(name)
        form.locator("#def-f-type").select_option(kind)
        form.locator("#def-f-comment").fill(comment)
        form.locator("button:has-text('Add definition')").click()

    # Code 6 is domain-name-servers in the dhcp4 space: taken.
    define("6", "my-servers", "ipv4-address", "a taken code")
    expect(page.locator("#define-option #def-e-code")).to_be_visible()
    after = box.kea("config-get", service="dhcp4")["arguments"]["Dhcp4"].get("option-def", [])
    assert after == before

    define("224", "site-config-url", "string", "a site option")
    expect(page.locator("text=The option definition was added.")).to_be_visible()
    expect(page.locator("#definitions td:has-text('site-config-url')")).to_be_visible()
    served = box.kea("config-get", service="dhcp4")["arguments"]["Dhcp4"]["option-def"]
    assert any(d["name"] == "site-config-url" and d["code"] == 224 for d in served)

    page.click("button[aria-label='Delete option definition site-config-url']")
    page.fill("#confirm-comment", "not needed any more")
    page.click("#confirm-ok")
    expect(page.locator("text=The option definition was deleted.")).to_be_visible()
    served = box.kea("config-get", service="dhcp4")["arguments"]["Dhcp4"].get("option-def", [])
    assert not any(d["name"] == "site-config-url" for d in served)
    assert page.errors == []  # type: ignore[attr-defined]
