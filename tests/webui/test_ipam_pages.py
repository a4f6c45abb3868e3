"""The IPAM pages in headless Chromium against a real appliance (Central, named and Kea): the
tree with its utilisation, DHCP scope and reverse zone; blocks, ranges and properties made,
changed and refused at the bad field; a range's address grid paged, coloured and lettered
from named's records, with next free, claim and release; an address's page with its
sources, disagreements and history. Every page is checked by axe-core, also at 390 px wide in
the dark scheme.

Everything made is removed again: the tests share the console's appliance with the other
console tests (whose records and leases may use addresses of its network too: the checks are
on the addresses these tests use themselves).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from services.sandbox.sandbox import Sandbox
from tests.ipam.test_ipam_sandbox import IPAM, Central
from tests.webui.axe import assert_accessible, check_narrow_and_dark
from tests.webui.conftest import admin_session

pytestmark = pytest.mark.sandbox

FORWARD = "ipam-console.test."
BLOCK = "10.98.0.0/16"


@pytest.fixture(scope="module")
def page(browser: Browser, console_box: Sandbox, console_url: str) -> Iterator[Page]:
    with admin_session(browser, console_box, console_url) as found:
        yield found


@pytest.fixture(scope="module")
def central(console_box: Sandbox) -> Central:
    return Central(console_box)


def _cleanup(central: Central, zones: tuple[str, ...] = (FORWARD,)) -> None:
    """Every range and block of these tests, their properties and zones, gone."""
    ranges = central.ok(central.call("GET", f"{IPAM}/ranges?limit=1000"))["items"]
    for rng in ranges:
        if rng["name"].startswith("bt-"):
            claims = central.ok(central.call("GET", f"{IPAM}/ranges/{rng['id']}/claims"))
            for claim in claims["items"]:
                central.call("DELETE", f"{IPAM}/ranges/{rng['id']}/claims/{claim['address']}")
            central.ok(central.call("DELETE", f"{IPAM}/ranges/{rng['id']}"))
    blocks = central.ok(central.call("GET", f"{IPAM}/blocks?limit=1000&sort=-first"))["items"]
    for block in blocks:
        if block["prefix"].startswith("10.98."):
            central.ok(central.call("DELETE", f"{IPAM}/blocks/{block['id']}"))
    for name in ("btvlan", "btsite"):
        central.call("DELETE", f"{IPAM}/properties/{name}")
    for zone in zones:
        found = central.ok(central.call("GET", f"/api/v1/dns/zones?filter=name:{zone}"))
        for item in found["items"]:
            central.ok(central.call("DELETE", f"/api/v1/dns/zones/{item['id']}"))


def _reverse(box: Sandbox) -> str:
    octets = str(box.network.network_address).split(".")
    return f"{octets[2]}.{octets[1]}.{octets[0]}.in-addr.arpa."


def test_tree_blocks_ranges_and_properties(
    console_box: Sandbox, console_url: str, page: Page, central: Central
) -> None:
    box = console_box
    net = box.network
    dns_id = central.local_server("dns")
    reverse = _reverse(box)
    _cleanup(central)  # what a run stopped halfway may have left
    had_reverse = central.ok(central.call("GET", f"/api/v1/dns/zones?filter=name:{reverse}"))
    try:
        if not had_reverse["total"]:
            central.ok(central.call("POST", "/api/v1/dns/zones",
                                    {"server_id": dns_id, "name": reverse}))  # fmt: skip
        # properties: defined on their page; a choice without choices is refused at its field
        page.goto(console_url + "/ipam/properties")
        expect(page.locator("h1")).to_have_text("Custom properties")
        form = page.locator("#create-property")
        form.locator("#prop-f-name").fill("btvlan")
        form.locator("#prop-f-kind").select_option("number")
        form.locator("button:has-text('Define property')").click()
        expect(page.locator("text=The property was defined.")).to_be_visible()
        form = page.locator("#create-property")
        form.locator("#prop-f-name").fill("btsite")
        form.locator("#prop-f-kind").select_option("choice")
        form.locator("button:has-text('Define property')").click()
        expect(page.locator("#prop-e-choices")).to_be_visible()
        form = page.locator("#create-property")
        form.locator("#prop-f-choices").fill("lab, office")
        form.locator("button:has-text('Define property')").click()
        expect(page.locator("#properties tr[data-name=btsite]")).to_contain_text("lab, office")
        assert_accessible(page)

        # a block: host bits set, then a number property that is none, each at its field
        page.goto(console_url + "/ipam")
        expect(page.locator("h1")).to_have_text("IP address management")
        form = page.locator("#create-block")
        form.locator("#blk-f-prefix").fill("10.98.0.1/16")
        form.locator("#blk-f-name").fill("bt-site")
        form.locator("button:has-text('Add block')").click()
        expect(page.locator("#blk-e-prefix")).to_contain_text("host bits")
        expect(page.locator("#blk-f-name")).to_have_value("bt-site")
        form = page.locator("#create-block")
        form.locator("#blk-f-prefix").fill(BLOCK)
        form.locator("#blk-f-prop-btvlan").fill("twelve")
        form.locator("#blk-f-prop-btsite").select_option("lab")
        form.locator("button:has-text('Add block')").click()
        expect(page.locator("#blk-e-prop-btvlan")).to_be_visible()
        assert central.ok(central.call("GET", f"{IPAM}/blocks?filter=prefix:{BLOCK}"))[
            "total"] == 0  # fmt: skip
        page.locator("#blk-f-prop-btvlan").fill("12")
        page.locator("#create-block button:has-text('Add block')").click()
        expect(page.locator("text=The block was created.")).to_be_visible()
        block = central.ok(central.call("GET", f"{IPAM}/blocks?filter=prefix:{BLOCK}"))["items"][0]
        assert block["properties"] == {"btvlan": 12, "btsite": "lab"}

        # a range in it: end before start at the end field; then made, and shown in the tree
        form = page.locator("#create-range")
        form.locator("#rng-f-start").fill("10.98.1.9")
        form.locator("#rng-f-end").fill("10.98.1.1")
        form.locator("#rng-f-block_id").select_option(str(block["id"]))
        form.locator("#rng-f-name").fill("bt-paged")
        form.locator("button:has-text('Add range')").click()
        expect(page.locator("#rng-e-end")).to_contain_text("comes before")
        page.locator("#rng-f-start").fill("10.98.0.0")
        page.locator("#rng-f-end").fill("10.98.3.255")
        page.locator("#create-range button:has-text('Add range')").click()
        expect(page.locator("text=The range was created.")).to_be_visible()
        expect(page.locator("h1")).to_have_text("Range 10.98.0.0\u201310.98.3.255 (bt-paged)")

        # the sandbox's network as a range: its DHCP scope and reverse zone in the tree
        page.goto(console_url + "/ipam")
        form = page.locator("#create-range")
        form.locator("#rng-f-start").fill(str(net[0]))
        form.locator("#rng-f-end").fill(str(net[-1]))
        form.locator("#rng-f-name").fill("bt-lan")
        form.locator("button:has-text('Add range')").click()
        expect(page.locator("text=The range was created.")).to_be_visible()
        page.goto(console_url + "/ipam")
        lan = page.locator("#ipam-tree tr[data-kind=range]", has_text=f"{net[0]}\u2013{net[-1]}")
        expect(lan.locator("td[data-label='DHCP scopes']")).to_contain_text(str(net))
        expect(lan.locator("td[data-label='Reverse zones']")).to_contain_text(reverse)
        expect(lan.locator("meter")).to_be_visible()
        site = page.locator("#ipam-tree tr[data-kind=block]", has_text=BLOCK)
        expect(site.locator("td[data-label=Used]")).to_contain_text("/ 65,536")
        assert_accessible(page)

        # the block changed on its page; deleting it while it holds a range is refused
        site.locator("a", has_text=BLOCK).click()
        expect(page.locator("h1")).to_have_text(f"Block {BLOCK}")
        page.locator("#edit-f-name").fill("bt-site-renamed")
        page.locator("#edit-f-prop-btvlan").fill("")
        page.locator("#edit-f-comment").fill("renamed in the browser test")
        page.locator("button:has-text('Save block')").click()
        expect(page.locator("text=The block was saved.")).to_be_visible()
        changed = central.ok(central.call("GET", f"{IPAM}/blocks/{block['id']}"))
        assert (changed["name"], changed["properties"]) == ("bt-site-renamed", {"btsite": "lab"})
        page.locator("button:has-text('Delete block')").click()
        page.fill("#confirm-comment", "should be refused")
        page.click("#confirm-ok")
        expect(page.locator(".error.banner")).to_contain_text("range")
        assert_accessible(page)
        check_narrow_and_dark(page, [console_url + "/ipam", console_url + "/ipam/properties",
                                     f"{console_url}/ipam/blocks/{block['id']}"])  # fmt: skip
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        _cleanup(central, () if had_reverse["total"] else (reverse,))


def test_grid_and_address_page(
    console_box: Sandbox, console_url: str, page: Page, central: Central
) -> None:
    box = console_box
    net = box.network
    dns_id = central.local_server("dns")
    lone = str(net[25])  # an A record without a PTR: a disagreement
    _cleanup(central)  # what a run stopped halfway may have left
    try:
        zone = central.ok(central.call("POST", "/api/v1/dns/zones",
                                       {"server_id": dns_id, "name": FORWARD}))  # fmt: skip
        central.ok(central.call("POST", f"/api/v1/dns/zones/{zone['id']}/changes", {"changes": [
            {"action": "create", "record": {"name": f"lone.{FORWARD}", "type": "A",
                                            "data": lone}}], "comment": "bt record"}))  # fmt: skip
        lan = central.ok(central.call("POST", f"{IPAM}/ranges", {
            "start": str(net[0]), "end": str(net[-1]), "name": "bt-lan"}))  # fmt: skip
        big = central.ok(central.call("POST", f"{IPAM}/ranges", {
            "start": "10.98.0.0", "end": "10.98.3.255", "name": "bt-paged"}))  # fmt: skip

        # a range of 1,024 addresses: four pages of 256, with navigation and "go to"
        page.goto(f"{console_url}/ipam/ranges/{big['id']}")
        expect(page.locator("#addr-grid li")).to_have_count(256)
        expect(page.locator(".pager-where").first).to_contain_text("page 1 of 4")
        expect(page.locator("#addr-grid a").first).to_have_accessible_name("10.98.0.0: free")
        page.locator("a[rel=next]").first.click()
        expect(page.locator("#addr-grid a").first).to_have_attribute("href", re.compile(
            r"/addresses/10\.98\.1\.0$"))  # fmt: skip
        page.fill("#go-at", "10.98.3.7")
        page.locator("#addresses button:has-text('Show')").click()
        expect(page.locator("h2", has_text="Addresses 10.98.3.0\u201310.98.3.255")).to_be_visible()
        assert_accessible(page)

        # the sandbox's network: the lone A record is a disagreement, lettered and named
        page.goto(f"{console_url}/ipam/ranges/{lan['id']}")
        expect(page.locator("#addr-grid li")).to_have_count(net.num_addresses)
        cell = page.locator(f"#addr-grid a[href$='/addresses/{lone}']")
        expect(cell).to_have_attribute("data-state", "problem")
        expect(cell).to_have_accessible_name(re.compile(r"disagreement.*A record"))
        expect(cell.locator(".letter")).to_have_text("!")
        expect(page.locator(".legend")).to_contain_text("claimed")
        assert_accessible(page)

        # next free, then the next free claimed: its page says claimed; released again
        page.locator("#next-free").click()
        expect(page.locator("#next-free-answer")).to_contain_text("The next free address is")
        looked = page.locator("#next-free-answer a").inner_text()
        assert looked == central.ok(central.call(
            "GET", f"{IPAM}/ranges/{lan['id']}/next-free-address"))["address"]  # fmt: skip
        claim = page.locator("#claim")
        claim.locator("#claim-f-owner").fill("bt-owner")
        claim.locator("#claim-f-comment").fill("claimed in the browser test")
        claim.locator("button:has-text('Claim the next free address')").click()
        expect(page.locator("text=The address was claimed.")).to_be_visible()
        expect(page.locator("#address-state")).to_contain_text("claimed")
        expect(page.locator("#sources tr[data-kind=claim]")).to_contain_text("bt-owner")
        expect(page.locator("#history")).to_contain_text("ipam-claim")
        claimed = page.locator("h1").inner_text().removeprefix("Address ")
        # claiming it again from the grid: refused at the address field
        page.goto(f"{console_url}/ipam/ranges/{lan['id']}")
        page.locator("#claim-f-address").fill(claimed)
        page.locator("#claim button:has-text('Claim this address')").click()
        expect(page.locator("#claim-e-address")).to_be_visible()
        expect(page.locator(f"#addr-grid a[href$='/addresses/{claimed}']")).to_have_attribute(
            "data-state", "claimed"
        )
        page.goto(f"{console_url}/ipam/ranges/{lan['id']}/addresses/{claimed}")
        page.locator("button:has-text('Release the claim')").click()
        page.fill("#confirm-comment", "done with it")
        page.click("#confirm-ok")
        expect(page.locator("text=The claim was released.")).to_be_visible()
        assert central.call("GET", f"{IPAM}/ranges/{lan['id']}/claims/{claimed}").status_code \
            == 404  # fmt: skip

        # the lone record's page: its source, the disagreement in words, its history
        page.goto(f"{console_url}/ipam/ranges/{lan['id']}/addresses/{lone}")
        expect(page.locator("#address-state")).to_contain_text("disagreement")
        expect(page.locator("#sources tr[data-kind=a]")).to_contain_text(f"lone.{FORWARD}")
        expect(page.locator("#disagreements li[data-problem=a-without-ptr]")).to_be_visible()
        expect(page.locator("#history")).to_contain_text("dns-zone")
        assert_accessible(page)
        check_narrow_and_dark(page, [
            f"{console_url}/ipam/ranges/{lan['id']}",
            f"{console_url}/ipam/ranges/{lan['id']}/addresses/{lone}",
        ])  # fmt: skip
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        _cleanup(central)


def test_the_users_page_offers_the_ipam_administrator_role(console_url: str, page: Page) -> None:
    page.goto(console_url + "/users")
    expect(page.locator("#f-role option[value=ipam-admin]")).to_have_text("IPAM administrator")
