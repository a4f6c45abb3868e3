"""The IPAM discovery pages in headless Chromium against the console's sandbox appliance (real
Central): SNMP profiles made (a v3 one without a user refused at its field), changed with a
secret left empty (kept), and deleted after asking; their secrets never written into a page;
a sweep schedule of a range around the sandbox's own address (which answers ping) made (a
router one without router and profile refused at both fields), run now with its result shown,
and deleted; the discovered addresses listed; "sweep now" on the range's page showing what
answered. Every page is checked by axe-core, also at 390 px wide in the dark scheme.

Everything made is removed again (names start with ``hd-``); what discovery found stays
found, as it would on an appliance.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from services.sandbox.sandbox import Sandbox
from tests.ipam.test_ipam_sandbox import IPAM, Central
from tests.webui.axe import assert_accessible, check_narrow_and_dark
from tests.webui.conftest import VIEWPORT, admin_session, login

pytestmark = pytest.mark.sandbox

COMMUNITY = "hd-community-s3cret"
AUTH = "hd-auth-passphrase-1"
PRIV = "hd-priv-passphrase-1"
#: Milliseconds a page that sweeps may take (a second of pings, and late replies) on a busy
#: machine.
SWEEP_WAIT = 30_000


@pytest.fixture(scope="module")
def page(browser: Browser, console_box: Sandbox, console_url: str) -> Iterator[Page]:
    with admin_session(browser, console_box, console_url) as found:
        yield found


def _cleanup(central: Central) -> None:
    """Every schedule, profile and range of these tests gone (schedules first: they hold the
    others)."""
    for path in (
        f"{IPAM}/discovery/schedules",
        f"{IPAM}/snmp-profiles",
        f"{IPAM}/ranges",
        "/api/v1/users",
    ):
        for item in central.ok(central.call("GET", f"{path}?limit=1000"))["items"]:
            if item.get("name", item.get("username", "")).startswith("hd-"):
                central.ok(central.call("DELETE", f"{path}/{item['id']}"))


def _no_secret(page: Page) -> None:
    html = page.content()
    for secret in (COMMUNITY, AUTH, PRIV):
        assert secret not in html, f"a secret was written into {page.url}"


def test_profiles_schedules_sweeps_and_what_was_found(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    central = Central(console_box)
    own = ipaddress.ip_address(console_box.address)
    _cleanup(central)  # what a run stopped halfway may have left
    try:
        rng = central.ok(central.call("POST", f"{IPAM}/ranges", {
            "start": str(own), "end": str(own + 3), "name": "hd-sweep"}))  # fmt: skip

        # the page, from the IPAM tree's header
        page.goto(console_url + "/ipam")
        page.locator("nav[aria-label=IPAM] a", has_text="Discovery").click()
        expect(page.locator("h1")).to_have_text("Discovery")

        # a v3 profile without a user: refused at the user field, no passphrase written back
        form = page.locator("#create-profile")
        form.locator("#prf-f-name").fill("hd-v3")
        form.locator("#prf-f-version").select_option("3")
        expect(form.locator("#prf-f-community")).to_be_hidden()
        form.locator("#prf-f-auth_passphrase").fill(AUTH)
        form.locator("#prf-f-priv_passphrase").fill(PRIV)
        form.locator("button:has-text('Add profile')").click()
        expect(page.locator("#prf-e-user")).to_contain_text("user")
        expect(page.locator("#prf-f-name")).to_have_value("hd-v3")
        expect(page.locator("#prf-f-auth_passphrase")).to_have_value("")
        _no_secret(page)
        assert_accessible(page)
        # with a user (and the passphrases typed again): made, its passphrases "set"
        form = page.locator("#create-profile")
        form.locator("#prf-f-user").fill("hd-ops")
        form.locator("#prf-f-auth_protocol").select_option("sha512")
        form.locator("#prf-f-auth_passphrase").fill(AUTH)
        form.locator("#prf-f-priv_passphrase").fill(PRIV)
        form.locator("button:has-text('Add profile')").click()
        expect(page.locator("text=The SNMP profile was created.")).to_be_visible()
        expect(page.locator("#profile-list tr[data-name=hd-v3]")).to_contain_text(
            "user hd-ops, sha512 (set), aes128 (set)"
        )
        _no_secret(page)

        # a v2c profile: made, listed with its community "set" and never shown
        form = page.locator("#create-profile")
        form.locator("#prf-f-name").fill("hd-v2c")
        form.locator("#prf-f-version").select_option("2c")
        expect(form.locator("#prf-f-user")).to_be_hidden()
        form.locator("#prf-f-community").fill(COMMUNITY)
        form.locator("#prf-f-comment").fill("made in the browser test")
        form.locator("button:has-text('Add profile')").click()
        expect(page.locator("text=The SNMP profile was created.")).to_be_visible()
        row = page.locator("#profile-list tr[data-name=hd-v2c]")
        expect(row).to_contain_text("community set")
        _no_secret(page)

        # changed on its page with the community left empty: kept
        row.locator("a", has_text="hd-v2c").click()
        expect(page.locator("h1")).to_have_text("SNMP profile hd-v2c")
        expect(page.locator("#edit-set-community")).to_have_text("(set)")
        page.locator("#edit-f-description").fill("lab routers")
        page.locator("#edit-f-timeout").fill("soon")
        page.locator("button:has-text('Save profile')").click()
        expect(page.locator("#edit-e-timeout")).to_be_visible()
        page.locator("#edit-f-timeout").fill("1.5")
        page.locator("button:has-text('Save profile')").click()
        expect(page.locator("text=The SNMP profile was saved.")).to_be_visible()
        profile_id = int(page.url.split("/profiles/")[1].split("?")[0])
        saved = central.ok(central.call("GET", f"{IPAM}/snmp-profiles/{profile_id}"))
        assert (saved["description"], saved["timeout"], saved["community_set"]) == (
            "lab routers", 1.5, True)  # fmt: skip
        _no_secret(page)
        assert_accessible(page)
        profile_url = page.url

        # schedules: a router one lacking router and profile, refused at both fields
        page.goto(console_url + "/ipam/discovery")
        form = page.locator("#create-schedule")
        form.locator("#sch-f-name").fill("hd-router")
        form.locator("#sch-f-kind").select_option("router")
        expect(form.locator("#sch-f-range_id")).to_be_hidden()
        form.locator("button:has-text('Add schedule')").click()
        expect(page.locator("#sch-e-router")).to_be_visible()
        expect(page.locator("#sch-e-profile_id")).to_be_visible()

        # a sweep of the range: made, run now, its result shown and the address found
        form = page.locator("#create-schedule")
        form.locator("#sch-f-name").fill("hd-sweep")
        form.locator("#sch-f-kind").select_option("sweep")
        form.locator("#sch-f-range_id").select_option(str(rng["id"]))
        form.locator("#sch-f-interval_seconds").fill("1h")
        form.locator("button:has-text('Add schedule')").click()
        expect(page.locator("text=The discovery schedule was created")).to_be_visible()
        row = page.locator("#schedule-list tr[data-name=hd-sweep]")
        expect(row).to_contain_text(f"{own}\u2013{own + 3}")
        expect(row).to_contain_text("1h")
        row.locator("button:has-text('Run now')").click()
        # the run pings for a second or two, after the scheduled first run that may be going on
        expect(page.locator("#run-result")).to_contain_text(
            "The run of hd-sweep succeeded", timeout=SWEEP_WAIT
        )
        row = page.locator("#schedule-list tr[data-name=hd-sweep]")
        expect(row.locator("td[data-label=Result]")).to_have_text("ok")
        expect(row.locator("td[data-label=Found]")).to_contain_text("found")
        ran = central.ok(
            central.call("GET", f"{IPAM}/discovery/schedules/{row.get_attribute('data-id')}")
        )
        assert ran["last_found"] >= 1, ran
        seen = page.locator(f"#seen-list tr[data-address='{own}']")
        expect(seen.locator("td[data-label=Source]")).to_have_text("ping")
        assert_accessible(page)

        # the schedule's page, and its deletion after asking
        page.goto(console_url + "/ipam/discovery")
        row.locator("a", has_text="hd-sweep").click()
        expect(page.locator("h1")).to_have_text("Discovery schedule hd-sweep")
        expect(page.locator("#schedule-result")).to_have_text("ok")
        assert_accessible(page)
        schedule_url = page.url
        check_narrow_and_dark(page, [console_url + "/ipam/discovery", profile_url, schedule_url])
        page.goto(schedule_url)
        expect(page.locator("#edit-f-interval_seconds")).to_have_value("1h")
        page.locator("#edit-f-interval_seconds").fill("30s")
        page.locator("button:has-text('Save schedule')").click()
        expect(page.locator("#edit-e-interval_seconds")).to_be_visible()
        page.locator("#edit-f-interval_seconds").fill("2h")
        page.locator("#edit-f-comment").fill("less often")
        page.locator("button:has-text('Save schedule')").click()
        expect(page.locator("text=The discovery schedule was saved.")).to_be_visible()
        expect(page.locator("#schedule-facts")).to_contain_text("2h")
        page.locator("button:has-text('Delete schedule')").click()
        page.fill("#confirm-comment", "done with it")
        page.click("#confirm-ok")
        expect(page.locator("text=The discovery schedule was deleted.")).to_be_visible()
        expect(page.locator("#schedule-list tr[data-name=hd-sweep]")).to_have_count(0)

        # the profile deleted after asking
        page.goto(profile_url)
        page.locator("button:has-text('Delete profile')").click()
        page.fill("#confirm-comment", "done with it")
        page.click("#confirm-ok")
        expect(page.locator("text=The SNMP profile was deleted.")).to_be_visible()
        assert central.call("GET", f"{IPAM}/snmp-profiles/{profile_id}").status_code == 404

        # sweep now on the range's page: what answered, linked
        page.goto(f"{console_url}/ipam/ranges/{rng['id']}")
        page.locator("#sweep-now").click()
        page.fill("#confirm-comment", "swept in the browser test")
        page.click("#confirm-ok")
        expect(page.locator("#sweep-answer")).to_contain_text("The sweep found", timeout=SWEEP_WAIT)
        expect(page.locator("#sweep-answer a", has_text=str(own))).to_be_visible()
        expect(page.locator(f"#addr-grid a[href$='/addresses/{own}']")).to_have_accessible_name(
            re.compile(rf"^{re.escape(str(own))}: .*Discovered")
        )
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        _cleanup(central)


def test_a_read_only_user_sees_what_discovery_holds_and_no_form(
    browser: Browser, console_box: Sandbox, console_url: str
) -> None:
    central = Central(console_box)
    _cleanup(central)
    own = ipaddress.ip_address(console_box.address)
    password = "a-long-hd-viewer-password"
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        central.ok(central.call("POST", "/api/v1/users", {
            "username": "hd-viewer", "role": "read-only", "password": password}))  # fmt: skip
        rng = central.ok(central.call("POST", f"{IPAM}/ranges", {
            "start": str(own), "end": str(own + 3), "name": "hd-viewed"}))  # fmt: skip
        profile = central.ok(central.call("POST", f"{IPAM}/snmp-profiles", {
            "name": "hd-viewed", "version": "2c", "community": COMMUNITY}))  # fmt: skip
        page = context.new_page()
        login(page, console_url, "hd-viewer", password)
        page.goto(console_url + "/ipam/discovery")
        expect(page.locator("#profile-list tr[data-name=hd-viewed]")).to_contain_text(
            "community set"
        )
        expect(page.locator("#create-profile, #create-schedule")).to_have_count(0)
        page.goto(f"{console_url}/ipam/discovery/profiles/{profile['id']}")
        expect(page.locator("h1")).to_have_text("SNMP profile hd-viewed")
        expect(page.locator("#edit-profile")).to_have_count(0)
        _no_secret(page)
        page.goto(f"{console_url}/ipam/ranges/{rng['id']}")
        expect(page.locator("#addr-grid li")).to_have_count(4)
        expect(page.locator("#sweep-now")).to_have_count(0)
    finally:
        context.close()
        _cleanup(central)
