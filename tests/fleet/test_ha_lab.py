"""Kea high availability between two appliances in one action: A joins B's fleet; B's Central
makes B's and A's DHCP servers a hot-standby pair (A gets B's scopes); a real dhclient gets a
lease from B, which A knows too; B's Kea stops; after the failover A gives a new client a lease
and the first client keeps its address; B's Kea returns and has A's leases; then the same
two in load-balancing (docs/dhcp.md)."""

from __future__ import annotations

import logging
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.enrolment import central_client_cert
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi
from tests.fleet.test_secondaries_lab import _join
from tests.harness.dhcp import dhclient
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for
from tests.monitor.snmp import COMMUNITY, v2c
from tests.shell.client import Diag, authorize, make_key, wait_for_shell

pytestmark = pytest.mark.sandbox
log = logging.getLogger(__name__)
HOOK = "libdhcp_ha.so"


def _peer_link_is_mutual_tls(on_b: CentralApi, a: Sandbox, b: Sandbox, ids: list[int]) -> None:
    """The partners reach each other (both in hot-standby already) over mutual TLS with the
    pair's certificates; a caller without one, over plain HTTP, or with a certificate of
    Burrow's other CA (Central's client certificate) is refused. No secret in the raw view."""
    for server in ids:
        raw = on_b.get(f"/api/v1/dhcp/servers/{server}/v4/config")["config"]
        hook = next(h for h in raw["Dhcp4"]["hooks-libraries"] if h["library"].endswith(HOOK))
        relation = hook["parameters"]["high-availability"][0]
        assert relation["require-client-certs"] is True and relation["restrict-commands"]
        assert all(p["url"].startswith("https://") for p in relation["peers"])
        assert "password" not in str(raw), "a secret in the raw configuration"
    url = f"https://{b.address}:8005/"
    heartbeat = {"command": "ha-heartbeat", "service": ["dhcp4"]}
    own = a.root.kea_ha_tls
    # A's own certificate (what A's Kea shows B): answered. So the listener is up and the
    # refusals below are refusals.
    context = ssl.create_default_context(cafile=own / "ca.crt")
    context.check_hostname = False
    context.load_cert_chain(own / "ha.crt", own / "ha.key")
    with httpx.Client(verify=context, timeout=10) as client:
        answer = client.post(url, json=heartbeat).json()
        # restrict-commands: what HA does not send is refused even to a partner.
        other = client.post(url, json={"command": "config-get", "service": ["dhcp4"]})
    assert answer[0]["result"] == 0 and answer[0]["arguments"]["state"] == "hot-standby", answer
    assert other.status_code == 403, other.text
    # No client certificate, Central's client certificate (the agents' CA), plain HTTP.
    bare = ssl.create_default_context(cafile=own / "ca.crt")
    bare.check_hostname = False
    central = ssl.create_default_context(cafile=own / "ca.crt")
    central.check_hostname = False
    paths = central_client_cert(b.root)
    central.load_cert_chain(paths.cert, paths.key)
    for verify, target in ((bare, url), (central, url), (False, f"http://{b.address}:8005/")):
        with httpx.Client(verify=verify, timeout=10) as client:
            with pytest.raises(httpx.TransportError):
                client.post(target, json=heartbeat)


