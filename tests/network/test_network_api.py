"""``/api/v1/appliance/network`` on a real appliance: the live namespace changes, survives a
restart, refuses bad input naming the field, and a capture applies onto a fresh appliance."""

from __future__ import annotations

import ipaddress
import json
import sys
from typing import Any

import httpx
import pytest

from services.common.proc import run
from services.sandbox.lab import Lab
from services.sandbox.sandbox import SOURCE_TREE, Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

URL = "/api/v1/appliance/network"


def _ip(box: Sandbox, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(run(["ip", "-n", box.ns, "-j", *args]).stdout or "[]"))


def live_addresses(box: Sandbox) -> set[str]:
    """Addresses on br0 as ``ip addr show`` has them, without link-local ones."""
    found = set()
    for link in _ip(box, "addr", "show", "dev", "br0"):
        for info in link["addr_info"]:
            if info.get("scope") != "link":
                found.add(f"{info['local']}/{info['prefixlen']}")
    return found


def live_routes(box: Sandbox) -> set[tuple[str, str | None]]:
    """Routes that are not the kernel's, as ``ip route show`` has them."""
    found = set()
    for family in ("-4", "-6"):
        for route in _ip(box, family, "route", "show", "dev", "br0"):
            if route.get("protocol") in ("kernel", "ra") or route["dst"].startswith("fe80"):
                continue
            dst = route["dst"]
            if dst == "default":
                dst = "0.0.0.0/0" if family == "-4" else "::/0"
            found.add((dst, route.get("gateway")))
    return found


def _call(box: Sandbox, token: str, method: str, body: Any = None) -> httpx.Response:
    return box.https(1231, URL, method=method, token=token, json_body=body, timeout=30)


def _network_history(box: Sandbox, token: str) -> dict[str, Any]:
    path = "/api/v1/history?filter=object_type:appliance-network"
    response = box.https(1231, path, token=token, timeout=15)
    response.raise_for_status()
    return dict(response.json())


def wanted(box: Sandbox) -> dict[str, Any]:
    net, net6 = box.network, box.network6
    return {
        "hostname": f"moved-{box.name}",
        "extra_addresses": [f"{net[7]}/{net.prefixlen}", "203.0.113.241/28", f"{net6[0x99]}/64"],
        "routes": [
            {"destination": "203.0.113.0/26", "gateway": "203.0.113.254"},
            {"destination": "2001:db8:ff::/48", "gateway": str(net6[1])},
        ],
        "resolvers": [box.host_address],
        "comment": "second address for the old clients",
    }


def test_put_changes_the_live_network_and_survives_a_restart(sandbox: Sandbox) -> None:
    box = sandbox
    token = box.central_token()
    first = _call(box, token, "GET")
    assert first.status_code == 200, first.text
    start = first.json()
    assert start["address"] == f"{box.address}/{box.network.prefixlen}"
    assert start["extra_addresses"] == [] and start["routes"] == []
    assert set(start["addresses"]) == live_addresses(box)

    change = wanted(box)
    answer = _call(box, token, "PUT", change)
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["extra_addresses"] == change["extra_addresses"]  # already in canonical order
    assert after["hostname"] == change["hostname"]
    expected_a = {start["address"], start["address6"], *change["extra_addresses"]}
    expected_r = {(r["destination"], r["gateway"]) for r in change["routes"]}
    assert live_addresses(box) == expected_a
    assert live_routes(box) == expected_r
    history = _network_history(box, token)["items"]
    assert history[0]["comment"] == change["comment"]
    assert history[0]["after"]["routes"] == after["routes"]
    assert history[0]["before"]["extra_addresses"] == []

    # Removing one extra address and one route takes them off the interface.
    smaller = {"extra_addresses": change["extra_addresses"][1:2], "routes": change["routes"][:1]}
    answer = _call(box, token, "PUT", smaller)
    assert answer.status_code == 200, answer.text
    assert live_addresses(box) == {start["address"], start["address6"], "203.0.113.241/28"}
    assert live_routes(box) == {("203.0.113.0/26", "203.0.113.254")}

    # A restart starts from a new namespace: the appliance-agent puts them back.
    box.stop()
    assert not run(["ip", "netns", "list"]).stdout.count(box.ns + " ")
    box.start()
    wait_for(lambda: "203.0.113.241/28" in live_addresses(box), timeout=20, what="re-applied")
    wait_for(lambda: live_routes(box) == {("203.0.113.0/26", "203.0.113.254")}, timeout=20)
    token = box.central_token()
    again = _call(box, token, "GET").json()
    assert again["extra_addresses"] == ["203.0.113.241/28"]
    assert again["hostname"] == change["hostname"]


