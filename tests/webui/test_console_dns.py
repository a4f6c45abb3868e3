"""The console's DNS pages in headless Chromium against a real appliance: TTLs in unit form,
search across zones, export and import with its preview, a zone's SOA and options, the
server's options, bulk selection on a long record list. Every write is checked where it lands
(named's answers, Central's API); axe-core and the duplicate-id check run on every DNS page.

One browser page, logged in once, serves the whole module; every zone, key and option the
tests make or change is removed or put back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dns.rdatatype
import pytest
from playwright.sync_api import Browser, Page, expect

from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for
from tests.webui.axe import assert_accessible, check_narrow_and_dark
from tests.webui.conftest import admin_session

pytestmark = pytest.mark.sandbox

ZONE = "dns-console.example."
COPY = "dns-console-copy.example."


def _api(box: Sandbox, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
    answer = box.https(1231, "/api/v1" + path, timeout, method=method, token=box.central_token(),
                       json_body=body)  # fmt: skip
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def _server_id(box: Sandbox) -> int:
    found = _api(box, "GET", "/servers?filter=local:true kind:dns")
    return int(found["items"][0]["id"])


def _zone_by_name(box: Sandbox, name: str) -> dict[str, Any] | None:
    found = _api(box, "GET", f"/dns/zones?filter=name:{name}")
    return found["items"][0] if found["items"] else None


def _delete_zone(box: Sandbox, name: str) -> None:
    zone = _zone_by_name(box, name)
    if zone is not None:
        _api(box, "DELETE", f"/dns/zones/{zone['id']}?comment=test+done")


def _records(box: Sandbox, zone_id: int, filter: str) -> list[dict[str, Any]]:
    found = _api(box, "GET", f"/dns/zones/{zone_id}/records?filter={filter}&limit=1000")
    return list(found["items"])


@pytest.fixture(scope="module")
def zone(console_box: Sandbox) -> Iterator[dict[str, Any]]:
    """A primary zone of this module's own, with 120 records (two pages of 100)."""
    box = console_box
    for name in (ZONE, COPY):
        _delete_zone(box, name)
    records = [
        {"name": f"host{n:03d}", "type": "A", "ttl": 300, "data": f"198.51.100.{n % 200 + 20}"}
        for n in range(120)
    ] + [{"name": "www", "type": "A", "ttl": 300, "data": "198.51.100.10"}]
    body = {"server_id": _server_id(box), "name": ZONE, "records": records, "comment": "test"}
    made = _api(box, "POST", "/dns/zones", body)
    try:
        yield made
    finally:
        for name in (ZONE, COPY):
            _delete_zone(box, name)


@pytest.fixture(scope="module")
def page(browser: Browser, console_box: Sandbox, console_url: str) -> Iterator[Page]:
    """One page, logged in as the administrator, for the module."""
    with admin_session(browser, console_box, console_url) as found:
        yield found


def _served_ttl(box: Sandbox, name: str, rdtype: str = "A") -> int | None:
    answer = box.dns_query(name, rdtype)
    for rrset in answer.answer:
        if rrset.rdtype == dns.rdatatype.from_text(rdtype):
            return int(rrset.ttl)
    return None