def _every_view_shows_the_state(
    lab: Lab, on_b: CentralApi, a: Sandbox, b: Sandbox, tmp_path: Path
) -> None:
    """Both in hot-standby, each in touch with the other: Central's API, B's console, A's
    diagnostic shell and B's SNMP agent say so, from the real Kea answers."""

    def heard() -> list[Any]:
        # Each learns the other's state at its next heartbeat (1 s).
        partners: list[Any] = on_b.get("/api/v1/dhcp/ha")["partners"]
        return partners if all(p["partner_state"] == "hot-standby" for p in partners) else []

    for partner in wait_for(heard, timeout=20, what="each partner hearing the other"):
        assert partner["reachable"] and partner["in_touch"] is True, partner
        assert partner["unsent_updates"] == 0 and partner["mode"] == "hot-standby", partner
    # The console's DHCP page (B's, a real login).
    url = f"https://{b.address}"
    user, password = b.admin_credentials()
    with httpx.Client(verify=b.tls_context(), timeout=30) as http:
        http.post(url + "/login", data={"username": user, "password": password},
                  headers={"Origin": url})  # fmt: skip
        page = http.get(url + "/dhcp?family=v4")
    assert page.status_code == 200, page.text[:500]
    panel = page.text[page.text.index('id="ha"') :]
    panel = panel[: panel.index("</section>")]
    assert (
        "High availability (hot-standby)" in panel and panel.count(">hot-standby<") == 4
    )  # states, heard states
    assert a.address in panel and b.address in panel
    # A's diagnostic shell.
    key = make_key(tmp_path)
    authorize(a.root, key)
    shell = Diag(a, key)
    wait_for_shell(a, shell)
    said = shell.run("kea ha")
    assert said.rc == 0, said
    assert "dhcp4 high availability: hot-standby" in said.out
    assert "this server: standby, state hot-standby" in said.out
    assert "partner:     primary, state hot-standby, in touch yes" in said.out
    # B's SNMP agent (BURROW-MIB burrowHa), read by net-snmp's snmpwalk.
    on_b.ok(on_b.call("PUT", "/api/v1/monitoring", {"communities": [{
        "name": "noc", "community": COMMUNITY, "networks": [f"{lab.host_address}/32"]}],
        "comment": "ha-lab"}))  # fmt: skip

    def walk() -> str:
        found = v2c("snmpwalk", b.address, COMMUNITY, "burrowHa")
        return found.stdout if 'burrowHaPartnerState.0 = STRING: "hot-standby"' in found.stdout \
            or "burrowHaPartnerState.0 = STRING: hot-standby" in found.stdout else ""  # fmt: skip

    mib = wait_for(walk, timeout=40, what="burrowHa by snmpwalk")
    assert "burrowHaConfigured.0 = INTEGER: true(1)" in mib, mib
    assert "burrowHaRole.0 = STRING: primary" in mib, mib
    assert "burrowHaUnsentUpdates.0 = Gauge32: 0" in mib, mib


