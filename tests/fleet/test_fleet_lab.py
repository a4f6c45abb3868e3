"""A fleet in a lab of three appliances: A and C join B's fleet, B lists all three with their
health, B's Central changes a zone and a scope on A (served by A's named and Kea), A's Central
refuses DNS writes meanwhile, and A's backups (to C, its peer) take B's change within seconds;
A leaves while C stays managed by B; A joins again and is removed from B's side; each time
A's Central manages its agents again (docs/fleet.md)."""

from __future__ import annotations

import datetime as dt
import ssl
from typing import Any

import httpx
import pytest

from services.common.enrolment import ca_file, central_client_cert
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import pair, snapshots, wait_stored_after
from tests.fleet.test_secondaries_lab import _join
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def _servers_of(api: CentralApi, address: str) -> dict[str, dict[str, Any]]:
    items = api.get("/api/v1/servers?check=true&limit=1000")["items"]
    return {s["kind"]: s for s in items if s["address"] == address}


def _reachable(api: CentralApi, address: str) -> dict[str, dict[str, Any]] | None:
    servers = _servers_of(api, address)
    ok = len(servers) == 3 and all(s["state"] == "reachable" for s in servers.values())
    return servers if ok else None


def _answers(a: Sandbox, b: Sandbox, caller: Sandbox) -> bool:
    """Whether A's dns-agent answers ``caller``'s Central's client certificate (whichever of
    the two CAs signed the certificate the agent shows)."""
    context = ssl.create_default_context(cafile=str(ca_file(a.root)))
    context.load_verify_locations(cafile=str(ca_file(b.root)))
    client = central_client_cert(caller.root)
    context.load_cert_chain(str(client.cert), str(client.key))
    try:
        answer = httpx.get(f"https://{a.address}:1337/health", verify=context, timeout=10)
    except httpx.HTTPError:  # the agent dropped the connection after the handshake
        return False
    return answer.status_code == 200


def _subnets(box: Any) -> list[str]:
    config = box.kea("config-get")["arguments"]["Dhcp4"]
    return [s["subnet"] for s in config["subnet4"]]


