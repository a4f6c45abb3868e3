"""The console in headless Chromium against a real appliance: what a user does, end to end.

Each write goes browser -> console -> Central -> agent -> named or Kea, and is checked where
it lands: a DNS query answers the record, ISC dhclient gets the reserved address.
"""

from __future__ import annotations

import os
import re
import signal

import dns.rdatatype
import httpx
import pytest
from playwright.sync_api import Page, expect

from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi
from tests.backups.lab_flow import pair
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for
from tests.webui.conftest import login, shot

pytestmark = pytest.mark.sandbox


def _answers(box: Sandbox, name: str, address: str) -> bool:
    answer = box.dns_query(name, "A")
    return any(
        rr.rdtype == dns.rdatatype.A and rr.to_text() == address
        for rrset in answer.answer
        for rr in rrset
    )


def _confirm(page: Page, comment: str) -> None:
    """The console's confirm dialog: the save comment given, then confirmed."""
    page.fill("#confirm-comment", comment)
    page.click("#confirm-ok")


def _admin(box: Sandbox) -> tuple[str, str]:
    return box.admin_credentials()


def _post(box: Sandbox, page: Page, url: str, form: dict[str, str]) -> httpx.Response:
    """A POST outside the browser with the browser's session cookie (a forged write)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(verify=box.tls_context(), cookies=cookies, timeout=30) as http:
        return http.post(url, data=form)


def _zone_id(box: Sandbox, token: str, name: str = "burrow.example.") -> int:
    """The zone's id at Central (which learns the appliance's first zone by its first sync)."""
    found: list[int] = []

    def known() -> bool:
        answer = box.https(1231, f"/api/v1/dns/zones?filter=name:{name}", token=token).json()
        found[:] = [item["id"] for item in answer["items"]]
        return bool(found)

    if not known():
        # Central learns the appliance's zone by syncing its DNS server: the first sync, soon
        # after the start, may come before the dns-agent answers (the next is minutes later).
        servers = box.https(1231, "/api/v1/servers?filter=kind:dns", token=token).json()
        for server in servers["items"]:
            box.https(1231, f"/api/v1/dns/servers/{server['id']}/sync", 30, method="POST",
                      token=token)  # fmt: skip
    wait_for(known, timeout=30, what=f"Central knowing the zone {name}")
    return found[0]


def _csrf(page: Page) -> str:
    value = page.locator("form.logout input[name=csrf_token]").get_attribute("value")
    assert value
    return value


def _healthy_dashboard_shot(box: Sandbox, page: Page) -> None:
    """The dashboard's screenshot as on a healthy appliance: its backups go to a peer (its own
    Central, for the picture) and are current, its servers reachable; all is put back after."""
    api = CentralApi(box)
    state_file = box.root.lib / "appliance-state.json"
    state_before = state_file.read_text()
    try:
        pair(box, box, api, api)
        api.post("/api/v1/appliance/backups", {"kind": "full"})
        _wait_reachable(box)
        page.reload()
        expect(page.locator("#health")).to_have_attribute("data-overall", "ok", timeout=60_000)
        shot(page, "dashboard")
    finally:
        if api.get("/api/v1/appliance/peer")["paired"]:
            api.ok(api.call("DELETE", "/api/v1/appliance/peer?comment=test+done"))
        for peer in api.get("/api/v1/backup-peers")["items"]:
            api.ok(api.call("DELETE", f"/api/v1/backup-peers/{peer['id']}?comment=test+done"))
        state_file.write_text(state_before)


def test_login_logout_and_the_session_cookie(console_box: Sandbox, console_url: str, page: Page):
    username, password = _admin(console_box)
    response = page.goto(console_url + "/")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    shot(page, "login")
    # A wrong password and an unknown user get the same answer.
    messages = []
    for name, secret in ((username, "wrong-password-1"), ("nobody-here", password)):
        expect(page.locator("#f-password")).to_have_value("")
        page.fill("#f-username", name)
        page.fill("#f-password", secret)
        with page.expect_response(lambda r: r.url.endswith("/login") and r.status == 401):
            page.click("button:has-text('Log in')")
        expect(page.locator("#login-error")).to_be_visible()
        messages.append(page.locator("#login-error").inner_text())
    assert messages[0] == messages[1] == "The user name or the password is wrong."
    login(page, console_url, username, password)
    assert page.evaluate("typeof htmx") == "object", "htmx was not served by the console"
    (cookie,) = [c for c in page.context.cookies() if c["name"].startswith("__Host-")]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert "bws_" not in cookie["value"]  # Central's token is sealed, not readable
    expect(page.locator("h2:has-text('DHCP utilisation per scope')")).to_be_visible()
    expect(page.locator("svg.chart")).to_be_visible()
    _healthy_dashboard_shot(console_box, page)
    # The keyboard reaches the skip link first.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.click("button:has-text('Log out')")
    expect(page.locator("text=You are logged out.")).to_be_visible()
    # The old cookie is dead: logging out revoked Central's token.
    page.context.add_cookies([cookie])  # type: ignore[list-item]
    page.goto(console_url + "/dns/zones")
    expect(page.locator("#f-username")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


def test_zone_and_record_then_dns_answers(console_box: Sandbox, console_url: str, page: Page):
    box = console_box
    _zone_id(box, box.central_token())  # a second zone, for the search to find one of two
    login(page, console_url, *_admin(box))
    page.click("nav >> text=DNS")
    expect(page.locator("h1")).to_have_text("DNS zones")
    page.fill("#create-zone #f-name", "console.example")
    page.fill("#create-zone #f-comment", "zone made in the browser test")
    page.click("button:has-text('Create zone')")
    expect(page.locator("text=The zone was created.")).to_be_visible()
    expect(page.locator("h1")).to_have_text("console.example.")
    form = page.locator("#add-record")
    form.locator("#f-name").fill("www")
    form.locator("#f-type").select_option("A")
    form.locator("#f-data").fill("198.51.100.77")
    form.locator("#f-comment").fill("web server")
    page.click("button:has-text('Add record')")
    expect(page.locator("text=The record was added.")).to_be_visible()
    expect(page.locator("#records")).to_contain_text("198.51.100.77")
    wait_for(lambda: _answers(box, "www.console.example.", "198.51.100.77"), timeout=20,
             what="named answering the record added in the browser")  # fmt: skip
    # Inline edit with a save comment.
    row = page.locator("#records tr", has_text="198.51.100.77")
    row.locator("text=Edit").click()
    editing = page.locator("#records tr.editing")
    editing.locator("input[name=data]").fill("198.51.100.78")
    editing.locator("input[name=comment]").fill("moved")
    editing.locator("button:has-text('Save')").click()
    expect(page.locator("text=The record was saved.")).to_be_visible()
    wait_for(lambda: _answers(box, "www.console.example.", "198.51.100.78"), timeout=20,
             what="named answering the record edited in the browser")  # fmt: skip
    shot(page, "dns-records")
    # The zone list finds it by search; sorting by a column keeps the search.
    page.click("text=DNS zones")
    expect(page.locator("h1")).to_have_text("DNS zones")
    page.fill("#q", "console")
    page.click("button:has-text('Search')")
    expect(page.locator("#zones tbody tr")).to_have_count(1)
    page.click("#zones th >> text=Records")
    expect(page.locator("#zones")).to_contain_text("console.example.")
    assert "q=console" in page.url
    page.goto(console_url + "/dns/zones")
    shot(page, "dns-zones")
    # Delete the record, with a comment asked for by the confirm dialog.
    page.goto(console_url + "/dns/zones")
    page.click("text=console.example.")
    expect(page.locator("h1")).to_have_text("console.example.")
    page.locator("#records tr", has_text="198.51.100.78").locator(
        "button:has-text('Delete')"
    ).click()
    page.fill("#confirm-comment", "no longer needed")
    page.click("#confirm-ok")
    expect(page.locator("text=The record was deleted.")).to_be_visible()
    wait_for(lambda: not _answers(box, "www.console.example.", "198.51.100.78"), timeout=20,
             what="the deleted record gone from named")  # fmt: skip
    history = box.https(
        1231, "/api/v1/history?filter=comment~no%20longer", token=box.central_token()
    )
    assert history.json()["total"] >= 1
    assert page.errors == []  # type: ignore[attr-defined]


def test_import_zone_file(console_box: Sandbox, console_url: str, page: Page):
    box = console_box
    login(page, console_url, *_admin(box))
    page.goto(console_url + "/dns/zones")
    text = (
        "$ORIGIN imported.example.\n$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 900 1209600 300\n"
        f"@ IN NS ns1\nns1 IN A {box.address}\nmail IN A 198.51.100.25\n"
    )
    page.fill("#import-zone #import-f-name", "imported.example")
    page.fill("#import-zone #f-text", text)
    page.click("button:has-text('Import')")
    expect(page.locator("text=The zone was imported.")).to_be_visible()
    expect(page.locator("#records")).to_contain_text("198.51.100.25")
    wait_for(lambda: _answers(box, "mail.imported.example.", "198.51.100.25"), timeout=20,
             what="named answering the imported zone")  # fmt: skip


def _txt_strings(box: Sandbox, name: str) -> list[bytes]:
    answer = box.dns_query(name, "TXT")
    return [s for rrset in answer.answer for rd in rrset for s in rd.strings]


def test_a_txt_with_spaces_round_trips_through_the_console(
    console_box: Sandbox, console_url: str, page: Page
):
    """An unquoted ``v=spf1 mx -all`` is one string: added, shown, edited and served as one."""
    box = console_box
    zone_id = _zone_id(box, box.central_token())
    owner = "spf-console.burrow.example."
    login(page, console_url, *_admin(box))
    page.goto(console_url + f"/dns/zones/{zone_id}")
    form = page.locator("#add-record")
    form.locator("#f-name").fill("spf-console")
    form.locator("#f-type").select_option("TXT")
    form.locator("#f-data").fill("v=spf1 mx -all")
    form.locator("#f-comment").fill("SPF with spaces")
    page.click("button:has-text('Add record')")
    expect(page.locator("text=The record was added.")).to_be_visible()
    wait_for(lambda: _txt_strings(box, owner) == [b"v=spf1 mx -all"], timeout=20,
             what="named answering the TXT as one string")  # fmt: skip
    row = page.locator("#records tr", has_text="spf-console")
    expect(row).to_contain_text('"v=spf1 mx -all"')
    # The edit form holds the data as the API answers it; saved again it means the same.
    row.locator("text=Edit").click()
    editing = page.locator("#records tr.editing")
    expect(editing.locator("input[name=data]")).to_have_value('"v=spf1 mx -all"')
    editing.locator("input[name=data]").fill("v=spf1 mx a:mail.burrow.example -all")
    editing.locator("input[name=comment]").fill("SPF edited")
    editing.locator("button:has-text('Save')").click()
    expect(page.locator("text=The record was saved.")).to_be_visible()
    wanted = [b"v=spf1 mx a:mail.burrow.example -all"]
    wait_for(lambda: _txt_strings(box, owner) == wanted, timeout=20,
             what="named answering the edited TXT as one string")  # fmt: skip
    expect(page.locator("#records tr", has_text="spf-console")).to_contain_text(
        '"v=spf1 mx a:mail.burrow.example -all"'
    )
    # Two quoted strings stay two.
    page.locator("#records tr", has_text="spf-console").locator("text=Edit").click()
    editing = page.locator("#records tr.editing")
    editing.locator("input[name=data]").fill('"v=spf1 mx" "-all"')
    editing.locator("button:has-text('Save')").click()
    expect(page.locator("text=The record was saved.")).to_be_visible()
    wait_for(lambda: _txt_strings(box, owner) == [b"v=spf1 mx", b"-all"], timeout=20,
             what="named answering two strings")  # fmt: skip
    assert page.errors == []  # type: ignore[attr-defined]


def test_import_preview_then_leaving_out_the_refused(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    login(page, console_url, *_admin(box))
    page.goto(console_url + "/dns/zones")
    text = (
        "$ORIGIN preview.example.\n$TTL 300\n"
        "@ IN SOA ns1 hostmaster 1 3600 900 1209600 300\n"
        f"@ IN NS ns1\nns1 IN A {box.address}\nkept IN A 198.51.100.26\n"
        'elsewhere.example. IN A 198.51.100.27\n_spf IN TXT "v=spf1 mx -all"\n'
    )
    page.fill("#import-zone #import-f-name", "preview.example")
    page.fill("#import-zone #f-text", text)
    page.click("#import-zone button:has-text('Preview')")
    refused = page.locator("#import-refused")
    expect(refused).to_contain_text("outside the zone")
    expect(refused.locator("tbody tr")).to_have_count(1)
    expect(refused.locator("tbody tr td").first).to_have_text("7")
    expect(page.locator("#import-records tbody tr")).to_have_count(4)
    found = box.https(1231, "/api/v1/dns/zones?filter=name:preview.example.",
                      token=box.central_token())  # fmt: skip
    assert found.json()["total"] == 0  # the preview made nothing
    # Without the choice the import is refused at the line; with it, the rest is imported.
    page.click("#import-zone button:has-text('Import')")
    expect(page.locator("#import-zone")).to_contain_text("line 7")
    page.check("#import-zone input[name=leave_out_refused]")
    page.click("#import-zone button:has-text('Import')")
    expect(page.locator("text=without the refused records")).to_be_visible()
    wait_for(lambda: _answers(box, "kept.preview.example.", "198.51.100.26"), timeout=20,
             what="named answering the imported zone")  # fmt: skip
    assert _txt_strings(box, "_spf.preview.example.") == [b"v=spf1 mx -all"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_bad_record_shows_the_api_error_at_its_field(
    console_box: Sandbox, console_url: str, page: Page
):
    _zone_id(console_box, console_box.central_token())
    login(page, console_url, *_admin(console_box))
    page.goto(console_url + "/dns/zones")
    page.click("#zones >> text=burrow.example.")
    expect(page.locator("h1")).to_have_text("burrow.example.")
    form = page.locator("#add-record")
    form.locator("#f-name").fill("bad")
    form.locator("#f-type").select_option("A")
    form.locator("#f-data").fill("not-an-address")
    page.click("button:has-text('Add record')")
    error = page.locator("#add-record #e-data")
    expect(error).to_contain_text("not valid A data")
    expect(page.locator("#add-record #f-data")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#add-record #f-data")).to_have_value("not-an-address")
    shot(page, "dns-record-error")
    # Text where a number belongs never reaches Central: the console says so at the field.
    form.locator("#f-data").fill("198.51.100.90")
    form.locator("#f-ttl").fill("soon")
    page.click("button:has-text('Add record')")
    expect(page.locator("#add-record #e-ttl")).to_contain_text("“soon” is not a duration")
    expect(page.locator("#add-record #f-ttl")).to_have_attribute("aria-invalid", "true")
    # A number Central refuses: its problem, at the field.
    form.locator("#f-ttl").fill("3000000000")
    page.click("button:has-text('Add record')")
    expect(page.locator("#add-record #e-ttl")).to_contain_text("2147483647")
    records = console_box.https(
        1231, "/api/v1/dns/records?name=bad.burrow.example.", token=console_box.central_token()
    )
    assert records.json()["total"] == 0


def test_a_form_with_several_wrong_fields_shows_every_problem_at_its_field(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    token = box.central_token()
    dhcp_id = box.https(1231, "/api/v1/dhcp/servers", token=token).json()["items"][0]["id"]
    scopes = f"/api/v1/dhcp/servers/{dhcp_id}/v4/scopes"
    before = box.https(1231, scopes, token=token).json()["total"]
    login(page, console_url, *_admin(box))
    page.goto(console_url + "/dhcp")
    form = page.locator("#create-scope")
    form.locator("#new-f-subnet").fill("198.51.100.224/27")
    form.locator("#new-f-start").fill("198.51.100.300")
    form.locator("#new-f-end").fill("the last one")
    form.locator("#new-f-comment").fill("two wrong addresses")
    form.locator("button:has-text('Create scope')").click()
    # Both wrong fields are named at once, each next to its own input.
    for name in ("start", "end"):
        expect(form.locator(f"#new-e-{name}")).to_contain_text("is not an IPv4 or IPv6 address")
        expect(form.locator(f"#new-f-{name}")).to_have_attribute("aria-invalid", "true")
        expect(form.locator(f"#new-f-{name}")).to_have_attribute(
            "aria-describedby", f"new-e-{name}"
        )
    expect(form.locator("#new-f-end")).to_have_value("the last one")
    expect(form.locator("#new-e-subnet")).to_have_count(0)
    expect(page.locator(".error.banner")).to_contain_text("nothing was changed")
    assert box.https(1231, scopes, token=token).json()["total"] == before

    # The user form: a wrong name and a short password, both named.
    users_before = box.https(1231, "/api/v1/users", token=token).json()["total"]
    page.goto(console_url + "/users")
    form = page.locator("#create-user")
    form.locator("#f-username").fill("Not A Name")
    form.locator("#f-password").fill("short")
    form.locator("#f-comment").fill("two wrong fields")
    form.locator("button:has-text('Create user')").click()
    expect(form.locator("#e-username")).to_be_visible()
    expect(form.locator("#e-password")).to_contain_text("at least 12")
    expect(form.locator("#f-username")).to_have_value("Not A Name")
    assert box.https(1231, "/api/v1/users", token=token).json()["total"] == users_before
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_problem_for_a_field_the_form_lacks_is_shown_at_its_top(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    token = box.central_token()
    zone_id = _zone_id(box, token)
    changes = f"/api/v1/dns/zones/{zone_id}/changes"
    made = box.https(1231, changes, 30, method="POST", token=token, json_body={
        "changes": [{"action": "create", "record": {
            "name": "moved", "type": "A", "ttl": 300, "data": "198.51.100.61"}}],
        "comment": "to be edited and removed meanwhile",
    })  # fmt: skip
    assert made.status_code == 200, made.text
    login(page, console_url, *_admin(box))
    page.goto(console_url + f"/dns/zones/{zone_id}")
    page.locator("#records tr", has_text="198.51.100.61").locator("text=Edit").click()
    editing = page.locator("#records tr.editing")
    editing.locator("input[name=data]").fill("198.51.100.62")
    # Someone else removes the record while this form is open ...
    gone = box.https(1231, changes, 30, method="POST", token=token, json_body={
        "changes": [{"action": "delete", "record": {
            "name": "moved", "type": "A", "ttl": 300, "data": "198.51.100.61"}}],
        "comment": "removed meanwhile",
    })  # fmt: skip
    assert gone.status_code == 200, gone.text
    editing.locator("button:has-text('Save')").click()
    # ... Central's problem names the record as it was, which the form does not show: the
    # problem goes to the form's top, in words, and no field is marked.
    problems = page.locator("#records tr.editing-problems .form-top")
    expect(problems).to_contain_text("record (moved.burrow.example. A): no such record")
    expect(page.locator("#records tr.editing input[aria-invalid=true]")).to_have_count(0)
    expect(page.locator("#records tr.editing input[name=data]")).to_have_value("198.51.100.62")
    found = box.https(1231, "/api/v1/dns/records?name=moved.burrow.example.", token=token)
    assert found.json()["total"] == 0
    assert page.errors == []  # type: ignore[attr-defined]


def test_scope_and_reservation_then_dhclient_gets_the_address(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    net = box.network
    mac = "02:00:5e:77:00:01"
    reserved = str(net[15])
    login(page, console_url, *_admin(box))
    page.click("nav >> text=DHCP")
    expect(page.locator("h1")).to_have_text("DHCP scopes")
    # The appliance's first scope gives way to one made in the console.
    page.locator("#scopes tr", has_text=str(net)).locator("button:has-text('Delete')").click()
    _confirm(page, "replaced by the browser test")
    expect(page.locator("text=The scope was deleted.")).to_be_visible()
    page.fill("#create-scope #new-f-subnet", str(net))
    page.fill("#create-scope #new-f-start", str(net[20]))
    page.fill("#create-scope #new-f-end", str(net[29]))
    page.fill("#create-scope #new-f-routers", box.address)
    page.fill("#create-scope #new-f-comment", "scope made in the browser test")
    page.click("button:has-text('Create scope')")
    expect(page.locator("text=The scope was created.")).to_be_visible()
    page.fill("#reservations #res-f-hw_address", mac)
    page.fill("#reservations #res-f-ip_addresses", reserved)
    page.fill("#reservations #res-f-hostname", "printer")
    page.fill("#reservations #res-f-comment", "the printer")
    page.click("button:has-text('Add reservation')")
    expect(page.locator("text=The reservation was added.")).to_be_visible()
    expect(page.locator("#reservations")).to_contain_text(reserved)
    shot(page, "dhcp-scope")
    page.fill("#pools #pool-f-start", str(net[10]))
    page.fill("#pools #pool-f-end", str(net[12]))
    page.click("button:has-text('Add pool')")
    expect(page.locator("text=The scope was saved.")).to_be_visible()
    expect(page.locator("#pools")).to_contain_text(str(net[12]))
    page.locator("#pools tr", has_text=str(net[12])).locator("button:has-text('Remove')").click()
    _confirm(page, "not needed")
    expect(page.locator("text=The scope was saved.")).to_be_visible()
    expect(page.locator("#pools")).not_to_contain_text(str(net[12]))
    expect(page.locator("#reservations")).to_contain_text(reserved)  # kept by the PUT
    client = box.add_client(mac)
    lease = dhclient(client, timeout=30)
    assert lease["new_ip_address"] == reserved
    page.click("text=DHCP scopes")
    expect(page.locator("h1")).to_have_text("DHCP scopes")
    expect(page.locator("#scopes")).to_contain_text(str(net[20]))
    shot(page, "dhcp-scopes")
    page.click("text=Leases")
    expect(page.locator("h1")).to_have_text("DHCP leases")
    page.fill("#find-f-hw_address", mac)
    page.click("button:has-text('Search')")
    expect(page.locator("#leases")).to_contain_text(reserved)
    shot(page, "dhcp-leases")
    assert page.errors == []  # type: ignore[attr-defined]


def _wait_reachable(box: Sandbox) -> None:
    """Every DNS and DHCP server of Central's registry reachable (within two health rounds)."""
    token = box.central_token()
    interval = box.https(1231, "/api/v1/settings", token=token).json()["health_interval_seconds"]

    def reachable() -> bool:
        items = box.https(1231, "/api/v1/servers", token=token).json()["items"]
        states = [s["state"] for s in items if s["kind"] in ("dns", "dhcp")]
        return bool(states) and all(state == "reachable" for state in states)

    wait_for(reachable, timeout=2 * interval + 30, what="the DNS and DHCP servers reachable")


