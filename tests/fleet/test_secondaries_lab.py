"""DNS secondaries between appliances in one action: B manages A (A joined B's fleet); a
primary zone on B gets a secondary on A with one request; A's named serves it (signed
transfers), a change on B reaches A by NOTIFY, the copies' serials are listed; with B gone, A
keeps answering; refusals name the field and change nothing (docs/dns.md)."""

from __future__ import annotations

from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest

from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi, record
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

ZONE = "copies.test."


def _serial(box: Sandbox) -> int | None:
    query = dns.message.make_query(ZONE, dns.rdatatype.SOA)
    try:
        reply = dns.query.udp(query, box.address, timeout=1)
    except dns.exception.Timeout:
        return None
    for rrset in reply.answer:
        return int(rrset[0].serial)
    return None


def _answers(box: Sandbox, name: str) -> set[str]:
    reply = dns.query.udp(dns.message.make_query(name, "A"), box.address, timeout=1)
    return {rd.to_text() for rrset in reply.answer for rd in rrset}


def _join(member: CentralApi, manager: CentralApi) -> None:
    offer = manager.post("/api/v1/fleet/joins", {"comment": "secondaries lab"})
    body = {"address": offer["central_address"], "port": offer["central_port"],
            "ca_fingerprint": offer["ca_fingerprint"], "code": offer["code"]}  # fmt: skip
    joined = member.call("POST", "/api/v1/fleet/membership", body)
    assert joined.status_code == 200, joined.text


def test_a_zone_on_b_gets_a_secondary_on_a_in_one_action(lab: Lab) -> None:
    a = lab.sandbox("a")
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    _join(on_a, on_b)

    def a_dns() -> int | None:
        items = on_b.get("/api/v1/servers?check=true&limit=1000")["items"]
        found = [s for s in items if s["kind"] == "dns" and s["address"] == a.address
                 and s["state"] == "reachable"]  # fmt: skip
        return int(found[0]["id"]) if found else None

    a_server = wait_for(a_dns, timeout=60, what="A's DNS server reachable at B")
    b_server = on_b.local_server("dns")
    zone = on_b.post("/api/v1/dns/zones", {"server_id": b_server, "name": ZONE})
    on_b.post(f"/api/v1/dns/zones/{zone['id']}/changes",
              {"changes": [record("www", "A", "198.51.100.7")]})  # fmt: skip
    path = f"/api/v1/dns/zones/{zone['id']}/secondaries"

    # Refused whole, each naming its field; nothing made anywhere.
    bad = on_b.call("POST", path, {"server_ids": [a_server, b_server, 999999]})
    problem = assert_problem(bad, 422, "server_ids[1]")
    assert [p["field"] for p in problem["problems"]] == ["server_ids[1]", "server_ids[2]"]
    assert on_b.get(f"/api/v1/dns/tsig-keys?server_id={b_server}")["total"] == 0
    assert len(on_b.get(f"/api/v1/dns/zones/{zone['id']}/copies")["items"]) == 1

    copies = on_b.ok(on_b.call("POST", path, {"server_ids": [a_server], "comment": "copies-to-A"}))
    assert [c["server_id"] for c in copies["items"]] == [b_server, a_server]
    made: list[dict[str, Any]] = on_b.get("/api/v1/history?filter=comment:copies-to-A&limit=50")[
        "items"
    ]
    assert {(c["object_type"], c["action"]) for c in made} == {
        ("dns-tsig-key", "create"),
        ("dns-zone", "update"),
        ("dns-zone", "create"),
    }, made
    primary_serial = _serial(b)
    assert primary_serial is not None
    wait_for(lambda: _serial(a) == primary_serial, timeout=30, what="A to serve B's serial")
    assert _answers(a, f"www.{ZONE}") == {"198.51.100.7"}
    options = on_b.get(f"/api/v1/dns/zones/{zone['id']}")["options"]
    assert options["transfer_keys"] == [f"xfr-z{zone['id']}-s{a_server}"]
    assert options["also_notify"] == [a.address] and options["notify"] == "explicit"
    # The transfer is signed: unsigned, from this machine, B refuses it.
    with pytest.raises(Exception):  # noqa: B017 - dnspython raises its TransferError
        dns.query.xfr(b.address, ZONE, timeout=3).__next__()

    # A change on B reaches A by NOTIFY, long before the zone's refresh time.
    on_b.post(f"/api/v1/dns/zones/{zone['id']}/changes",
              {"changes": [record("mail", "A", "198.51.100.8")]})  # fmt: skip
    wait_for(lambda: _answers(a, f"mail.{ZONE}") == {"198.51.100.8"}, timeout=20,
             what="the change on B to reach A")  # fmt: skip
    listed = on_b.get(f"/api/v1/dns/zones/{zone['id']}/copies")["items"]
    assert [c["serial"] for c in listed] == [_serial(b)] * 2 and all(c["in_step"] for c in listed)
    again = on_b.call("POST", path, {"server_ids": [a_server]})
    assert_problem(again, 422, "server_ids[0]")  # A has the zone already

    # B gone: A keeps answering (until the SOA's expire time).
    b.stop()
    assert _answers(a, f"mail.{ZONE}") == {"198.51.100.8"}
