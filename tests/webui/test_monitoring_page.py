"""The console's monitoring page and the dashboard's alerts and clock, against a real appliance.

The document shown keeps every secret as ********; saved back with one change it keeps them
(the appliance's SNMP agent still answers with the community), and a bad network is refused
with its path in the document, changing nothing.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from services.sandbox.sandbox import Sandbox
from tests.harness.wait import wait_for
from tests.monitor.snmp import COMMUNITY, v2c
from tests.webui.conftest import login

pytestmark = pytest.mark.sandbox


def test_monitoring_settings_in_the_console(console_box: Sandbox, console_url: str, page: Page):
    box = console_box
    token = box.central_token()
    start = {
        "communities": [{"name": "noc", "community": COMMUNITY,
                         "networks": [f"{box.host_address}/32"]}],
        "comment": "before the console",
    }  # fmt: skip
    box.https(1231, "/api/v1/monitoring", method="PUT", token=token, json_body=start,
              timeout=10).raise_for_status()  # fmt: skip
    try:
        login(page, console_url, *box.admin_credentials())
        expect(page.locator("#alerts h2")).to_have_text("Alerts")
        expect(page.locator("#clock")).to_contain_text("No NTP server is set")
        page.goto(console_url + "/settings/monitoring")
        shown = json.loads(page.input_value("#f-document"))
        assert shown["communities"][0]["community"] == "********"
        assert COMMUNITY not in page.content()

        bad = dict(shown, communities=[dict(shown["communities"][0], networks=["10.0.0.300/8"])])
        page.fill("#f-document", json.dumps(bad))
        page.click("button:has-text('Save monitoring settings')")
        expect(page.locator(".error.banner")).to_contain_text("nothing was changed")
        expect(page.locator(".form-top")).to_contain_text("communities[0].networks[0]")

        page.fill("#f-document", json.dumps(dict(shown, location="row 7")))
        page.fill("#f-comment", "location from the console")
        page.click("button:has-text('Save monitoring settings')")
        expect(page.locator("body")).to_contain_text("The monitoring settings were saved")

        def location() -> bool:
            answer = v2c("snmpget", box.address, COMMUNITY, "sysLocation.0")
            return "STRING: row 7" in answer.stdout  # the stored community still works

        wait_for(location, timeout=30, what="sysLocation set in the console")
        assert not page.errors  # type: ignore[attr-defined]
    finally:
        box.https(1231, "/api/v1/monitoring", method="PUT", token=token,
                  json_body={"comment": "put back"}, timeout=10)  # fmt: skip
