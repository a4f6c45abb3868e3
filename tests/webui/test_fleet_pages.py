"""The fleet in the consoles of two appliances on one lab network (docs/fleet.md).

B's console makes a join code; A is started with that fleet in its first-boot seed while B's
Central is down, tries again until B's Central is back and joins; B's Fleet page lists A with
its servers' health, A's says who manages it. A leaves from its console, is refused a join
with a wrong fingerprint and the used code (each at its field), joins with a new code, and B
removes it with the confirm dialog. The Fleet pages of both sides pass axe-core narrow and
dark.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from services.appliance import firstboot
from services.sandbox.lab import Lab
from tests.backups.appliance import CentralApi
from tests.conftest import open_lab
from tests.harness.wait import wait_for
from tests.webui.axe import check_narrow_and_dark
from tests.webui.conftest import VIEWPORT, login, pinned_chromium

pytestmark = pytest.mark.sandbox

#: Milliseconds a join, a leave or a removal may take (each waits for the agents' new
#: certificates, at most 30 s, and a removal tells the other Central first).
SLOW = 120_000


@pytest.fixture
def fleet_lab() -> Iterator[Lab]:
    with open_lab("wf") as made:
        yield made


def _page(browser: Browser) -> Page:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    found = context.new_page()
    errors: list[str] = []
    found.on("pageerror", lambda exc: errors.append(str(exc)))
    found.errors = errors  # type: ignore[attr-defined]
    return found


def _make_code(page: Page, url: str) -> dict[str, str]:
    page.goto(url + "/fleet")
    page.select_option("#f-expires_in_seconds", "3600")
    page.fill("#code-f-comment", "the branch appliance")
    page.click("button:has-text('Make a join code')")
    expect(page.locator("#join-code")).to_be_visible(timeout=SLOW)
    shown = {
        key: page.locator(f"#made-{key}").inner_text().strip()
        for key in ("address", "fingerprint", "code", "expires")
    }
    assert shown["code"].startswith("bwf_") and shown["expires"].endswith("UTC")
    return shown


def _join_form(page: Page, address: str, fingerprint: str, code: str) -> None:
    page.fill("#join-form #f-address", address)
    page.fill("#join-form #f-port", "1231")
    page.fill("#join-form #f-ca_fingerprint", fingerprint)
    page.fill("#join-form #f-code", code)
    page.click("#join-form button:has-text('Join the fleet')")


def _membership(api: CentralApi) -> dict[str, Any]:
    found: dict[str, Any] = api.get("/api/v1/fleet/membership")
    return found


def test_fleet_pages_and_a_join_from_the_first_boot_seed(
    fleet_lab: Lab, playwright_driver: Playwright
) -> None:
    lab = fleet_lab
    b = lab.sandbox("b")
    on_b = CentralApi(b)
    b_url = f"https://{b.address}"
    # A is made now so that the browser can trust its console's certificate later.
    a = lab.sandbox("a", start=False)
    browser = pinned_chromium(playwright_driver, b)
    try:
        on_b_page = _page(browser)
        login(on_b_page, b_url, *b.admin_credentials())
        made = _make_code(on_b_page, b_url)
        assert made["address"] == f"{b.address}:1231"
        check_narrow_and_dark(on_b_page, [b_url + "/fleet"])

        # A's first boot gets B's fleet on its kernel command line; B's Central is down
        # while A comes up, so A's Central tries again until it is back.
        cmdline = (
            f"burrow.fleet_address={b.address} burrow.fleet_fingerprint={made['fingerprint']} "
            f"burrow.fleet_code={made['code']}"
        )
        fb = firstboot.parse_cmdline(cmdline, "eth0")
        assert fb is not None
        a.root.etc.mkdir(parents=True, exist_ok=True)
        assert firstboot.hand_fleet_join_to_central(a.root, fb)
        b.supervisor().call("supervisor.stopProcess", "central")
        try:
            a.start()
            on_a = CentralApi(a)
            waiting = wait_for(
                lambda: (_membership(on_a).get("seed_join") or {}).get("attempts", 0) >= 1
                and _membership(on_a)["seed_join"],
                timeout=60, interval=1, what="A's first try to join",
            )  # fmt: skip
            assert waiting["state"] == "waiting" and not _membership(on_a)["joined"]
        finally:
            b.supervisor().call("supervisor.startProcess", "central")
        wait_for(b.check_central, timeout=60, what="B's Central back")
        # The membership is recorded a moment before the seed's own state says "joined".
        joined = wait_for(
            lambda: (m := _membership(on_a))["joined"]
            and (m.get("seed_join") or {}).get("state") == "joined" and m,
            timeout=120, interval=1, what="A joined B's fleet from its seed",
        )  # fmt: skip
        assert joined["address"] == b.address and joined["seed_join"]["state"] == "joined"
        assert not (a.root.etc / "fleet-join.json").exists()
        logs = "".join(p.read_text(errors="replace") for p in a.root.logs.glob("*") if p.is_file())
        assert made["code"] not in logs

        # B's Fleet page lists A with its servers' health.
        def listed_reachable() -> bool:
            on_b_page.goto(b_url + "/fleet")
            row = on_b_page.locator("#members tbody tr", has_text=a.address)
            return row.count() == 1 and row.locator(".state-reachable").count() == 3

        wait_for(listed_reachable, timeout=60, interval=1, what="A's servers reachable at B")

        # A's console says who manages it; A leaves from there.
        browser.close()
        browser = pinned_chromium(playwright_driver, b, a)
        on_b_page, on_a_page = _page(browser), _page(browser)
        login(on_b_page, b_url, *b.admin_credentials())
        a_url = f"https://{a.address}"
        login(on_a_page, a_url, *a.admin_credentials())
        on_a_page.goto(a_url + "/fleet")
        expect(on_a_page.locator("#managed-note")).to_contain_text(b.address)
        expect(on_a_page.locator("#managing-console")).to_have_attribute("href", b_url + "/")
        expect(on_a_page.locator("#seed-state")).to_have_text("joined")
        check_narrow_and_dark(on_a_page, [a_url + "/fleet"])
        on_a_page.goto(a_url + "/dns/zones")  # every page of A's console says it
        expect(on_a_page.locator("#fleet-banner")).to_contain_text(b.address)
        on_a_page.goto(a_url + "/fleet")
        on_a_page.click("#leave-form button:has-text('Leave the fleet')")
        expect(on_a_page.locator("#confirm-message")).to_contain_text(b.address)
        on_a_page.click("#confirm-cancel")
        assert _membership(on_a)["joined"]
        on_a_page.click("#leave-form button:has-text('Leave the fleet')")
        on_a_page.fill("#confirm-comment", "back on its own")
        on_a_page.click("#confirm-ok")
        expect(on_a_page.locator("text=This appliance left the fleet")).to_be_visible(timeout=SLOW)
        assert not _membership(on_a)["joined"]
        assert on_b.get("/api/v1/fleet/members")["total"] == 0
        expect(on_a_page.locator("#fleet-banner")).to_have_count(0)

        # A joins from its console: a wrong fingerprint and the used code at their fields.
        on_a_page.goto(a_url + "/fleet")
        _join_form(on_a_page, b.address, ":".join(["AB"] * 32), made["code"])
        expect(on_a_page.locator("#join-form #e-ca_fingerprint")).to_contain_text(
            "another fingerprint", timeout=SLOW
        )
        expect(on_a_page.locator("#join-form #f-code")).to_have_value("")
        _join_form(on_a_page, b.address, made["fingerprint"], made["code"])
        expect(on_a_page.locator("#join-form #e-code")).to_contain_text(
            "used already", timeout=SLOW
        )
        assert not _membership(on_a)["joined"]
        fresh = _make_code(on_b_page, b_url)
        _join_form(on_a_page, b.address, fresh["fingerprint"], fresh["code"])
        expect(on_a_page.locator("text=This appliance joined the fleet")).to_be_visible(
            timeout=SLOW
        )
        assert _membership(on_a)["joined"]

        # B removes A with the confirm dialog.
        on_b_page.goto(b_url + "/fleet")
        remove = on_b_page.locator("#members tbody tr", has_text=a.address).locator(
            "button:has-text('Remove')"
        )
        remove.click()
        on_b_page.click("#confirm-cancel")
        assert on_b.get("/api/v1/fleet/members")["total"] == 1
        remove.click()
        on_b_page.fill("#confirm-comment", "the branch closed")
        on_b_page.click("#confirm-ok")
        expect(on_b_page.locator("text=The appliance was removed from the fleet")).to_be_visible(
            timeout=SLOW
        )
        expect(on_b_page.locator("#members")).not_to_contain_text(a.address)
        assert not _membership(on_a)["joined"]
        for page in (on_a_page, on_b_page):
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        browser.close()