def test_options_classes_history_users_settings(console_box: Sandbox, console_url: str, page: Page):
    login(page, console_url, *_admin(console_box))
    page.goto(console_url + "/dhcp/options")
    page.fill("#options #opt-f-option", "domain-name-servers")
    page.fill("#options #opt-f-data", console_box.address)
    page.click("button:has-text('Add option')")
    expect(page.locator("text=The options were saved.")).to_be_visible()
    page.fill("#classes #cls-f-name", "lab-phones")
    page.fill("#classes #cls-f-test", "substring(option[60].hex,0,5) == 'phone'")
    page.click("button:has-text('Save class')")
    expect(page.locator("text=The class was saved.")).to_be_visible()
    expect(page.locator("#classes")).to_contain_text("lab-phones")
    shot(page, "dhcp-options")
    page.locator("#options tr", has_text="domain-name-servers").locator("button").click()
    _confirm(page, "tidy up")
    expect(page.locator("text=The options were saved.")).to_be_visible()
    expect(page.locator("#options")).not_to_contain_text("domain-name-servers")
    page.locator("#classes tr", has_text="lab-phones").locator("button").click()
    _confirm(page, "tidy up")
    expect(page.locator("text=The class was deleted.")).to_be_visible()
    expect(page.locator("#classes")).not_to_contain_text("lab-phones")
    page.goto(console_url + "/servers")
    page.locator("#servers tr", has_text="dhcp").locator("button:has-text('Sync now')").click()
    expect(page.locator("text=The server was synced.")).to_be_visible()
    page.locator("#servers tr", has_text="dns").locator("button:has-text('Sync now')").click()
    expect(page.locator("text=The server was synced.")).to_be_visible()
    # Each server is "reachable" once the registry's health poll has reached it (the first
    # round may come after this test starts): waited for at Central, then shown.
    _wait_reachable(console_box)
    page.goto(console_url + "/servers")
    for kind in ("dns", "dhcp"):
        kind_cell = page.locator(f"td[data-kind={kind}]")
        rows = page.locator("#servers tbody tr").filter(has=kind_cell)
        expect(rows.first).to_be_visible()
        for state in rows.locator(".state").all():
            expect(state).to_have_text("reachable")
    shot(page, "servers")
    page.goto(console_url + "/history")
    page.fill("#h-actor", "admin")
    page.select_option("#h-object_type", "dhcp-class")
    page.click("button:has-text('Search')")
    expect(page.locator("#history tbody tr").first).to_contain_text("dhcp-class")
    shot(page, "history")
    page.goto(console_url + "/settings")
    page.fill("#f-health_interval_seconds", "3")
    page.click("button:has-text('Save settings')")
    expect(page.locator("#e-health_interval_seconds")).to_be_visible()
    page.fill("#f-health_interval_seconds", "20")
    page.fill("#f-comment", "checked more often")
    page.click("button:has-text('Save settings')")
    expect(page.locator("text=The settings were saved.")).to_be_visible()
    expect(page.locator("#f-health_interval_seconds")).to_have_value("20")
    shot(page, "settings")
    assert page.errors == []  # type: ignore[attr-defined]


