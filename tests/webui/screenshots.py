"""``./build.sh screenshots``: the console's screenshots in docs/, from a sandbox appliance
holding the data of a small office rather than a test's.

It starts a sandbox, fills it through Central's API as an administrator would (a company zone
with mail, SPF, DKIM, SIP and CAA records and its reverse zone, three DHCP scopes with options
and reservations, clients with leases got by real dhclient runs, users of every role, save
comments), pairs the appliance with a backup peer (its own Central, for the picture) so that
its backups are current, and takes each page at 1280x800 in Debian's Chromium. The browser
tests take the screenshots of the states only they reach (a record refused at its field, a
restore in progress, the login page); those listed in ``PAGES`` are this tool's alone.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import pair
from tests.conftest import free_network
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for
from tests.webui.conftest import SCREENSHOTS, VIEWPORT, login, pinned_chromium

#: The pages this tool takes (and the browser tests leave alone).
PAGES = (
    "dashboard",
    "dns-zones",
    "dns-records",
    "dhcp-scopes",
    "dhcp-scope",
    "dhcp-leases",
    "dhcp-options",
    "history",
    "servers",
    "users",
    "settings",
)

ZONE = "corp.example."
CLIENTS = (
    ("02:5c:00:00:00:11", "reception-pc"),
    ("02:5c:00:00:00:12", "meeting-room-tv"),
    ("02:5c:00:00:00:13", "laptop-jdoe"),
    ("02:5c:00:00:00:14", "laptop-asmith"),
)


def _records(box: Sandbox) -> list[dict[str, Any]]:
    host = box.network
    return [
        record("@", "MX", f"10 mail.{ZONE}"),
        record("@", "MX", f"20 mail2.{ZONE}"),
        record("@", "TXT", f'"v=spf1 mx ip4:{host} include:_spf.mailhost.example -all"'),
        record("@", "CAA", '0 issue "letsencrypt.org"'),
        record("_dmarc", "TXT", '"v=DMARC1; p=quarantine; rua=mailto:dmarc@corp.example"'),
        record(
            "mail._domainkey",
            "TXT",
            '"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu3v4x7bT2cZ9Q"',
        ),
        record("www", "A", str(host[10])),
        record("www", "AAAA", "2001:db8:5c::10"),
        record("mail", "A", str(host[11])),
        record("mail2", "A", str(host[12])),
        record("intranet", "CNAME", f"www.{ZONE}"),
        record("vpn", "A", str(host[13])),
        record("printer-2f", "A", str(host[20])),
        record("nas", "A", str(host[14])),
        record("nas", "AAAA", "2001:db8:5c::14"),
        record("_sip._tcp", "SRV", f"10 60 5060 pbx.{ZONE}"),
        record("_sip._udp", "SRV", f"10 60 5060 pbx.{ZONE}"),
        record("pbx", "A", str(host[15])),
        record("_ldap._tcp", "SRV", f"0 100 389 dc1.{ZONE}"),
        record("dc1", "A", str(host[16])),
        record("wiki", "CNAME", f"intranet.{ZONE}"),
        record("status", "TXT", '"maintenance window: Sundays 02:00-04:00"'),
    ]


def _reverse(box: Sandbox) -> str:
    octets = str(box.network.network_address).split(".")
    return f"{octets[2]}.{octets[1]}.{octets[0]}.in-addr.arpa."


def populate(box: Sandbox) -> None:
    """The office's DNS, DHCP, users and backups, through Central's API."""
    api = CentralApi(box)
    dns_id = api.local_server("dns")
    dhcp_id = api.local_server("dhcp")
    zone = api.post(
        "/api/v1/dns/zones", {"server_id": dns_id, "name": ZONE, "comment": "company zone"}
    )
    api.post(
        f"/api/v1/dns/zones/{zone['id']}/changes",
        {"changes": _records(box), "comment": "records from the old DNS server"},
    )
    reverse = api.post(
        "/api/v1/dns/zones",
        {"server_id": dns_id, "name": _reverse(box), "comment": "reverse zone of the office LAN"},
    )
    ptrs = [
        record(str(address).split(".")[-1], "PTR", f"{name}.{ZONE}")
        for name, address in (
            ("www", box.network[10]),
            ("mail", box.network[11]),
            ("vpn", box.network[13]),
            ("nas", box.network[14]),
        )
    ]
    api.post(
        f"/api/v1/dns/zones/{reverse['id']}/changes",
        {"changes": ptrs, "comment": "PTR records of the servers"},
    )
    api.post(
        f"/api/v1/dns/zones/{zone['id']}/changes",
        {
            "changes": [
                {
                    "action": "update",
                    "record": {"name": "www", "type": "A", "data": str(box.network[10])},
                    "new": {"name": "www", "type": "A", "ttl": 300, "data": str(box.network[10])},
                }
            ],
            "comment": "shorter TTL before the web server moves",
        },
    )

    base = f"/api/v1/dhcp/servers/{dhcp_id}/v4"
    for scope in api.get(base + "/scopes")["items"]:
        api.ok(api.call("DELETE", f"{base}/scopes/{scope['id']}?comment=replaced"))
    net = box.network
    api.post(
        base + "/scopes",
        {
            "subnet": str(net),
            "pools": [{"start": str(net[17]), "end": str(net[28])}],
            "valid_lifetime": 28800,
            "options": [
                {"name": "routers", "data": str(net[1])},
                {"name": "domain-name-servers", "data": str(net[1])},
                {"name": "domain-name", "data": ZONE.rstrip(".")},
            ],
            "reservations": [
                {
                    "hw_address": "02:5c:00:00:01:01",
                    "ip_addresses": [str(net[20])],
                    "hostname": "printer-2f",
                },
                {
                    "hw_address": "02:5c:00:00:01:02",
                    "ip_addresses": [str(net[21])],
                    "hostname": "badge-reader",
                },
            ],
            "comment": "office LAN",
        },
    )
    for subnet, what in (("198.18.10.0/24", "guest Wi-Fi"), ("198.18.20.0/24", "VoIP phones")):
        network = ipaddress.IPv4Network(subnet)
        api.post(
            base + "/scopes",
            {
                "subnet": subnet,
                "pools": [{"start": str(network[50]), "end": str(network[250])}],
                "valid_lifetime": 3600 if "guest" in what else 86400,
                "options": [
                    {"name": "routers", "data": str(network[1])},
                    {"name": "domain-name-servers", "data": str(net[1])},
                ],
                "comment": what,
            },
        )
    api.ok(
        api.call(
            "PUT",
            base + "/options",
            {
                "options": [{"name": "ntp-servers", "data": str(net[1])}],
                "comment": "time from the appliance",
            },
        )
    )
    with tempfile.TemporaryDirectory(prefix="bw-shots-") as tmp:
        for mac, name in CLIENTS:
            conf = Path(tmp, f"{name}.conf")
            conf.write_text(f'send host-name "{name}";\n')
            dhclient(box.add_client(mac=mac), extra=["-cf", str(conf)])

    for name, role in (("alice", "dns-admin"), ("bob", "dhcp-admin"), ("carol", "read-only")):
        api.post(
            "/api/v1/users",
            {
                "username": name,
                "role": role,
                "password": f"{name}-{os.urandom(8).hex()}",
                "comment": f"{role} of the office",
            },
        )
    pair(box, box, api, api)
    api.post("/api/v1/appliance/backups", {"kind": "full"})


def _shoot(
    page: Page,
    url: str,
    name: str,
    ready: Callable[[Page], None] | None = None,
    *,
    at: str | None = None,
) -> None:
    """Page ``url`` as ``name``.png; ``at``: scrolled so that this element is at the top."""
    page.goto(url)
    if ready is not None:
        ready(page)
    page.wait_for_load_state("networkidle")
    if at is not None:
        page.evaluate(
            "(sel) => window.scrollTo(0, document.querySelector(sel).getBoundingClientRect().top"
            " + window.scrollY - 90)",
            at,
        )
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    print(f"screenshots: {name}.png", file=sys.stderr)


def take(box: Sandbox) -> None:
    api = CentralApi(box)
    zone_id = api.get(f"/api/v1/dns/zones?filter=name:{ZONE}")["items"][0]["id"]
    dhcp_id = api.local_server("dhcp")
    scope_id = next(
        s["id"]
        for s in api.get(f"/api/v1/dhcp/servers/{dhcp_id}/v4/scopes")["items"]
        if s["subnet"] == str(box.network)
    )

    def reachable() -> bool:
        items = api.get("/api/v1/servers?check=true")["items"]
        return all(s["state"] == "reachable" for s in items if s["local"])

    wait_for(reachable, timeout=60, interval=1, what="every server reachable")
    url = f"https://{box.address}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = pinned_chromium(driver, box)
        try:
            context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
            context.set_default_timeout(60_000)
            page = context.new_page()
            login(page, url, *box.admin_credentials())

            def healthy(found: Page) -> None:
                expect(found.locator("#health")).to_have_attribute(
                    "data-overall", "ok", timeout=90_000
                )

            _shoot(page, url + "/", "dashboard", healthy)
            _shoot(page, url + "/dns/zones", "dns-zones")
            _shoot(page, f"{url}/dns/zones/{zone_id}", "dns-records", at="#records")
            _shoot(page, url + "/dhcp", "dhcp-scopes")
            _shoot(page, f"{url}/dhcp/scopes/{scope_id}", "dhcp-scope")
            _shoot(page, url + "/dhcp/leases", "dhcp-leases")
            _shoot(page, url + "/dhcp/options", "dhcp-options")
            _shoot(page, url + "/history", "history")
            _shoot(page, url + "/servers", "servers")
            _shoot(page, url + "/users", "users")
            _shoot(page, url + "/settings", "settings")
        finally:
            browser.close()


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="bw-shots-", dir="/tmp"))
    name = "office"  # the appliance's name in the pictures: burrow-office
    box = Sandbox(name=name, network=ipaddress.IPv4Network(free_network()), root_dir=root)
    try:
        print("screenshots: starting a sandbox appliance", file=sys.stderr)
        box.start()
        populate(box)
        take(box)
    finally:
        box.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
