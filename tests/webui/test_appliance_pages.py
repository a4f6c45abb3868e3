"""The console's appliance page and custom option definitions, against a real appliance.

Network changes land on the sandbox's real interface (read back through Central and with
``ip``); a bad route or an option code the server already knows is refused with the API's
error at its field, and nothing changes.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import uuid

import pytest
from playwright.sync_api import Page, expect

from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi
from tests.backups.lab_flow import pair, set_detect_interval, wait_offer
from tests.harness.wait import wait_for
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


def _dialog(page: Page, question: str, answer: str, comment: str = "") -> None:
    """The console's confirm dialog, asking ``question``: cancelled or confirmed."""
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-message")).to_contain_text(question)
    if answer == "cancel":
        page.click("#confirm-cancel")
        expect(page.locator("#confirm-dialog")).to_be_hidden()
        return
    if comment:
        page.fill("#confirm-comment", comment)
    page.click("#confirm-ok")


def test_the_confirm_dialogs_of_the_appliance_and_backups_pages(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    """Unpair, remove a peer, do not restore onto a replacement, use as a new appliance:
    Cancel changes nothing, Confirm acts. The appliance is paired with its own Central (the
    peer and the appliance are one), and then made to answer as a fresh appliance would."""
    box = console_box
    api = CentralApi(box)
    state_file = box.root.lib / "appliance-state.json"
    state_before = state_file.read_text()
    interval = api.get("/api/v1/settings")["backup_detect_interval_seconds"]
    address = box.address
    try:
        pair(box, box, api, api)
        set_detect_interval(api, 2)
        login(page, console_url, *box.admin_credentials())

        # Unpair, cancelled: still paired.
        page.goto(console_url + "/appliance")
        page.click("#peer button:has-text('Unpair')")
        _dialog(page, f"Stop sending backups to {address}?", "cancel")
        assert api.get("/api/v1/appliance/peer")["paired"] is True
        # Remove the peer kept here, cancelled: still kept.
        page.goto(console_url + "/backups")
        page.click(f"button[aria-label='Remove {address}']")
        _dialog(page, f"Remove {address} and every backup kept for it?", "cancel")
        assert [p["address"] for p in api.get("/api/v1/backup-peers")["items"]] == [address]

        # The appliance now answers as a fresh one (another id, uninitialized): an offer.
        fresh = {"state": "uninitialized", "appliance_id": str(uuid.uuid4()),
                 "restore_code": "ABCDE23456"}  # fmt: skip
        state_file.write_text(json.dumps(fresh))
        # The appliance's status file (what Central and the page show) follows at its next
        # event: a backup made now.
        api.post("/api/v1/appliance/backups", {"kind": "incremental"})
        wait_for(lambda: api.get("/api/v1/appliance/backup-status")["state"] == "uninitialized",
                 timeout=30, what="the status saying uninitialized")  # fmt: skip
        offer = wait_offer(api, address)
        page.goto(console_url + "/backups")
        dismiss = page.locator(f"#replacements form[action$='/{offer['id']}/dismiss']")
        dismiss.locator("button:has-text('Use as a new appliance')").click()
        _dialog(page, f"Do not restore onto {address}?", "cancel")
        assert _offer_state(api, offer["id"]) == "offered"
        dismiss.locator("input[name=comment]").fill("not this one")
        dismiss.locator("button:has-text('Use as a new appliance')").click()
        _dialog(page, f"Do not restore onto {address}?", "confirm")
        expect(page.locator("#replacements form[id^=approve-]")).to_have_count(0)
        assert _offer_state(api, offer["id"]) == "dismissed"
        assert json.loads(state_file.read_text())["state"] == "uninitialized"

        # Use as a new appliance, on the appliance's own page.
        page.goto(console_url + "/appliance")
        expect(page.locator("#appliance-state")).to_have_text("uninitialized")
        use_new = page.locator("#state button:has-text('Use as a new appliance')")
        use_new.click()
        _dialog(page, "Use this appliance as a new one?", "cancel")
        assert json.loads(state_file.read_text())["state"] == "uninitialized"
        use_new.click()
        _dialog(page, "Use this appliance as a new one?", "confirm")
        expect(page.locator("#appliance-state")).to_have_text("active")
        assert json.loads(state_file.read_text())["state"] == "active"

        # Unpair and remove, confirmed.
        page.click("#peer button:has-text('Unpair')")
        _dialog(page, f"Stop sending backups to {address}?", "confirm", "no more backups")
        expect(page.locator("#pair-form")).to_be_visible()
        assert api.get("/api/v1/appliance/peer")["paired"] is False
        page.goto(console_url + "/backups")
        page.click(f"button[aria-label='Remove {address}']")
        _dialog(page, f"Remove {address} and every backup kept for it?", "confirm", "gone")
        expect(page.locator(f"button[aria-label='Remove {address}']")).to_have_count(0)
        assert api.get("/api/v1/backup-peers")["items"] == []
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        if api.get("/api/v1/appliance/peer")["paired"]:
            api.ok(api.call("DELETE", "/api/v1/appliance/peer?comment=test+done"))
        for peer in api.get("/api/v1/backup-peers")["items"]:
            api.ok(api.call("DELETE", f"/api/v1/backup-peers/{peer['id']}?comment=test+done"))
        set_detect_interval(api, interval)
        state_file.write_text(state_before)


def _offer_state(api: CentralApi, offer_id: int) -> str:
    return str(next(o for o in api.get("/api/v1/replacements")["items"]
                    if o["id"] == offer_id)["state"])  # fmt: skip
