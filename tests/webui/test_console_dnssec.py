"""The console's DNSSEC section of a zone's page and its TSIG keys page, in headless Chromium
against a real appliance: signing is chosen in the browser and named signs the zone; a key's
secret is shown on the page that made it, and on no page after."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from services.sandbox.sandbox import Sandbox
from tests.webui.conftest import login
from tests.webui.test_console import _admin

pytestmark = pytest.mark.sandbox


def _new_zone(box: Sandbox, name: str) -> int:
    token = box.central_token()
    servers = box.https(1231, "/api/v1/servers?filter=local:true kind:dns", token=token).json()
    body = {"server_id": servers["items"][0]["id"], "name": name}
    made = box.https(1231, "/api/v1/dns/zones", 60, method="POST", token=token, json_body=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _delete_zone(box: Sandbox, zone_id: int) -> None:
    token = box.central_token()
    gone = box.https(1231, f"/api/v1/dns/zones/{zone_id}", 60, method="DELETE", token=token)
    assert gone.status_code in (200, 204, 404), gone.text


def test_zone_signing_in_the_console(console_box: Sandbox, console_url: str, page: Page):
    zone_id = _new_zone(console_box, "signed-console.example.")
    try:
        _sign_in_the_console(console_url, page, zone_id, console_box)
    finally:
        _delete_zone(console_box, zone_id)  # other console tests count the zones they find


def _sign_in_the_console(console_url: str, page: Page, zone_id: int, console_box: Sandbox) -> None:
    login(page, console_url, *_admin(console_box))
    page.goto(f"{console_url}/dns/zones/{zone_id}")
    section = page.locator("#dnssec")
    expect(section).to_contain_text("Not signed.")
    section.locator("#f-policy").select_option("default")
    section.locator("#f-dnssec-comment").fill("sign it")
    section.locator("button:has-text('Apply signing')").click()
    expect(page.locator("text=The zone's signing was changed")).to_be_visible()
    expect(page.locator("#dnssec")).to_contain_text("Signed with policy default")

    def has_ds() -> bool:
        page.reload()
        return page.locator("#ds-records li").count() > 0

    for _ in range(40):  # named signs in the background: a page read per half second
        if has_ds():
            break
        page.wait_for_timeout(500)
    expect(page.locator("#ds-records")).to_contain_text("IN DS")
    expect(page.locator("#dnssec-keys")).to_contain_text("CSK")


def test_tsig_key_secret_shown_once(console_box: Sandbox, console_url: str, page: Page):
    login(page, console_url, *_admin(console_box))
    page.goto(console_url + "/dns/zones")
    page.click("text=TSIG keys")
    expect(page.locator("h1")).to_have_text("TSIG keys")
    form = page.locator("#create-key")
    form.locator("#f-name").fill("console-key")
    form.locator("#f-algorithm").select_option("hmac-sha512")
    form.locator("button:has-text('Make key')").click()
    shown = page.locator("#new-key")
    expect(shown).to_contain_text('key "console-key"')
    text = shown.inner_text()
    secret = text.split('secret "', 1)[1].split('"', 1)[0]
    assert len(secret) == 88  # 64 octets, base64
    page.goto(console_url + "/dns/keys")
    expect(page.locator("#keys")).to_contain_text("console-key")
    assert secret not in page.content()
    page.goto(console_url + "/history")
    assert secret not in page.content()
    page.goto(console_url + "/dns/keys")
    page.locator("#keys tr", has_text="console-key").locator("button:has-text('Delete')").click()
    page.fill("#confirm-comment", "not needed")
    page.click("#confirm-ok")
    expect(page.locator("text=The TSIG key was deleted.")).to_be_visible()
    expect(page.locator("#keys")).not_to_contain_text("console-key")