def _confirm(page: Page, comment: str) -> None:
    """The console's confirm dialog: give the save comment and confirm."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    if page.locator("#confirm-comment").is_visible():
        page.fill("#confirm-comment", comment)
    page.click("#confirm-ok")


def test_ttls_in_unit_form_and_a_txt_with_spaces(
    console_box: Sandbox, console_url: str, page: Page, zone: dict[str, Any]
):
    box = console_box
    page.goto(f"{console_url}/dns/zones/{zone['id']}")
    assert_accessible(page)
    form = page.locator("#add-record")
    form.locator("#f-name").fill("ttl-units")
    form.locator("#f-data").fill("198.51.100.11")
    form.locator("#f-ttl").fill("1h30m")
    form.locator("#f-comment").fill("TTL in units")
    form.locator("button:has-text('Add record')").click()
    expect(page.locator("text=The record was added.")).to_be_visible()
    owner = "ttl-units." + ZONE
    wait_for(lambda: _served_ttl(box, owner) == 5400, timeout=20, what="named serving TTL 5400")
    assert _records(box, zone["id"], "name~ttl-units")[0]["ttl"] == 5400
    page.goto(f"{console_url}/dns/zones/{zone['id']}?q=name~ttl-units")
    row = page.locator("#records tbody tr", has_text="ttl-units")
    expect(row.locator("td[data-label=TTL]")).to_have_text("1h30m")
    # The edit form shows the unit form and takes it back.
    row.locator("text=Edit").click()
    editing = page.locator("#records tr.editing")
    expect(editing.locator("input[name=ttl]")).to_have_value("1h30m")
    editing.locator("input[name=ttl]").fill("1h30")
    editing.locator("button:has-text('Save')").click()
    expect(page.locator("#records tr.editing .error")).to_contain_text("is not a duration")
    assert_accessible(page)
    page.locator("#records tr.editing input[name=ttl]").fill("2D")
    page.locator("#records tr.editing button:has-text('Save')").click()
    expect(page.locator("text=The record was saved.")).to_be_visible()
    wait_for(lambda: _served_ttl(box, owner) == 172800, timeout=20, what="named serving 2 days")
    expect(page.locator("#records tbody tr", has_text="ttl-units")).to_contain_text("2d")
    # A TXT value with spaces, unquoted, is one string, shown and served as given.
    form = page.locator("#add-record")
    form.locator("#f-name").fill("_dmarc")
    form.locator("#f-type").select_option("TXT")
    form.locator("#f-data").fill("v=DMARC1; p=reject; rua=mailto:dmarc@example.org")
    form.locator("button:has-text('Add record')").click()
    expect(page.locator("text=The record was added.")).to_be_visible()

    def strings() -> list[bytes]:
        answer = box.dns_query("_dmarc." + ZONE, "TXT")
        return [s for rrset in answer.answer for rd in rrset for s in rd.strings]

    wanted = [b"v=DMARC1; p=reject; rua=mailto:dmarc@example.org"]
    wait_for(lambda: strings() == wanted, timeout=20, what="named serving the TXT whole")
    assert page.errors == []  # type: ignore[attr-defined]


def test_search_across_zones(
    console_box: Sandbox, console_url: str, page: Page, zone: dict[str, Any]
):
    page.goto(f"{console_url}/dns/zones")
    assert_accessible(page)
    page.click("text=Search every zone")
    expect(page.locator("h1")).to_have_text("Search DNS")
    page.fill("#q", "host007")
    page.click("form[role=search] button:has-text('Search')")
    found = page.locator("#search-records tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(ZONE)
    expect(found).to_contain_text("198.51.100.27")
    assert_accessible(page)
    # By data, narrowed by type; and a zone by its name.
    page.goto(f"{console_url}/dns/search?q=dns-console+type:A+data~198.51.100.10")
    expect(page.locator("#found-zones")).to_contain_text(ZONE)
    expect(page.locator("#search-records tbody tr", has_text="www." + ZONE)).to_have_count(1)
    # The row leads to the record in its zone.
    page.locator("#search-records a", has_text="www." + ZONE).click()
    expect(page.locator("h1")).to_have_text(ZONE)
    expect(page.locator("#records tbody tr")).to_have_count(1)
    # A term the search does not know is said at the field, in words.
    page.goto(f"{console_url}/dns/search?q=colour:blue")
    expect(page.locator("#e-q")).to_contain_text("colour")
    expect(page.locator("#q")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)


def test_export_then_import_with_the_preview(
    console_box: Sandbox, console_url: str, page: Page, zone: dict[str, Any]
):
    box = console_box
    page.goto(f"{console_url}/dns/zones/{zone['id']}")
    with page.expect_download() as download:
        page.click("#export-zone")
    saved = download.value
    assert saved.suggested_filename == "dns-console.example.zone"
    text = saved.path().read_text(encoding="utf-8")
    assert "host007" in text and "198.51.100.27" in text and " SOA " in text
    # The same file as another zone: the names change, one line outside the new zone added.
    copy = text.replace(ZONE, COPY) + "outside.example. 300 IN A 198.51.100.99\n"
    bad_line = copy.count("\n")
    page.goto(f"{console_url}/dns/zones")
    form = page.locator("#import-zone")
    form.locator("#import-f-name").fill(COPY)
    form.locator("#f-text").fill(copy)
    form.locator("button:has-text('Preview')").click()
    refused = page.locator("#import-refused tbody tr")
    expect(refused).to_have_count(1)
    expect(refused.locator("td").first).to_have_text(str(bad_line))
    expect(refused).to_contain_text("outside the zone")
    expect(page.locator("#import-preview")).to_contain_text("only with")
    assert_accessible(page)
    assert _zone_by_name(box, COPY) is None  # the preview made nothing
    page.locator("#import-zone input[name=leave_out_refused]").check()
    page.locator("#import-zone button[value=import]").click()
    expect(page.locator("text=without the refused records")).to_be_visible()
    made = _zone_by_name(box, COPY)
    source = _zone_by_name(box, ZONE)
    assert made is not None and source is not None
    assert made["record_count"] == source["record_count"]
    wait_for(lambda: _served_ttl(box, "host007." + COPY) == 300, timeout=20,
             what="named serving the imported copy")  # fmt: skip


def test_soa_and_zone_options(
    console_box: Sandbox, console_url: str, page: Page, zone: dict[str, Any]
):
    box = console_box
    body = {"server_id": zone["server_id"], "name": "console-xfr", "comment": "test"}
    key = _api(box, "POST", "/dns/tsig-keys", body)
    try:
        page.goto(f"{console_url}/dns/zones/{zone['id']}")
        page.click("text=Settings: SOA and zone options")
        expect(page.locator("h1")).to_contain_text("settings")
        expect(page.locator("#dnssec-policy")).to_have_text("not signed")
        assert_accessible(page)
        soa = page.locator("#soa")
        expect(soa.locator("#soa-f-refresh")).to_have_value("1h")
        soa.locator("#soa-f-retry").fill("soon")
        soa.locator("#soa-f-refresh").fill("2h")
        soa.locator("button:has-text('Save SOA')").click()
        expect(page.locator("#soa-e-retry")).to_contain_text("is not a duration")
        assert_accessible(page)
        page.locator("#soa-f-retry").fill("20m")
        page.locator("#soa-f-minimum").fill("10m")
        page.locator("#soa-f-comment").fill("longer refresh")
        page.locator("#soa button:has-text('Save SOA')").click()
        expect(page.locator("text=The zone's SOA and default TTL were saved.")).to_be_visible()

        def served_soa() -> tuple[int, int, int] | None:
            answer = box.dns_query(ZONE, "SOA")
            for rrset in answer.answer:
                for rd in rrset:
                    return rd.refresh, rd.retry, rd.minimum
            return None

        wait_for(lambda: served_soa() == (7200, 1200, 600), timeout=20,
                 what="named serving the new SOA timers")  # fmt: skip
        # Options: a grant line that is not one is named at its line; then saved.
        options = page.locator("#zone-options")
        options.locator("#opt-f-allow_transfer").fill("198.51.100.0/27")
        options.locator("label", has_text="console-xfr").first.locator("input").check()
        options.locator("#opt-f-update_grants").fill("console-xfr everything TXT")
        options.locator("button:has-text('Save options')").click()
        expect(page.locator("#opt-e-update_grants")).to_contain_text("line 1")
        assert_accessible(page)
        page.locator("#opt-f-update_grants").fill("console-xfr subdomain dyn TXT A")
        page.locator("#opt-f-allow_transfer").fill("198.51.100.0/27 not-a-net")
        page.locator("#zone-options button:has-text('Save options')").click()
        expect(page.locator("#opt-e-allow_transfer")).to_contain_text("entry 2")
        page.locator("#opt-f-allow_transfer").fill("198.51.100.0/27")
        page.locator("#zone-options button:has-text('Save options')").click()
        expect(page.locator("text=The zone's options were saved")).to_be_visible()
        got = _api(box, "GET", f"/dns/zones/{zone['id']}")["options"]
        assert got["allow_transfer"] == ["198.51.100.0/27"]
        assert got["transfer_keys"] == ["console-xfr"]
        assert got["update_grants"] == [
            {"key": "console-xfr", "match": "subdomain", "name": "dyn", "types": ["TXT", "A"]}
        ]
        expect(page.locator("#opt-f-update_grants")).to_have_value(
            "console-xfr subdomain dyn TXT A"
        )
        assert_accessible(page)
    finally:
        _api(box, "PATCH", f"/dns/zones/{zone['id']}", {
            "allow_transfer": [], "transfer_keys": [], "update_grants": [], "comment": "undo",
        })  # fmt: skip
        _api(box, "DELETE", f"/dns/tsig-keys/{key['id']}?comment=test+done")


def test_server_options(console_box: Sandbox, console_url: str, page: Page):
    box = console_box
    server_id = _server_id(box)
    before = _api(box, "GET", f"/dns/servers/{server_id}/options")["options"]
    try:
        page.goto(f"{console_url}/dns/zones")
        page.locator("a", has_text="Server options").first.click()
        expect(page.locator("h1")).to_contain_text("DNS server options")
        assert_accessible(page)
        page.locator("#f-forwarders").fill("198.51.100.53 not-an-address")
        page.locator("#f-allow_recursion").fill("localnets")
        page.locator("#f-recursion").uncheck()
        page.locator("#server-options button:has-text('Save server options')").click()
        expect(page.locator("#e-forwarders")).to_contain_text("forwarder 2")
        assert_accessible(page)
        page.locator("#f-forwarders").fill("198.51.100.53")
        page.locator("#f-recursion").check()
        page.locator("#f-comment").fill("recursion for the lab")
        page.locator("#server-options button:has-text('Save server options')").click()
        expect(page.locator("text=The DNS server's options were saved")).to_be_visible()
        got = _api(box, "GET", f"/dns/servers/{server_id}/options")["options"]
        assert got["forwarders"] == ["198.51.100.53"]
        assert got["recursion"] is True and got["allow_recursion"] == ["localnets"]
        expect(page.locator("#f-forwarders")).to_have_value("198.51.100.53")
        assert_accessible(page)
        page.goto(f"{console_url}/dns/keys")
        assert_accessible(page)
    finally:
        _api(box, "PUT", f"/dns/servers/{server_id}/options",
             {"options": before, "comment": "undo"})  # fmt: skip


def test_bulk_ttl_and_delete_on_a_long_list(
    console_box: Sandbox, console_url: str, page: Page, zone: dict[str, Any]
):
    box = console_box
    page.goto(f"{console_url}/dns/zones/{zone['id']}?q=name~host")
    expect(page.locator(".pager")).to_contain_text("of 120")
    # Page jumps keep the filter.
    page.locator(".pager a[aria-label='Page 2']").click()
    expect(page.locator(".pager")).to_contain_text("101\u2013120 of 120")
    assert "q=name" in page.url
    page.locator(".pager a[aria-label='First page']").click()
    expect(page.locator(".pager")).to_contain_text("1\u2013100 of 120")
    # Nothing selected: the bulk buttons wait for a selection.
    expect(page.locator("#bulk-records button:has-text('Set TTL of selected')")).to_be_disabled()
    for name in ("host001", "host002", "host003"):
        page.locator("#records tbody tr", has_text=name + ".").locator(
            "input[name=selected]"
        ).check()
    page.locator("#f-bulk_ttl").fill("10m")
    page.locator("#f-bulk_comment").fill("shorter TTL")
    page.locator("#bulk-records button:has-text('Set TTL of selected')").click()
    expect(page.locator("text=The TTL of the selected records was changed.")).to_be_visible()
    wait_for(lambda: _served_ttl(box, "host002." + ZONE) == 600, timeout=20,
             what="named serving the new TTL")  # fmt: skip
    for name in ("host001", "host002", "host003"):
        expect(page.locator("#records tbody tr", has_text=name + ".")).to_contain_text("10m")
    assert _records(box, zone["id"], "name~host004")[0]["ttl"] == 300
    # Two selected and deleted, after the confirm dialog.
    for name in ("host004", "host005"):
        page.locator("#records tbody tr", has_text=name + ".").locator(
            "input[name=selected]"
        ).check()
    page.locator("#bulk-records button:has-text('Delete selected')").click()
    _confirm(page, "two hosts gone")
    expect(page.locator("text=The selected records were deleted.")).to_be_visible()
    wait_for(lambda: not _records(box, zone["id"], "name~host005"), timeout=20,
             what="the records gone from Central")  # fmt: skip
    assert box.dns_query("host004." + ZONE, "A").answer == []
    expect(page.locator(".pager")).to_contain_text("of 118")
    assert_accessible(page)
    assert page.errors == []  # type: ignore[attr-defined]


def _zone_config(box: Sandbox, name: str) -> str:
    """The zone's block in the configuration named runs (its zones.conf)."""
    text = (box.root.bind_etc / "zones.conf").read_text()
    start = text.find(f'zone "{name.rstrip(".")}')
    return text[start : text.find("\n};", start)] if start >= 0 else ""


