"""Approve a restore in the console: three appliances on one lab network, as in the field.

A keeps a zone and is paired with B through both consoles (B makes the pairing token, A's
administrator types it in); A is destroyed; C comes up on A's address; B's console offers C
as a replacement, the administrator types C's fingerprint and restore code, follows the
progress to "restored", and C answers A's zone at A's address.
"""

from __future__ import annotations

from collections.abc import Iterator

import dns.rdatatype
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import (
    agent_fingerprint,
    appliance_state,
    last_change_at,
    set_detect_interval,
    wait_stored_after,
)
from tests.conftest import open_lab
from tests.harness.wait import wait_for
from tests.webui.conftest import VIEWPORT, login, pinned_chromium, shot

pytestmark = pytest.mark.sandbox

ZONE = "kept.restore.test."


@pytest.fixture
def restore_lab() -> Iterator[Lab]:
    with open_lab("wr") as made:
        yield made


def _page(browser: Browser) -> Page:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _answers(box: Sandbox, name: str, address: str) -> bool:
    try:
        answer = box.dns_query(name, "A")
    except OSError:
        return False
    return any(
        rr.rdtype == dns.rdatatype.A and rr.to_text() == address
        for rrset in answer.answer
        for rr in rrset
    )


def test_approve_a_restore_in_the_console(restore_lab: Lab, playwright_driver: Playwright) -> None:
    lab = restore_lab
    a = lab.sandbox("a")
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    set_detect_interval(on_b, 2)
    server = on_a.local_server("dns")
    zone = on_a.post(
        "/api/v1/dns/zones",
        {"server_id": server, "name": ZONE, "kind": "primary", "comment": "kept by A"},
    )
    on_a.post(
        f"/api/v1/dns/zones/{zone['id']}/changes",
        {"changes": [record("www", "A", "198.51.100.80")], "comment": "A's web server"},
    )
    wait_for(lambda: _answers(a, "www." + ZONE, "198.51.100.80"), timeout=30, what="A answers")

    browser = pinned_chromium(playwright_driver, a, b)
    try:
        on_b_page, on_a_page = _page(browser), _page(browser)
        login(on_b_page, f"https://{b.address}", *b.admin_credentials())
        login(on_a_page, f"https://{a.address}", *a.admin_credentials())

        # B's administrator makes a pairing token for A's address ...
        on_b_page.goto(f"https://{b.address}/backups")
        on_b_page.fill("#token-form #f-address", a.address)
        on_b_page.fill("#token-form #f-comment", "A's backups come here")
        on_b_page.click("button:has-text('Make a pairing token')")
        token = on_b_page.locator("#made-token").inner_text().strip()
        fingerprint = on_b_page.locator("#made-fingerprint").inner_text().strip()
        assert token and fingerprint.startswith("sha256:")

        # ... and A's administrator pairs A with B and backs up at once.
        on_a_page.goto(f"https://{a.address}/appliance")
        on_a_page.fill("#pair-form #f-address", b.address)
        on_a_page.fill("#pair-form #f-token", token)
        on_a_page.fill("#pair-form #f-fingerprint", fingerprint)
        on_a_page.fill("#pair-form #f-comment", "backups go to B")
        on_a_page.click("#pair-form button:has-text('Pair')")
        expect(on_a_page.locator("text=Paired: backups go to the peer")).to_be_visible()
        expect(on_a_page.locator("#peer-address")).to_have_text(f"{b.address}:1231")
        on_a_page.select_option("#backup-now #f-kind", "full")
        on_a_page.click("button:has-text('Back up now')")
        expect(on_a_page.locator("text=Backed up: the snapshot is stored")).to_be_visible()
        expect(on_a_page.locator("#backup-list tbody tr").first).not_to_contain_text("No backup")
        shot(on_a_page, "appliance-backups")
        peer_id = on_b.get("/api/v1/backup-peers")["items"][0]["id"]
        wait_stored_after(on_b, peer_id, last_change_at(on_a), timeout=60)

        # A is lost; C comes up on its address, fresh.
        a.stop(remove_root=True)
        a.root.root.mkdir()
        c = lab.sandbox("c", address=a.address, root_dir=a.root.root)
        state = appliance_state(c)
        assert state["state"] == "uninitialized"

        # B's console offers C; the administrator types what C's console shows.
        def offered() -> bool:
            on_b_page.goto(f"https://{b.address}/backups")
            return on_b_page.locator("#replacements form[id^=approve-]").count() > 0

        wait_for(offered, timeout=60, interval=1, what="the replacement offered in B's console")
        shot(on_b_page, "backups")
        approve = on_b_page.locator("#replacements form[id^=approve-]").first
        approve.locator("input[name=fingerprint]").fill("sha256:" + "0" * 64)
        approve.locator("input[name=restore_code]").fill(state["restore_code"])
        approve.locator("input[name=comment]").fill("A is gone; C replaces it")
        approve.locator("button:has-text('Restore from backup')").click()
        # A wrong fingerprint is refused at its field, and nothing is pushed.
        expect(on_b_page.locator("#replacements .field.invalid").first).to_be_visible()
        assert appliance_state(c)["state"] == "uninitialized"

        approve = on_b_page.locator("#replacements form[id^=approve-]").first
        approve.locator("input[name=fingerprint]").fill(agent_fingerprint(c))
        approve.locator("input[name=restore_code]").fill(state["restore_code"])
        approve.locator("input[name=comment]").fill("A is gone; C replaces it")
        approve.locator("button:has-text('Restore from backup')").click()
        expect(on_b_page.locator("text=The restore has started.")).to_be_visible()
        # The page follows the restore by itself until it ends.
        expect(on_b_page.locator("#restore-state")).to_have_text("restored", timeout=300_000)
        shot(on_b_page, "restore")

        c.wait_ready(timeout=120)
        wait_for(
            lambda: _answers(c, "www." + ZONE, "198.51.100.80"),
            timeout=60,
            what="C answering A's zone at A's address",
        )
        assert appliance_state(c)["state"] == "active"
        history = on_b.get("/api/v1/history?filter=object_type:replacement&sort=id")["items"]
        assert [h["action"] for h in history] == ["offer", "approve", "restore"]
    finally:
        browser.close()
