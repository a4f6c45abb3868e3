"""Reverse zones that follow the address space, on the IPAM tests' own appliance: one request
makes the reverse zone of a range and the PTR records of the A records in it, answered by
named; asked again it makes nothing; a PTR that names another host is left alone and
reported."""

from __future__ import annotations

import dns.message
import dns.query
import dns.reversename
import pytest

from services.sandbox.sandbox import Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for
from tests.ipam.test_ipam_sandbox import IPAM, Central

pytestmark = pytest.mark.sandbox

FORWARD = "rev-ipam.test."


def _ptr(box: Sandbox, address: str) -> set[str]:
    name = dns.reversename.from_address(address)
    reply = dns.query.udp(dns.message.make_query(name, "PTR"), box.address, timeout=2)
    return {rd.to_text() for rrset in reply.answer for rd in rrset}


def test_a_ranges_reverse_zone_and_ptrs_in_one_action(ipam_box: Sandbox) -> None:
    box = ipam_box
    central = Central(box)
    net = box.network
    dns_id = central.local_server("dns")
    octets = str(net.network_address).split(".")
    reverse = f"{octets[2]}.{octets[1]}.{octets[0]}.in-addr.arpa."
    existed = central.ok(central.call("GET", f"/api/v1/dns/zones?filter=name:{reverse}"))
    had_reverse = existed["total"] > 0
    zone = central.ok(central.call("POST", "/api/v1/dns/zones",
                                   {"server_id": dns_id, "name": FORWARD}))  # fmt: skip
    rng = central.ok(central.call("POST", f"{IPAM}/ranges", {
        "start": str(net[10]), "end": str(net[12]), "name": "reverse"}))  # fmt: skip
    hosts = {str(net[10]): f"web.{FORWARD}", str(net[11]): f"db.{FORWARD}"}
    try:
        central.ok(central.call("POST", f"/api/v1/dns/zones/{zone['id']}/changes", {"changes": [
            {"action": "create", "record": {"name": name, "type": "A", "data": address}}
            for address, name in hosts.items()]}))  # fmt: skip
        path = f"{IPAM}/ranges/{rng['id']}/reverse-zones"
        assert_problem(central.call("POST", path, {"server_id": 999999}), 422, "server_id")

        made = central.ok(central.call("POST", path, {"server_id": dns_id, "comment": "ptrs"}))
        assert made["zones"] == [reverse]
        assert made["created_zones"] == ([] if had_reverse else [reverse])
        assert made["created_ptrs"] == 2 and made["mismatched"] == []
        for address, name in hosts.items():
            wait_for(lambda a=address, n=name: _ptr(box, a) == {n}, timeout=20,
                     what=f"named to answer the PTR of {address}")  # fmt: skip
        view = central.ok(central.call("GET", f"{IPAM}/ranges/{rng['id']}/addresses"))["items"]
        assert all(not item["problems"] for item in view), view

        again = central.ok(central.call("POST", path, {"server_id": dns_id}))
        assert again["created_zones"] == [] and again["created_ptrs"] == 0

        # A PTR that names another host stays, and is reported.
        reverse_id = central.ok(central.call(
            "GET", f"/api/v1/dns/zones?filter=name:{reverse}"))["items"][0]["id"]  # fmt: skip
        ptr = dns.reversename.from_address(str(net[11])).to_text()
        central.ok(central.call("POST", f"/api/v1/dns/zones/{reverse_id}/changes", {"changes": [
            {"action": "update", "record": {"name": ptr, "type": "PTR", "data": f"db.{FORWARD}"},
             "new": {"name": ptr, "type": "PTR", "data": "old-db.example."}}]}))  # fmt: skip
        third = central.ok(central.call("POST", path, {"server_id": dns_id}))
        assert third["created_ptrs"] == 0
        assert third["mismatched"] == [{"ptr": ptr, "names": ["old-db.example."],
                                        "a_records": [f"db.{FORWARD}"]}]  # fmt: skip
    finally:
        central.call("DELETE", f"{IPAM}/ranges/{rng['id']}")
        central.call("DELETE", f"/api/v1/dns/zones/{zone['id']}")
        if not had_reverse:
            found = central.ok(central.call("GET", f"/api/v1/dns/zones?filter=name:{reverse}"))
            for item in found["items"]:
                central.call("DELETE", f"/api/v1/dns/zones/{item['id']}")