def _named_knows(box: Sandbox, name: str) -> bool:
    """named runs the zone (a secondary or stub with no primary answering is not loaded)."""
    status = run(["rndc", "-c", str(box.root.rndc_conf), "zonestatus", name.rstrip(".")],
                 netns=box.ns, check=False).stdout  # fmt: skip
    return "no matching zone" not in status


def test_secondary_stub_and_forward_zones_created_and_edited(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    # Addresses of the sandbox's own network that no server answers on.
    first, second = str(box.network[-3]), str(box.network[-4])
    names = {kind: f"{kind}-console.example." for kind in ("secondary", "stub", "forward")}
    for name in names.values():
        _delete_zone(box, name)
    try:
        page.goto(f"{console_url}/dns/zones")
        form = page.locator("#create-zone")
        # A secondary zone without primaries: refused at the field, nothing made.
        form.locator("#f-name").fill(names["secondary"])
        form.locator("#f-kind").select_option("secondary")
        form.locator("button:has-text('Create zone')").click()
        expect(page.locator("#e-primaries")).to_contain_text("at least one primary")
        expect(page.locator("#f-kind")).to_have_value("secondary")
        assert _zone_by_name(box, names["secondary"]) is None
        assert_accessible(page)
        made: dict[str, int] = {}
        for kind, field, value in (("secondary", "primaries", first),
                                   ("stub", "primaries", first),
                                   ("forward", "forwarders", first)):  # fmt: skip
            form = page.locator("#create-zone")
            form.locator("#f-name").fill(names[kind])
            form.locator("#f-kind").select_option(kind)
            form.locator(f"#f-{field}").fill(value)
            if kind == "forward":
                form.locator("#f-forward_only").uncheck()
            form.locator("#f-comment").fill(f"a {kind} zone")
            form.locator("button:has-text('Create zone')").click()
            expect(page.locator("h1")).to_have_text(names[kind])
            expect(page.locator("main")).to_contain_text(f"{kind} zone")
            found = _zone_by_name(box, names[kind])
            assert found is not None and found["kind"] == kind
            made[kind] = int(found["id"])
            page.goto(f"{console_url}/dns/zones")
        config = {kind: _zone_config(box, name) for kind, name in names.items()}
        assert "type secondary" in config["secondary"] and first in config["secondary"]
        assert "type stub" in config["stub"] and first in config["stub"]
        assert "type forward" in config["forward"] and "forward first" in config["forward"]
        for kind in ("secondary", "stub"):
            wait_for(lambda kind=kind: _named_knows(box, names[kind]), timeout=20,
                     what=f"named running the {kind} zone")  # fmt: skip

        # Each kind's settings: its own options, edited and read back from named.
        page.goto(f"{console_url}/dns/zones/{made['secondary']}/settings")
        expect(page.locator("#soa")).to_have_count(0)
        expect(page.locator("#opt-f-primaries")).to_have_value(first)
        assert_accessible(page)
        page.locator("#opt-f-primaries").fill(f"{first} not-an-address")
        page.locator("#zone-options button:has-text('Save options')").click()
        expect(page.locator("#opt-e-primaries")).to_contain_text("primary 2")
        page.locator("#opt-f-primaries").fill(f"{first} {second}")
        page.locator("#opt-f-allow_transfer").fill(str(box.network))
        page.locator("#opt-f-comment").fill("a second primary")
        page.locator("#zone-options button:has-text('Save options')").click()
        expect(page.locator("text=The zone's options were saved")).to_be_visible()
        got = _api(box, "GET", f"/dns/zones/{made['secondary']}")["options"]
        assert (got["primaries"], got["allow_transfer"]) == ([first, second], [str(box.network)])
        wait_for(lambda: second in _zone_config(box, names["secondary"]), timeout=20,
                 what="named running the secondary with both primaries")  # fmt: skip

        page.goto(f"{console_url}/dns/zones/{made['stub']}/settings")
        expect(page.locator("#opt-f-allow_transfer")).to_have_count(0)
        page.locator("#opt-f-primaries").fill(second)
        page.locator("#opt-f-comment").fill("the other primary")
        page.locator("#zone-options button:has-text('Save options')").click()
        expect(page.locator("text=The zone's options were saved")).to_be_visible()
        expect(page.locator("#opt-f-primaries")).to_have_value(second)
        wait_for(lambda: first not in _zone_config(box, names["stub"]), timeout=20,
                 what="named running the stub from the other primary")  # fmt: skip

        page.goto(f"{console_url}/dns/zones/{made['forward']}/settings")
        expect(page.locator("#opt-f-forward_only")).not_to_be_checked()
        page.locator("#opt-f-forwarders").fill(f"{second} {first}")
        page.locator("#opt-f-forward_only").check()
        page.locator("#opt-f-comment").fill("forward only")
        page.locator("#zone-options button:has-text('Save options')").click()
        expect(page.locator("text=The zone's options were saved")).to_be_visible()
        expect(page.locator("#opt-f-forward_only")).to_be_checked()
        assert_accessible(page)
        got = _api(box, "GET", f"/dns/zones/{made['forward']}")["options"]
        assert (got["forwarders"], got["forward_only"]) == ([second, first], True)
        wait_for(lambda: "forward only" in _zone_config(box, names["forward"]), timeout=20,
                 what="named forwarding only")  # fmt: skip
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        for name in names.values():
            _delete_zone(box, name)


#: The DNS pages, by what their paths need.
DNS_PAGES = ("/dns/zones", "/dns/zones/{zone}", "/dns/zones/{zone}/settings",
             "/dns/search?q=host01", "/dns/keys", "/dns/servers/{server}/options")  # fmt: skip


def test_dns_pages_on_a_phone_and_in_the_dark(
    console_box: Sandbox, console_url: str, page: Page, zone: dict[str, Any]
):
    """390x844 in the dark scheme: no page scrolls sideways, axe-core finds nothing."""
    server = _server_id(console_box)
    check_narrow_and_dark(
        page, [console_url + path.format(zone=zone["id"], server=server) for path in DNS_PAGES]
    )