BAD = [
    ({"extra_addresses": ["{net0}/{plen}"]}, "extra_addresses[0]"),  # the network address
    ({"extra_addresses": ["{a7}/{plen}", "{a7}/{plen}"]}, "extra_addresses[1]"),  # twice
    ({"extra_addresses": ["{addr}/{plen}"]}, "extra_addresses[0]"),  # the management address
    ({"extra_addresses": ["224.0.0.9/24"]}, "extra_addresses[0]"),
    ({"routes": [{"destination": "203.0.113.0/24", "gateway": "198.18.0.1"}]}, "routes[0].gateway"),
    ({"routes": [{"destination": "203.0.113.1/24", "gateway": "{host}"}]}, "routes[0].destination"),
    (
        {"routes": [{"destination": "203.0.113.0/24", "gateway": "{host}"}] * 2},
        "routes[1].destination",
    ),
    ({"resolvers": ["not-an-address"]}, "resolvers[0]"),
    ({"hostname": "bad_name"}, "hostname"),
    ({"hostname": 7}, "hostname"),  # a number is not coerced to text
    ({"gateway": "{host}"}, "gateway"),  # not a field of this endpoint
    ({"comment": "nothing"}, "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_input_is_refused_naming_the_field_and_nothing_changes(
    shared_sandbox: Sandbox, body: dict[str, Any], field: str
) -> None:
    box = shared_sandbox
    token = box.central_token()
    values = {
        "net0": box.network.network_address,
        "plen": box.network.prefixlen,
        "a7": box.network[7],
        "addr": box.address,
        "host": box.host_address,
    }
    text = json.dumps(body)
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    filled = json.loads(text)
    before = (live_addresses(box), live_routes(box), box.root.appliance_settings.read_bytes())
    history = _network_history(box, token)["total"]
    response = _call(box, token, "PUT", filled)
    assert_problem(response, 422, field)
    after = (live_addresses(box), live_routes(box), box.root.appliance_settings.read_bytes())
    assert after == before
    assert _network_history(box, token)["total"] == history


def elsewhere(box: Sandbox) -> ipaddress.IPv4Network:
    """A /27 of 198.51.100.0/24 that is not the sandbox's (only ever routed inside it)."""
    nets = ipaddress.IPv4Network("198.51.100.0/24").subnets(new_prefix=27)
    return next(n for n in nets if n != box.network)


def test_every_wrong_field_comes_back_through_central_in_order(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    token = box.central_token()
    host, net, other = box.host_address, box.network, elsewhere(box)
    low, high = other.subnets(new_prefix=28)
    body = {
        "extra_addresses": [f"{net.network_address}/{net.prefixlen}", f"{other[9]}/27"],
        "routes": [
            {"destination": str(low), "gateway": "198.18.0.1"},
            {"destination": str(high), "gateway": host},
            {"destination": str(high), "gateway": host},
        ],
        "resolvers": [host, host],
    }
    problem = assert_problem(_call(box, token, "PUT", body), 422)
    assert [p["field"] for p in problem["problems"]] == [
        "extra_addresses[0]",
        "routes[0].gateway",
        "routes[2].destination",
        "resolvers[1]",
    ]
    assert "(and 3 more)" in problem["detail"]


def test_a_route_the_kernel_refuses_is_502_and_nothing_changes(shared_sandbox: Sandbox) -> None:
    box = shared_sandbox
    token = box.central_token()
    broadcast = box.network.broadcast_address  # on-link, but no next hop: the kernel says no
    other = elsewhere(box)
    body = {
        "extra_addresses": [f"{other[7]}/28"],
        "routes": [{"destination": str(other), "gateway": str(broadcast)}],
    }
    before = (live_addresses(box), live_routes(box), box.root.appliance_settings.read_bytes())
    problem = assert_problem(_call(box, token, "PUT", body), 502, "routes[0]")
    assert "kernel refused" in problem["detail"] and "as it was before" in problem["detail"]
    assert "Invalid argument" in problem["detail"]
    after = (live_addresses(box), live_routes(box), box.root.appliance_settings.read_bytes())
    assert after == before  # the address added first was taken off again


def _apply_inside(box: Sandbox, captured: dict[str, Any]) -> dict[str, Any]:
    """``services.appliance.network.apply`` run inside the appliance's namespace, as a restore
    runs it."""
    code = (
        "import json, sys\n"
        "from services.appliance.network import apply\n"
        "from services.common.paths import StateRoot\n"
        "print(json.dumps(apply(StateRoot.at(sys.argv[1]), json.load(sys.stdin))))\n"
    )
    out = run(
        [sys.executable, "-c", code, str(box.root.root)],
        netns=box.ns,
        input_text=json.dumps(captured),
        env={"PYTHONPATH": str(SOURCE_TREE)},
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_capture_applies_onto_a_fresh_appliance_on_the_same_address(lab: Lab) -> None:
    source = lab.sandbox("s")
    token = source.central_token()
    change = wanted(source)
    assert _call(source, token, "PUT", change).status_code == 200
    captured = _call(source, token, "GET").json()
    json.dumps(captured)  # JSON-serialisable, as it goes into a backup's manifest
    addresses, routes = live_addresses(source), live_routes(source)
    source.stop()

    fresh = lab.sandbox("r", address=source.address)
    assert live_routes(fresh) == set() and len(live_addresses(fresh)) == 2
    applied = _apply_inside(fresh, captured)
    assert live_addresses(fresh) == addresses
    assert live_routes(fresh) == routes
    for key in ("address", "address6", "extra_addresses", "routes", "resolvers", "hostname"):
        assert applied[key] == captured[key], key
    # It is persisted: after a restart the replacement still has them.
    fresh.stop()
    fresh.start()
    wait_for(lambda: live_addresses(fresh) == addresses, timeout=20, what="addresses back")
    wait_for(lambda: live_routes(fresh) == routes, timeout=20, what="routes back")
