"""The DHCP pages in headless Chromium against a real appliance: a scope's settings, lease
times, options, pools and reservations edited, client classes edited, leases read, searched,
paged and released; every DHCP page checked by axe-core and for duplicate ids.

Each change is checked where it lands (Kea's configuration, Kea's leases) and undone at the
end: the tests share the console's appliance with the other console tests.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from services.sandbox.sandbox import Sandbox
from tests.webui.axe import assert_accessible, check_narrow_and_dark
from tests.webui.conftest import admin_session

pytestmark = pytest.mark.sandbox

PLAIN = ("Input should", "pools[", "options[", "reservations[", "value_error")


@pytest.fixture(scope="module")
def page(browser: Browser, console_box: Sandbox, console_url: str) -> Iterator[Page]:
    """One logged-in page for the module."""
    with admin_session(browser, console_box, console_url) as found:
        yield found


def _scope(box: Sandbox) -> tuple[str, dict[str, Any]]:
    """The scope of the appliance's own network: its Central path and its body."""
    token = box.central_token()
    server = box.https(1231, "/api/v1/dhcp/servers", token=token).json()["items"][0]["id"]
    base = f"/api/v1/dhcp/servers/{server}/v4"
    scopes = box.https(1231, f"{base}/scopes", 10, token=token).json()["items"]
    found = next(s for s in scopes if s["subnet"] == str(box.network))
    return base, found


def _kea_subnet(box: Sandbox) -> dict[str, Any]:
    config = box.kea("config-get")["arguments"]["Dhcp4"]
    subnet: dict[str, Any] = next(s for s in config["subnet4"] if s["subnet"] == str(box.network))
    return subnet


def _plain(page: Page) -> None:
    text = page.locator("main").inner_text()
    assert not any(word in text for word in PLAIN), text


def _confirm(page: Page, comment: str) -> None:
    """The console's confirm dialog: the save comment given, then confirmed."""
    page.fill("#confirm-comment", comment)
    page.click("#confirm-ok")


def _put_back(box: Sandbox, base: str, scope: dict[str, Any]) -> None:
    token = box.central_token()
    body = {k: v for k, v in scope.items() if v is not None} | {"comment": "put back by a test"}
    answer = box.https(1231, f"{base}/scopes/{scope['id']}", 30, method="PUT", token=token,
                       json_body=body)  # fmt: skip
    assert answer.status_code == 200, answer.text