def test_an_appliance_joins_a_fleet_is_managed_there_and_leaves(lab: Lab) -> None:
    a = lab.sandbox("a")
    b = lab.sandbox("b")
    c = lab.sandbox("c")
    on_a, on_b, on_c = CentralApi(a), CentralApi(b), CentralApi(c)
    # A backs up to C (its peer) before it joins, as an appliance in service does.
    peer_id = pair(a, c, on_c, on_a)
    wait_for(lambda: snapshots(on_c, peer_id) or None, timeout=60, what="A's first backup at C")
    code = on_b.call("POST", "/api/v1/fleet/joins", {"comment": "appliance A"})
    assert code.status_code == 201, code.text
    offer = code.json()
    assert offer["central_address"] == b.address

    def join(**over: Any) -> Any:
        body = {
            "address": offer["central_address"],
            "port": offer["central_port"],
            "ca_fingerprint": offer["ca_fingerprint"],
            "code": offer["code"],
            **over,
        }
        return on_a.call("POST", "/api/v1/fleet/membership", body)

    # Bad input names its field and changes nothing on either side.
    assert_problem(join(ca_fingerprint=":".join(["AB"] * 32)), 422, "ca_fingerprint")
    assert_problem(join(port=1), 502, "address")
    assert_problem(join(code="bwf_not-a-code"), 403, "code")
    assert_problem(join(address="198.51.100.999"), 422, "address")
    assert _answers(a, b, a) and not _answers(a, b, b)
    assert not on_a.get("/api/v1/fleet/membership")["joined"]
    assert on_b.get("/api/v1/fleet/members")["total"] == 0
    assert _servers_of(on_b, a.address) == {}

    joined = join(comment="into B's fleet")
    assert joined.status_code == 200, joined.text
    assert joined.json()["joined"] and joined.json()["address"] == b.address

    # C joins too: B's one server list holds its own agents, A's and C's, each with its health.
    _join(on_c, on_b)
    servers = wait_for(lambda: _reachable(on_b, a.address), timeout=60, what="A's servers at B")
    assert sorted(servers) == ["appliance", "dhcp", "dns"]
    assert not any(s["local"] for s in servers.values())
    c_servers = wait_for(lambda: _reachable(on_b, c.address), timeout=60, what="C's at B")
    listed = on_b.get("/api/v1/servers?check=true&limit=1000")["items"]
    b_own = [s for s in listed if s["local"]]
    assert sorted(s["kind"] for s in b_own) == ["appliance", "dhcp", "dns"], listed
    assert all(s["state"] == "reachable" for s in b_own), b_own
    members = on_b.get("/api/v1/fleet/members")["items"]
    assert {m["name"] for m in members} == {a.settings().hostname, c.settings().hostname}
    a_member = next(m for m in members if m["name"] == a.settings().hostname)
    wait_for(lambda: _reachable(on_a, a.address), timeout=60, what="A's servers at A")
    assert _answers(a, b, b) and _answers(a, b, a)  # both Centrals' certificates taken

    # B changes a zone on A's DNS server (A's named answers) and a scope on A's Kea; the
    # change never passes through A's Central, yet A's backup at C takes it within seconds
    # (the agents touch the producer's trigger), not at the next safety-net backup.
    def settled() -> bool:  # A's own changes (its join) are all at C, nothing waits to go
        status = on_a.get("/api/v1/appliance/backup-status")
        return status["changes_not_at_peer"] == 0 and status["outbox"] == 0

    wait_for(settled, timeout=30, what="A's backups at C up to date")
    before_change = dt.datetime.now(dt.UTC)
    zone = on_b.post("/api/v1/dns/zones", {"server_id": servers["dns"]["id"],
                                          "name": "fleet.test.", "kind": "primary"})  # fmt: skip
    on_b.post(f"/api/v1/dns/zones/{zone['id']}/changes",
              {"changes": [record("www", "A", "198.51.100.7")]})  # fmt: skip
    answer = wait_for(lambda: a.dns_query("www.fleet.test.").answer, what="A's named")
    assert "198.51.100.7" in answer[0].to_text()
    wait_stored_after(on_c, peer_id, before_change, timeout=20)
    subnet = str(lab.network)
    on_b.post(f"/api/v1/dhcp/servers/{servers['dhcp']['id']}/v4/scopes", {"subnet": subnet})
    assert subnet in _subnets(a)

    # A's Central refuses DNS and DHCP writes while it is in B's fleet, naming B's Central.
    own_zone = {"server_id": on_a.local_server("dns"), "name": "own.test.", "kind": "primary"}
    refused = on_a.call("POST", "/api/v1/dns/zones", own_zone)
    problem = assert_problem(refused, 409, "fleet")
    assert b.address in problem["detail"]
    assert on_a.call("DELETE", f"/api/v1/dns/zones/{zone['id']}").status_code == 409
    # One level: A gives no join codes, B (managing a fleet) joins no other.
    assert_problem(on_a.call("POST", "/api/v1/fleet/joins", {}), 409)
    nested = {"address": a.address, "ca_fingerprint": offer["ca_fingerprint"], "code": "x"}
    assert_problem(on_b.call("POST", "/api/v1/fleet/membership", nested), 409, "address")

    # A leaves: B forgets its servers, A's Central manages them again; C stays in B's fleet.
    left = on_a.call("DELETE", "/api/v1/fleet/membership?comment=done")
    assert left.status_code == 204, left.text
    assert _servers_of(on_b, a.address) == {}
    remaining = on_b.get("/api/v1/fleet/members")["items"]
    assert [m["name"] for m in remaining] == [c.settings().hostname]
    assert not on_a.get("/api/v1/fleet/membership")["joined"]
    assert wait_for(lambda: _reachable(on_a, a.address), timeout=60, what="A's own servers")
    assert _answers(a, b, a) and not _answers(a, b, b)
    own = on_a.call("POST", "/api/v1/dns/zones", own_zone)
    assert own.status_code == 201, own.text
    assert a.dns_query("www.fleet.test.").answer  # what B made stays served
    assert _reachable(on_b, c.address) and _answers(c, b, b)
    c_zone = on_b.post("/api/v1/dns/zones", {"server_id": c_servers["dns"]["id"],
                                            "name": "still.test.", "kind": "primary"})  # fmt: skip
    on_b.post(f"/api/v1/dns/zones/{c_zone['id']}/changes",
              {"changes": [record("www", "A", "198.51.100.9")]})  # fmt: skip
    answer = wait_for(lambda: c.dns_query("www.still.test.").answer, what="C's named")
    assert "198.51.100.9" in answer[0].to_text()
    assert not a.dns_query("www.still.test.").answer

    # The code was used once: it joins nothing again; the history of both sides tells it all.
    assert_problem(join(), 403, "code")
    a_history = on_a.get("/api/v1/history/fleet/membership")["items"]
    assert [h["action"] for h in a_history] == ["leave", "join"]
    b_history = on_b.get(f"/api/v1/history/fleet-member/{a_member['id']}")["items"]
    assert [h["action"] for h in b_history] == ["leave", "join"]

    # Removed from B's side: A's Central is told and manages its agents again.
    again = join(code=on_b.post("/api/v1/fleet/joins", {})["code"])
    assert again.status_code == 200, again.text
    member = next(m for m in on_b.get("/api/v1/fleet/members")["items"]
                  if m["name"] == a.settings().hostname)  # fmt: skip
    removed = on_b.call("DELETE", f"/api/v1/fleet/members/{member['id']}")
    assert removed.status_code == 204, removed.text
    assert not on_a.get("/api/v1/fleet/membership")["joined"]
    assert _servers_of(on_b, a.address) == {}
    assert wait_for(lambda: _reachable(on_a, a.address), timeout=60, what="A's own servers")