def test_read_only_user_sees_no_write_controls_and_forged_writes_are_refused(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    token = box.central_token()
    created = box.https(1231, "/api/v1/users", method="POST", token=token, json_body={
        "username": "viewer", "role": "read-only", "password": "a-long-viewer-password",
    })  # fmt: skip
    assert created.status_code == 201, created.text
    # The administrator sees the user in the list.
    login(page, console_url, *_admin(box))
    page.goto(console_url + "/users")
    expect(page.locator("#users")).to_contain_text("viewer")
    page.fill("#create-user #f-username", "temp-ops")
    page.fill("#create-user #f-password", "short")
    page.click("button:has-text('Create user')")
    expect(page.locator("#create-user #e-password")).to_contain_text("at least 12")
    page.fill("#create-user #f-password", "a-long-enough-password")
    page.select_option("#create-user #f-role", "dns-admin")
    page.click("button:has-text('Create user')")
    expect(page.locator("text=The user was created.")).to_be_visible()
    row = page.locator("#users tbody tr", has_text="temp-ops")
    row.locator("summary:has-text('Edit')").click()
    row.locator("select[name=role]").select_option("dhcp-admin")
    row.locator("button:has-text('Save')").click()
    expect(page.locator("text=The user was saved.")).to_be_visible()
    expect(page.locator("#users tbody tr", has_text="temp-ops")).to_contain_text("dhcp-admin")
    page.locator("#users tbody tr", has_text="temp-ops").locator(
        "button:has-text('Delete')"
    ).click()
    page.fill("#confirm-comment", "temporary")
    page.click("#confirm-ok")
    expect(page.locator("text=The user was deleted.")).to_be_visible()
    expect(page.locator("#users")).not_to_contain_text("temp-ops")
    shot(page, "users")
    # Writes without the session's CSRF token are refused, whoever sends them.
    refused = _post(box, page, console_url + "/dns/zones", {
        "name": "no-csrf.example", "server_id": "1",
    })  # fmt: skip
    assert refused.status_code == 403
    wrong = _post(box, page, console_url + "/dns/zones", {
        "csrf_token": "not-the-token", "name": "no-csrf.example", "server_id": "1",
    })  # fmt: skip
    assert wrong.status_code == 403
    page.click("button:has-text('Log out')")

    login(page, console_url, "viewer", "a-long-viewer-password")
    zone_page = f"/dns/zones/{_zone_id(box, token)}"
    dhcp_id = box.https(1231, "/api/v1/dhcp/servers", token=token).json()["items"][0]["id"]
    scopes = box.https(1231, f"/api/v1/dhcp/servers/{dhcp_id}/v4/scopes", token=token).json()
    scope_page = f"/dhcp/scopes/{scopes['items'][0]['id']}"
    dns_servers = box.https(1231, "/api/v1/servers?filter=kind:dns", token=token).json()
    dns_id = dns_servers["items"][0]["id"]
    for path in ("/", "/dns/zones", zone_page, zone_page + "/settings", "/dns/search?q=burrow",
                 f"/dns/servers/{dns_id}/options", "/dhcp", scope_page, "/dhcp/options",
                 "/servers", "/users", "/settings", "/appliance", "/backups"):  # fmt: skip
        page.goto(console_url + path)
        assert page.locator("main form[method=post]").count() == 0, path
        assert page.locator("main button:has-text('Delete')").count() == 0, path
    # A forged write with a valid session and CSRF token: Central refuses the role.
    forged = _post(box, page, console_url + "/dns/zones", {
        "csrf_token": _csrf(page), "name": "forged.example", "server_id": "1",
    })  # fmt: skip
    assert forged.status_code == 403
    assert re.search(r"role &#39;read-only&#39; may not", forged.text), forged.text
    for name in ("no-csrf.example.", "forged.example."):
        found = box.https(1231, f"/api/v1/dns/zones?filter=name:{name}", token=token)
        assert found.json()["total"] == 0, name
    # The appliance's own backups and network, and the peer side: refused alike.
    before = box.https(1231, "/api/v1/appliance/network", token=token).json()
    for path, form in (
        ("/appliance/network", {"hostname": "forged", "comment": "forged"}),
        ("/appliance/backups", {"kind": "full"}),
        ("/backups/pairing-tokens", {"address": "198.51.100.9"}),
    ):
        forged = _post(box, page, console_url + path, {"csrf_token": _csrf(page), **form})
        assert forged.status_code == 403, (path, forged.status_code)
    assert box.https(1231, "/api/v1/appliance/network", token=token).json() == before


def test_dashboard_shows_a_crash_and_the_restart(
    console_box: Sandbox, console_url: str, page: Page
):
    box = console_box
    view = box.supervisor()
    pid = view.pid("kea-dhcp4")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: view.pid("kea-dhcp4") not in (0, pid), timeout=20,
             what="supervisord restarting kea-dhcp4")  # fmt: skip
    wait_for(box.check_kea, timeout=20, what="Kea serving again")
    login(page, console_url, *_admin(box))
    expect(page.locator("main")).to_contain_text("kea-dhcp4: 1 unexpected exit in the last 24 h")
    expect(page.locator("main")).to_contain_text("SIGKILL")