def test_two_appliances_in_hot_standby(lab: Lab, tmp_path: Path) -> None:
    a = lab.sandbox("a")
    b = lab.sandbox("b", dhcp=True)
    on_a, on_b = CentralApi(a), CentralApi(b)
    _join(on_a, on_b)

    def a_dhcp() -> int | None:
        items = on_b.get("/api/v1/servers?check=true&limit=1000")["items"]
        found = [s for s in items if s["kind"] == "dhcp" and s["address"] == a.address
                 and s["state"] == "reachable"]  # fmt: skip
        return int(found[0]["id"]) if found else None

    a_server = wait_for(a_dhcp, timeout=60, what="A's DHCP server reachable at B")
    b_server = on_b.local_server("dhcp")

    # Refused whole, naming the field; nothing changed.
    same = on_b.call("PUT", "/api/v1/dhcp/ha", {"primary": b_server, "partner": b_server})
    assert_problem(same, 422, "partner")
    assert on_b.call("GET", "/api/v1/dhcp/ha").status_code == 404

    pair = on_b.ok(on_b.call("PUT", "/api/v1/dhcp/ha", {
        "mode": "hot-standby", "primary": b_server, "partner": a_server, "comment": "ha-lab",
    }))  # fmt: skip
    assert [p["server_id"] for p in pair["partners"]] == [b_server, a_server]
    made = on_b.get("/api/v1/history?filter=comment:ha-lab&limit=50")["items"]
    assert {(c["object_type"], c["action"]) for c in made} == {
        ("dhcp-ha", "create"), ("dhcp-ha-pair", "create"),
    }, made  # fmt: skip
    assert "password" not in str(made)

    def states() -> list[str | None]:
        return [p["state"] for p in on_b.get("/api/v1/dhcp/ha")["partners"]]

    wait_for(lambda: states() == ["hot-standby", "hot-standby"], timeout=60,
             what="both partners in hot-standby")  # fmt: skip
    _peer_link_is_mutual_tls(on_b, a, b, [b_server, a_server])
    _every_view_shows_the_state(lab, on_b, a, b, tmp_path)

    # A reservation made on B through Central is made on A too.
    scope = on_b.get(f"/api/v1/dhcp/servers/{b_server}/v4/scopes")["items"][0]
    path = f"/api/v1/dhcp/servers/{{}}/v4/scopes/{scope['id']}/reservations"
    on_b.post(path.format(b_server), {"hw_address": "02:e2:e0:00:0a:09", "hostname": "ha-check"})
    on_a_scope = on_b.get(f"/api/v1/dhcp/servers/{a_server}/v4/scopes/{scope['id']}")
    assert [r["hostname"] for r in on_a_scope["reservations"]] == ["ha-check"]

    def lease_on(server: int, address: str) -> bool:
        found = on_b.get(f"/api/v1/dhcp/servers/{server}/v4/leases?address={address}")
        return bool(found["items"])

    first = lab.add_client("02:e2:e0:00:0a:01")
    taken = dhclient(first)
    assert taken["new_dhcp_server_identifier"] == b.address
    wait_for(lambda: lease_on(a_server, taken["new_ip_address"]), timeout=20,
             what="B's lease on A")  # fmt: skip

    # B's Kea stops: A takes over (partner-down) and serves.
    second = lab.add_client("02:e2:e0:00:0a:02")
    b.supervisor().call("supervisor.stopProcess", "kea-dhcp4")
    stopped = time.monotonic()
    try:
        wait_for(lambda: states()[1] == "partner-down", timeout=60, what="A in partner-down")
        down = on_b.get("/api/v1/dhcp/ha")["partners"]
        assert down[0]["reachable"] is False and down[1]["communication_interrupted"] is True
        given = dhclient(second)
        assert given["new_dhcp_server_identifier"] == a.address
        log.info("failover: %.1f s from B's Kea stopped to a lease from A",
                 time.monotonic() - stopped)  # fmt: skip
        again = dhclient(first)
        assert again["new_ip_address"] == taken["new_ip_address"]
        assert again["new_dhcp_server_identifier"] == a.address

        # A's monitor saw it (SNMP burrowHaDegraded, and the event list Central shows).
        def degraded() -> bool:
            text = a.root.service_events.read_text() if a.root.service_events.exists() else ""
            return '"ha-degraded"' in text and "state partner-down" in text

        wait_for(degraded, timeout=30, what="A's monitor noticing partner-down")
    finally:
        b.supervisor().call("supervisor.startProcess", "kea-dhcp4")
    # B returns, takes A's leases (syncing) and the pair is back in hot-standby.
    wait_for(lambda: states() == ["hot-standby", "hot-standby"], timeout=90,
             what="both partners in hot-standby again")  # fmt: skip
    assert lease_on(b_server, given["new_ip_address"])

    # Load-balancing: the same two, both serving; a lease of either is on both.
    on_b.ok(on_b.call("DELETE", "/api/v1/dhcp/ha?comment=ha-lab-off"))
    on_b.ok(on_b.call("PUT", "/api/v1/dhcp/ha", {
        "mode": "load-balancing", "primary": b_server, "partner": a_server,
    }))  # fmt: skip
    wait_for(lambda: states() == ["load-balancing", "load-balancing"], timeout=60,
             what="both partners in load-balancing")  # fmt: skip
    # Kea splits the clients by a hash of their identity (RFC 3074): these four fixed MAC
    # addresses fall on both sides, so both partners answer, and each lease is on both.
    served = []
    for last in ("03", "04", "05", "06"):
        given = dhclient(lab.add_client(f"02:e2:e0:00:0a:{last}"))
        served.append(given["new_dhcp_server_identifier"])
        address = given["new_ip_address"]
        wait_for(lambda: all(lease_on(s, address) for s in (a_server, b_server)),  # noqa: B023
                 timeout=20, what="the load-balanced lease on both")  # fmt: skip
    assert set(served) == {a.address, b.address}, served

    # Undone in one action: no HA hook left on either.
    removed = on_b.ok(on_b.call("DELETE", "/api/v1/dhcp/ha?comment=ha-lab-off"))
    assert removed == {"primary": b_server, "partner": a_server, "kept_hook": []}
    assert on_b.call("GET", "/api/v1/dhcp/ha").status_code == 404
    for server in (b_server, a_server):
        raw: dict[str, Any] = on_b.get(f"/api/v1/dhcp/servers/{server}/v4/config")["config"]
        hooks = [h["library"] for h in raw["Dhcp4"]["hooks-libraries"]]
        assert not any(h.endswith("libdhcp_ha.so") for h in hooks)