def test_scope_settings_pools_reservations_and_classes_edited(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    box = console_box
    net = box.network
    base, before = _scope(box)
    kea_before = _kea_subnet(box)
    times = box.https(1231, f"{base}/properties", 10, token=box.central_token()).json()
    assert isinstance(times.get("valid_lifetime"), int), times
    try:
        page.goto(console_url + "/dhcp")
        assert_accessible(page)
        page.locator("#scopes tr", has_text=str(net)).locator("text=Edit").click()
        expect(page.locator("h1")).to_have_text(f"Scope {net}")
        assert_accessible(page)

        # A lease time that is no duration: named at its field in words, nothing sent.
        settings = page.locator("#settings")
        settings.locator("#set-f-valid_lifetime").fill("soon")
        settings.locator("#set-f-renew_timer").fill("45m")
        settings.locator("button:has-text('Save settings')").click()
        expect(page.locator("#set-e-valid_lifetime")).to_contain_text("is not a duration")
        expect(page.locator("#set-f-renew_timer")).to_have_value("45m")
        assert _kea_subnet(box) == kea_before
        assert_accessible(page)

        # A value Kea's option refuses: at the options field, by the option's place.
        settings = page.locator("#settings")
        settings.locator("#set-f-valid_lifetime").fill("1h30m")
        settings.locator("#set-f-rebind_timer").fill("1h15m")
        settings.locator("#set-f-options").fill(
            f"routers = {box.address}\ndomain-name-servers = not-an-address"
        )
        settings.locator("button:has-text('Save settings')").click()
        expect(page.locator("#set-e-options")).to_be_visible()
        _plain(page)

        settings = page.locator("#settings")
        settings.locator("#set-f-options").fill(
            f"routers = {box.address}\ndomain-name-servers = {box.address}"
        )
        settings.locator("#set-f-comment").fill("lease times in the browser test")
        settings.locator("button:has-text('Save settings')").click()
        expect(page.locator("text=The scope was saved.")).to_be_visible()
        expect(page.locator("#set-f-valid_lifetime")).to_have_value("1h30m")
        expect(page.locator("#set-f-renew_timer")).to_have_value("45m")
        kea = _kea_subnet(box)
        assert (kea["valid-lifetime"], kea["renew-timer"], kea["rebind-timer"]) == (
            5400, 2700, 4500)  # fmt: skip
        served = {o["name"]: o["data"] for o in kea["option-data"]}
        assert served["domain-name-servers"] == box.address

        # A pool edited: a wrong end named at its field, then the right one served.
        row = page.locator("#pools tbody tr").first
        row.locator("summary").click()
        row.locator("#pool-0-f-end").fill("the last one")
        row.locator("button:has-text('Save pool')").click()
        expect(page.locator("#pool-0-e-end")).to_be_visible()
        expect(page.locator("#pools details[open] #pool-0-f-end")).to_have_value("the last one")
        _plain(page)
        assert_accessible(page)
        page.locator("#pool-0-f-end").fill(str(net[27]))
        page.locator("#pool-0-f-comment").fill("a shorter pool")
        page.locator("#pools details[open] button:has-text('Save pool')").click()
        expect(page.locator("text=The scope was saved.")).to_be_visible()
        assert _kea_subnet(box)["pools"][0]["pool"].endswith(str(net[27]))

        # A reservation with its own option and class, then changed, then deleted.
        mac = "02:00:5e:77:00:2a"
        add = page.locator("#add-reservation")
        add.locator("#res-f-hw_address").fill(mac)
        add.locator("#res-f-ip_addresses").fill(str(net[14]))
        add.locator("#res-f-hostname").fill("scanner")
        add.locator("#res-f-options").fill("domain-name = lab.example")
        add.locator("#res-f-client_classes").fill("scanners")
        add.locator("button:has-text('Add reservation')").click()
        expect(page.locator("text=The reservation was added.")).to_be_visible()
        row = page.locator("#reservations tbody tr", has_text=mac)
        expect(row).to_contain_text("domain-name = lab.example")
        row.locator("summary").click()
        form = row.locator("form.edit-reservation")
        form.locator("textarea[name=options]").fill("domain-name = office.example")
        form.locator("input[name=hostname]").fill("scanner-2")
        form.locator("button:has-text('Save reservation')").click()
        expect(page.locator("text=The reservation was saved.")).to_be_visible()
        hosts = _kea_subnet(box)["reservations"]
        host = next(h for h in hosts if h.get("hw-address") == mac)
        assert host["hostname"] == "scanner-2"
        assert host["client-classes"] == ["scanners"]
        assert {o["name"]: o["data"] for o in host["option-data"]} == {
            "domain-name": "office.example"}  # fmt: skip
        assert_accessible(page)
        page.locator("#reservations tbody tr", has_text=mac).locator(
            "button:has-text('Delete')").click()  # fmt: skip
        _confirm(page, "the scanner went")
        expect(page.locator("text=The reservation was deleted.")).to_be_visible()

        # The server's lease times: a wrong one named at its field, then 2h30m served.
        page.goto(console_url + "/dhcp/options")
        assert_accessible(page)
        page.fill("#times-f-valid_lifetime", "forever")
        page.click("#times-form button:has-text('Save lease times')")
        expect(page.locator("#times-e-valid_lifetime")).to_contain_text("is not a duration")
        page.fill("#times-f-valid_lifetime", "2h30m")
        page.fill("#times-f-comment", "longer leases")
        page.click("#times-form button:has-text('Save lease times')")
        expect(page.locator("text=The server's lease times were saved.")).to_be_visible()
        expect(page.locator("#times-f-valid_lifetime")).to_have_value("2h30m")
        assert box.kea("config-get")["arguments"]["Dhcp4"]["valid-lifetime"] == 9000

        # A client class with an option, edited through its Edit link.
        form = page.locator("#class-form")
        form.locator("#cls-f-name").fill("lab-printers")
        form.locator("#cls-f-test").fill("substring(option[60].hex,0,7) == 'printer'")
        form.locator("#cls-f-options").fill("no such line")
        form.locator("button:has-text('Save class')").click()
        expect(page.locator("#cls-e-options")).to_contain_text("line 1")
        page.locator("#cls-f-options").fill(f"tftp-server-name = {box.address}")
        page.locator("#class-form button:has-text('Save class')").click()
        expect(page.locator("text=The class was saved.")).to_be_visible()
        page.click("a[aria-label='Edit class lab-printers']")
        expect(page.locator("#cls-f-options")).to_have_value(f"tftp-server-name = {box.address}")
        page.locator("#cls-f-test").fill("substring(option[60].hex,0,3) == 'prn'")
        page.locator("#class-form button:has-text('Save class')").click()
        expect(page.locator("text=The class was saved.")).to_be_visible()
        classes = box.kea("config-get")["arguments"]["Dhcp4"]["client-classes"]
        made = next(c for c in classes if c["name"] == "lab-printers")
        assert made["test"] == "substring(option[60].hex,0,3) == 'prn'"
        assert made["option-data"][0]["data"] == box.address
        page.locator("#classes tr", has_text="lab-printers").locator(
            "button:has-text('Delete')").click()  # fmt: skip
        _confirm(page, "no printers in the lab")
        expect(page.locator("text=The class was deleted.")).to_be_visible()
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        _put_back(box, base, before)
        kept = {
            k: times[k] for k in ("valid_lifetime", "renew_timer", "rebind_timer") if k in times
        }
        answer = box.https(1231, f"{base}/properties", 30, method="PATCH",
                           token=box.central_token(), json_body=kept)  # fmt: skip
        assert answer.status_code == 200, answer.text


def test_a_pools_own_options_edited_and_served_by_kea(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    box = console_box
    base, before = _scope(box)
    kea_before = _kea_subnet(box)
    try:
        page.goto(f"{console_url}/dhcp/scopes/{before['id']}")
        row = page.locator("#pools tbody tr").first
        row.locator("summary").click()
        # A line that is no option: at the pool's options field, by its line; nothing sent.
        row.locator("#pool-0-f-options").fill("routers\ndomain-name = pool.example")
        row.locator("button:has-text('Save pool')").click()
        expect(page.locator("#pool-0-e-options")).to_contain_text("line 1")
        assert _kea_subnet(box) == kea_before
        # A value Kea refuses: at the same field, in words, by the option's place.
        page.locator("#pool-0-f-options").fill("domain-name-servers = not-an-address")
        page.locator("#pools details[open] button:has-text('Save pool')").click()
        expect(page.locator("#pool-0-e-options")).to_contain_text("option 1")
        _plain(page)
        assert _kea_subnet(box) == kea_before
        assert_accessible(page)
        page.locator("#pool-0-f-options").fill(
            f"domain-name-servers = {box.address}\ndomain-name = pool.example"
        )
        page.locator("#pool-0-f-comment").fill("the pool's own name servers")
        page.locator("#pools details[open] button:has-text('Save pool')").click()
        expect(page.locator("text=The scope was saved.")).to_be_visible()
        expect(page.locator("#pools tbody tr").first).to_contain_text("domain-name = pool.example")
        pool = _kea_subnet(box)["pools"][0]
        assert {o["name"]: o["data"] for o in pool["option-data"]} == {
            "domain-name-servers": box.address, "domain-name": "pool.example"}  # fmt: skip
        # The edit form shows them again; emptied, the pool has none.
        page.locator("#pools tbody tr").first.locator("summary").click()
        expect(page.locator("#pool-0-f-options")).to_have_value(
            f"domain-name-servers = {box.address}\ndomain-name = pool.example"
        )
        page.locator("#pool-0-f-options").fill("")
        page.locator("#pools details[open] button:has-text('Save pool')").click()
        # (the page said "saved" already: the pool's row tells the new page apart)
        expect(page.locator("#pools tbody tr").first).not_to_contain_text("pool.example")
        expect(page.locator("text=The scope was saved.")).to_be_visible()
        assert not _kea_subnet(box)["pools"][0].get("option-data")
        history = box.https(1231, "/api/v1/history?filter=object_type:dhcp-scope&sort=-id&limit=2",
                            10, token=box.central_token()).json()["items"]  # fmt: skip
        assert "the pool's own name servers" in [h["comment"] for h in history]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        _put_back(box, base, before)


LEASE_NET = "198.18.200.0/24"  # RFC 2544's benchmarking network: configured, never on a link


@pytest.fixture(scope="module")
def lease_scope(console_box: Sandbox) -> Iterator[int]:
    """A scope of the module's own for leases that no client takes; deleted with its leases."""
    box = console_box
    base, _scope_now = _scope(box)
    token = box.central_token()
    made = box.https(1231, f"{base}/scopes", 30, method="POST", token=token, json_body={
        "subnet": LEASE_NET, "pools": [{"start": "198.18.200.10", "end": "198.18.200.200"}],
        "comment": "leases of the console tests",
    })  # fmt: skip
    assert made.status_code == 201, made.text
    try:
        yield int(made.json()["id"])
    finally:
        gone = box.https(1231, f"{base}/scopes/{made.json()['id']}?comment=test+done", 30,
                         method="DELETE", token=box.central_token())  # fmt: skip
        assert gone.status_code == 200, gone.text


def _add_leases(box: Sandbox, subnet_id: int, count: int, first: int = 10) -> list[str]:
    net = ipaddress.IPv4Network(LEASE_NET)
    now = int(time.time())
    added = []
    for i in range(count):
        address = str(net[first + i])
        args: dict[str, Any] = {
            "ip-address": address, "hw-address": f"02:77:00:00:{first:02x}:{i:02x}",
            "subnet-id": subnet_id, "valid-lft": 7200, "hostname": f"leasetest{first}-{i}",
        }  # fmt: skip
        if i == 0:
            args |= {"state": 1}
        if i == 1:
            args |= {"expire": now - 600}
        answer = box.kea("lease4-add", arguments=args)
        assert answer["result"] == 0, answer
        added.append(address)
    return added


def test_leases_in_words_paged_searched_and_released(
    console_box: Sandbox, console_url: str, page: Page, lease_scope: int
) -> None:
    box = console_box
    added: list[str] = []
    try:
        added = _add_leases(box, lease_scope, 8)
        page.goto(console_url + "/dhcp/leases?hostname=leasetest10-*")
        expect(page.locator("h1")).to_have_text("DHCP leases")
        expect(page.locator("#lease-count")).to_have_text("8 leases found.")
        assert_accessible(page)
        table = page.locator("#leases")
        busy = table.locator("tr", has_text="leasetest10-2")
        expect(busy).to_contain_text(LEASE_NET)  # the scope by its subnet
        expect(busy).to_contain_text("assigned")
        expect(busy).to_contain_text("in 1 h 59 min")
        expect(table.locator("tr", has_text="leasetest10-0")).to_contain_text("declined")
        expect(table.locator("tr", has_text="leasetest10-1")).to_contain_text("min ago")
        assert "1970" not in table.inner_text()

        # A search by address, then by hardware address.
        page.fill("#find-f-hostname", "")
        page.fill("#find-f-address", added[3])
        page.click("#find-leases button:has-text('Search')")
        expect(page.locator("#lease-count")).to_have_text("1 lease found.")
        expect(table).to_contain_text("leasetest10-3")
        page.fill("#find-f-address", "")
        page.fill("#find-f-hw_address", "02:77:00:00:0a:05")
        page.click("#find-leases button:has-text('Search')")
        expect(page.locator("#lease-count")).to_have_text("1 lease found.")
        expect(table).to_contain_text("leasetest10-5")

        # Cancelled, nothing happens; released after the confirmation: Kea has it no more.
        page.click(f"button[aria-label='Release the lease of {added[5]}']")
        expect(page.locator("#confirm-message")).to_contain_text(f"Release the lease of {added[5]}")
        page.click("#confirm-cancel")
        assert box.kea("lease4-get", arguments={"ip-address": added[5]})["result"] == 0
        page.click(f"button[aria-label='Release the lease of {added[5]}']")
        _confirm(page, "the client left")
        expect(page.locator("text=The lease was released")).to_be_visible()
        assert box.kea("lease4-get", arguments={"ip-address": added[5]})["result"] == 3
        assert_accessible(page)
        # The DHCPv6 pages: the same checks (a scope's page has the preferred lifetime).
        page.goto(console_url + "/dhcp/leases?family=v6")
        expect(page.locator("h1")).to_have_text("DHCP leases")
        assert_accessible(page)
        page.goto(console_url + "/dhcp/options?family=v6")
        expect(page.locator("#times-f-preferred_lifetime")).to_be_visible()
        assert_accessible(page)
        page.goto(console_url + "/dhcp?family=v6")
        assert_accessible(page)
        # The appliance's own DHCPv6 scope (seeded at its first start).
        page.locator("#scopes a:has-text('Edit')").first.click()
        expect(page.locator("#set-f-preferred_lifetime")).to_be_visible()
        assert_accessible(page)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        for address in added:
            box.kea("lease4-del", arguments={"ip-address": address})


def test_leases_page_after_page(
    console_box: Sandbox, console_url: str, page: Page, lease_scope: int
) -> None:
    """More leases than a page: the pages follow in address order, none shown twice."""
    box = console_box
    _add_leases(box, lease_scope, 54, first=100)
    # Central keeps a count of the leases for 30 s; one added through Central counts anew.
    base, _ = _scope(box)
    made = box.https(1231, f"{base}/leases", 30, method="POST", token=box.central_token(),
                     json_body={"address": "198.18.200.200", "hw_address": "02:77:00:00:99:01",
                                "valid_lifetime": 3600, "comment": "one more"})  # fmt: skip
    assert made.status_code == 201, made.text
    # The first page comes before the count of every lease, which follows by itself (a
    # fragment) with the page numbers.
    with page.expect_request(lambda request: "/dhcp/leases/count" in request.url):
        page.goto(console_url + "/dhcp/leases")
    counted = re.compile(r"^\d+ leases on this server")
    expect(page.locator("#lease-count")).to_have_text(counted)
    total = int(page.locator("#lease-count").inner_text().split()[0])
    assert total >= 55
    expect(page.locator("nav.pager a[aria-label='Last page']").first).to_be_visible()
    first = page.locator("#leases tbody tr td:first-child").all_inner_texts()
    assert len(first) == 50
    page.locator("nav.pager a[rel=next]").first.click()
    expect(page.locator("nav.pager").first).to_contain_text("page 2")
    second = page.locator("#leases tbody tr td:first-child").all_inner_texts()
    assert second and not set(first) & set(second)
    assert_accessible(page)
    # Jumps: to the first page, then to the last (the count is kept meanwhile).
    page.click("nav.pager a[aria-label='First page']")
    expect(page.locator("#leases tbody tr td:first-child").first).to_have_text(first[0])
    page.click("nav.pager a[aria-label='Last page']")
    pages = -(-total // 50)
    expect(page.locator("nav.pager").first).to_contain_text(f"page {pages} of {pages}")
    last = page.locator("#leases tbody tr td:first-child").all_inner_texts()
    assert len(last) == total - (pages - 1) * 50
    # Without JavaScript the "Count them" link counts at once.
    page.goto(console_url + "/dhcp/leases?count=yes")
    expect(page.locator("#lease-count")).to_have_text(counted)
    expect(page.locator("#lease-count[hx-get]")).to_have_count(0)


def test_dhcp_pages_on_a_phone_and_in_the_dark(
    console_box: Sandbox, console_url: str, page: Page
) -> None:
    """390x844 in the dark scheme: no page scrolls sideways, axe-core finds nothing."""
    _base, scope = _scope(console_box)
    paths = ("/dhcp", f"/dhcp/scopes/{scope['id']}", "/dhcp/options", "/dhcp/leases",
             "/dhcp?family=v6", "/dhcp/leases?family=v6")  # fmt: skip
    check_narrow_and_dark(page, [console_url + path for path in paths])
