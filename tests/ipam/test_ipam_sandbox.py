"""IPAM joined from real parts: named records made through Central, a Kea reservation and a
Kea lease made through Central, a claim; the address view, next free address, utilisation.

Runs on the IPAM tests' own appliance (tests/ipam/conftest.py): everything it makes it removes
again (zones, reservation, lease, claim, range), and it does not assume the sandbox's pool is
empty (other tests leave leases):
next free is checked against the address view, which lists every lease the agent has.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.sandbox.sandbox import Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

IPAM = "/api/v1/ipam"


class Central:
    """Central's API of a sandbox as its first administrator."""

    def __init__(self, box: Sandbox) -> None:
        self.box, self.token = box, box.central_token()

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.box.https(1231, path, method=method, token=self.token, json_body=body,
                              timeout=60)  # fmt: skip

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def local_server(self, kind: str) -> int:
        found = self.ok(self.call("GET", f"/api/v1/servers?filter=local:true kind:{kind}"))
        return int(found["items"][0]["id"])


@pytest.fixture(scope="module")
def central(ipam_box: Sandbox) -> Central:
    return Central(ipam_box)


@pytest.fixture
def made(central: Central) -> Iterator[list[str]]:
    """Paths to DELETE after the test, last made first."""
    paths: list[str] = []
    yield paths
    for path in reversed(paths):
        answer = central.call("DELETE", path)
        assert answer.status_code in (200, 204, 404), (path, answer.text)


def test_a_range_joined_from_named_records_and_kea(
    ipam_box: Sandbox, central: Central, made: list[str]
) -> None:
    net = ipam_box.network
    dns_id, dhcp_id = central.local_server("dns"), central.local_server("dhcp")
    dhcp = f"/api/v1/dhcp/servers/{dhcp_id}/v4"

    def wait_enrolled() -> bool:
        servers = central.ok(central.call("GET", "/api/v1/dhcp/servers"))["items"]
        return any(s["id"] == dhcp_id and s["state"] == "reachable" for s in servers)

    wait_for(wait_enrolled, timeout=60, interval=0.5, what="the DHCP server enrolled")
    scopes = central.ok(central.call("GET", f"{dhcp}/scopes?limit=1000"))["items"]
    scope = next(s for s in scopes if s["subnet"] == str(net))
    first, last = net[20], net[29]
    rng = central.ok(
        central.call(
            "POST", f"{IPAM}/ranges", {"start": str(first), "end": str(last), "name": "sandbox"}
        )
    )
    made.append(f"{IPAM}/ranges/{rng['id']}")
    base = f"{IPAM}/ranges/{rng['id']}"

    # named: an A record with its PTR, and one without
    tag = secrets.token_hex(3)
    zone = central.ok(
        central.call(
            "POST", "/api/v1/dns/zones", {"server_id": dns_id, "name": f"ipam-{tag}.test."}
        )
    )
    made.append(f"/api/v1/dns/zones/{zone['id']}")
    paired, lonely = net[23], net[24]
    reverse_name = paired.reverse_pointer + "."
    reverse = central.ok(
        central.call("POST", "/api/v1/dns/zones", {"server_id": dns_id, "name": reverse_name})
    )
    made.append(f"/api/v1/dns/zones/{reverse['id']}")
    records = [("www", "A", str(paired)), ("lonely", "A", str(lonely))]
    changes = [
        {"action": "create", "record": {"name": f"{n}.ipam-{tag}.test.", "type": t, "data": d}}
        for n, t, d in records
    ]
    central.ok(
        central.call("POST", f"/api/v1/dns/zones/{zone['id']}/changes", {"changes": changes})
    )
    ptr = {
        "action": "create",
        "record": {"name": reverse_name, "type": "PTR", "data": f"www.ipam-{tag}.test."},
    }
    central.ok(
        central.call("POST", f"/api/v1/dns/zones/{reverse['id']}/changes", {"changes": [ptr]})
    )
    assert {r.to_text() for r in ipam_box.dns_query(reverse_name, "PTR").answer[0]} == {
        f"www.ipam-{tag}.test."
    }

    # Kea: a reservation, and a lease on the reserved address held by another client
    reserved = net[21]
    reservation = {
        "hw_address": "02:1a:00:00:00:21",
        "ip_addresses": [str(reserved)],
        "hostname": "printer",
    }
    central.ok(central.call("POST", f"{dhcp}/scopes/{scope['id']}/reservations", reservation))
    made.append(f"{dhcp}/scopes/{scope['id']}/reservations/hw_address/02:1a:00:00:00:21")
    central.ok(
        central.call(
            "POST", f"{dhcp}/leases", {"address": str(reserved), "hw_address": "02:1a:00:00:00:99"}
        )
    )
    made.append(f"{dhcp}/leases/{reserved}")
    # a claim
    claimed = net[25]
    central.ok(central.call("POST", f"{base}/claims", {"address": str(claimed), "owner": "ops"}))
    made.append(f"{base}/claims/{claimed}")

    view = central.ok(central.call("GET", f"{base}/addresses?limit=1000"))
    assert view["warnings"] == []
    by_address = {item["address"]: item for item in view["items"]}

    def kinds(address: object) -> set[str]:
        return {s["kind"] for s in by_address[str(address)]["sources"]}

    assert kinds(paired) == {"a", "ptr"} and by_address[str(paired)]["problems"] == []
    names = {s["name"] for s in by_address[str(paired)]["sources"]}
    assert f"www.ipam-{tag}.test." in names
    assert kinds(lonely) == {"a"} and by_address[str(lonely)]["problems"] == ["a-without-ptr"]
    assert kinds(reserved) == {"reservation", "lease"}
    assert by_address[str(reserved)]["problems"] == ["lease-on-reserved"]
    assert "claim" in kinds(claimed)  # other tests may leave a record on it
    only = central.ok(central.call("GET", f"{base}/addresses?problems=true&limit=1000"))
    assert {i["address"] for i in only["items"]} >= {str(lonely), str(reserved)}
    assert str(paired) not in {i["address"] for i in only["items"]}

    # next free skips every used address the view lists, and claims atomically
    used = set(by_address)
    expected = next((str(net[i]) for i in range(20, 30) if str(net[i]) not in used), None)
    looked = central.ok(central.call("GET", f"{base}/next-free-address"))
    assert looked["address"] == expected and looked["warnings"] == []
    got = central.ok(
        central.call("POST", f"{base}/next-free-address?claim=true", {"owner": "ipam-test"})
    )
    assert got["claimed"] and got["address"] == expected
    made.append(f"{base}/claims/{expected}")
    usage = central.ok(central.call("GET", f"{base}/utilisation"))
    assert usage["size"] == 10 and usage["used"] == len(used) + 1
    assert usage["by_source"]["claim"] == 2 and usage["by_source"]["reservation"] == 1

    # bad input changes nothing
    history = central.ok(central.call("GET", "/api/v1/history?limit=1"))["total"]
    overlapping = {"start": str(net[29]), "end": str(net[30])}
    assert_problem(central.call("POST", f"{IPAM}/ranges", overlapping), 422, "start")
    assert_problem(central.call("PATCH", base, {"properties": {"nope": 1}}), 422, "properties.nope")
    assert central.ok(central.call("GET", "/api/v1/history?limit=1"))["total"] == history
