"""The pure parts of the appliance's network: checks, ordering, capture and apply on a fake.

The fake stands in for pyroute2's IPRoute only here; tests/network/test_network_api.py
changes a real namespace.
"""

from __future__ import annotations

import ipaddress
import json
import random
import socket
import subprocess
from pathlib import Path
from typing import Any

import pydantic
import pytest

from services.appliance import network
from services.common.errors import DaemonError, ValidationError
from services.common.network import NetworkChange, NetworkSettings, StaticRoute, changes, check
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

INDEX = 2


class Msg(dict[str, Any]):
    """A netlink message: fields by key, attributes by get_attr."""

    def __init__(self, fields: dict[str, Any], attrs: dict[str, Any]) -> None:
        super().__init__(fields)
        self.attrs = attrs

    def get_attr(self, name: str) -> Any:
        return self.attrs.get(name)


class FakeKernel:
    """Addresses and routes of one interface ``br0``, with EEXIST/ESRCH like the kernel."""

    def __init__(self) -> None:
        self.addresses: list[tuple[str, int]] = []
        self.routes: list[dict[str, Any]] = []
        self.dynamic: set[str] = set()  # addresses with a lifetime (SLAAC)
        self.fail_on: int | None = None
        self.calls = 0

    def open(self) -> FakeKernel:
        return self

    def close(self) -> None:
        pass

    def link_lookup(self, **kwargs: Any) -> list[int]:
        return [INDEX] if kwargs.get("ifname") == "br0" else []

    def _mutate(self) -> None:
        self.calls += 1
        if self.fail_on is not None and self.calls == self.fail_on:
            raise OSError(22, "Invalid argument")

    def get_addr(self, **kwargs: Any) -> list[Msg]:
        out = []
        for ip, plen in self.addresses:
            v4 = ":" not in ip
            attrs = {"IFA_ADDRESS": ip, **({"IFA_LOCAL": ip} if v4 else {})}
            scope = 253 if ip.startswith("fe80") else 0
            fam = socket.AF_INET if v4 else socket.AF_INET6
            fields = {"prefixlen": plen, "scope": scope, "family": fam, "flags": 0x80}
            if ip in self.dynamic:
                fields["flags"] = 0
            out.append(Msg(fields, attrs))
        return out

    def get_routes(self, **kwargs: Any) -> list[Msg]:
        family = kwargs["family"]
        out = []
        for r in self.routes:
            dst = ipaddress.ip_network(r["dst"])
            fam = socket.AF_INET if dst.version == 4 else socket.AF_INET6
            if fam != family:
                continue
            attrs = {"RTA_TABLE": r.get("table", 254), "RTA_OIF": r["oif"]}
            if dst.prefixlen:
                attrs["RTA_DST"] = str(dst.network_address)
            if r.get("gateway"):
                attrs["RTA_GATEWAY"] = r["gateway"]
            fields = {
                "family": fam,
                "dst_len": dst.prefixlen,
                "proto": r.get("proto", 4),
                "type": r.get("type", 1),
            }
            out.append(Msg(fields, attrs))
        return out

    def addr(self, command: str, **kw: Any) -> None:
        self._mutate()
        key = (kw["address"], kw["prefixlen"])
        if command == "add":
            if key in self.addresses:
                raise OSError(17, "File exists")
            self.addresses.append(key)
        else:
            if key not in self.addresses:
                raise OSError(99, "Cannot assign requested address")
            self.addresses.remove(key)

    def route(self, command: str, **kw: Any) -> None:
        self._mutate()
        entry = {"dst": kw["dst"], "gateway": kw.get("gateway"), "oif": kw["oif"]}
        same = [r for r in self.routes if r["dst"] == entry["dst"] and r.get("proto", 4) == 4]
        if command == "add":
            if same:
                raise OSError(17, "File exists")
            self.routes.append(entry)
        else:
            if not same:
                raise OSError(3, "No such process")
            self.routes.remove(same[0])

    def state(self) -> tuple[list[tuple[str, int]], list[tuple[str, str | None]]]:
        return (sorted(self.addresses), sorted((r["dst"], r.get("gateway")) for r in self.routes))


@pytest.fixture
def kernel() -> FakeKernel:
    k = FakeKernel()
    k.addresses = [("198.51.100.2", 27), ("2001:db8:64::2", 64), ("fe80::1", 64)]
    k.routes = [
        {"dst": "198.51.100.0/27", "oif": INDEX, "proto": 2},  # the kernel's prefix route
        {"dst": "2001:db8:64::/64", "oif": INDEX, "proto": 2},
        {"dst": "fe80::/64", "oif": INDEX, "proto": 2},
        {"dst": "198.51.100.2/32", "oif": INDEX, "proto": 2, "table": 255, "type": 2},
    ]
    return k


@pytest.fixture
def root(tmp_path: Path) -> StateRoot:
    state = StateRoot.at(tmp_path)
    state.etc.mkdir(parents=True)
    ApplianceSettings(
        hostname="burrow-a",
        interface="br0",
        address=ipaddress.IPv4Interface("198.51.100.2/27"),
        address6=ipaddress.IPv6Interface("2001:db8:64::2/64"),
    ).save(state.appliance_settings)
    return state


def _settings(**extra: Any) -> NetworkSettings:
    base: dict[str, Any] = {
        "interface": "br0",
        "hostname": "a",
        "address": "198.51.100.2/27",
        "address6": "2001:db8:64::2/64",
    }
    return NetworkSettings.model_validate(base | extra)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"extra_addresses": ["198.51.100.9/27", "198.51.100.9/27"]}, "extra_addresses[1]"),
        ({"extra_addresses": ["198.51.100.2/27"]}, "extra_addresses[0]"),
        ({"extra_addresses": ["198.51.100.32/27"]}, "extra_addresses[0]"),
        ({"extra_addresses": ["203.0.113.255/24"]}, "extra_addresses[0]"),
        ({"extra_addresses": ["127.0.0.2/8"]}, "extra_addresses[0]"),
        ({"extra_addresses": ["fe80::5/64"]}, "extra_addresses[0]"),
        (
            {"routes": [{"destination": "203.0.113.0/24", "gateway": "192.0.2.1"}]},
            "routes[0].gateway",
        ),
        (
            {"routes": [{"destination": "203.0.113.0/24", "gateway": "198.51.100.2"}]},
            "routes[0].gateway",
        ),
        (
            {
                "routes": [
                    {"destination": "203.0.113.0/24", "gateway": "198.51.100.1"},
                    {"destination": "203.0.113.0/24", "gateway": "198.51.100.3"},
                ]
            },
            "routes[1].destination",
        ),
        ({"routes": [{"destination": "fe80::/64"}]}, "routes[0].destination"),
        ({"resolvers": ["198.51.100.1", "198.51.100.1"]}, "resolvers[1]"),
    ],
)
def test_check_names_the_wrong_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check(_settings(**extra))
    assert caught.value.field == field, caught.value.message


def test_check_names_every_wrong_field_in_order() -> None:
    wrong = _settings(
        extra_addresses=["198.51.100.32/27", "198.51.100.2/27", "203.0.113.10/24"],
        routes=[
            {"destination": "203.0.113.0/25", "gateway": "192.0.2.1"},
            {"destination": "fe80::/64"},
        ],
        resolvers=["198.51.100.1", "198.51.100.1"],
    )
    with pytest.raises(ValidationError) as caught:
        check(wrong)
    assert [p.field for p in caught.value.problems] == [
        "extra_addresses[0]",
        "extra_addresses[1]",
        "routes[0].gateway",
        "routes[1].destination",
        "resolvers[1]",
    ]
    assert "(and 4 more)" in caught.value.message


def test_a_gateway_on_an_extra_address_network_is_on_link() -> None:
    check(
        _settings(
            extra_addresses=["203.0.113.10/24"],
            routes=[
                {"destination": "0.0.0.0/0", "gateway": "203.0.113.1"},
                {"destination": "2001:db8:99::/48", "gateway": "fe80::1"},
                {"destination": "2001:db8:98::/48", "gateway": "2001:db8:64::1"},
            ],
            resolvers=["198.51.100.1", "2001:db8:64::1"],
        )
    )


def test_the_shape_is_checked_by_pydantic() -> None:
    with pytest.raises(pydantic.ValidationError, match="host bits"):
        StaticRoute.model_validate({"destination": "203.0.113.1/24"})
    with pytest.raises(pydantic.ValidationError, match="family"):
        StaticRoute.model_validate({"destination": "203.0.113.0/24", "gateway": "2001:db8::1"})
    with pytest.raises(pydantic.ValidationError):
        NetworkChange.model_validate({"resolvers": ["198.51.100.1"] * 4})
    with pytest.raises(pydantic.ValidationError, match="gateway"):
        ApplianceSettings.model_validate(
            {
                "address": "198.51.100.2/27",
                "routes": [{"destination": "203.0.113.0/24", "gateway": "192.0.2.1"}],
            }
        )


def test_changes_keep_the_management_address_and_are_ordered() -> None:
    wanted = _settings(
        extra_addresses=["203.0.113.10/24", "198.51.100.9/27"],
        routes=[{"destination": "203.0.113.0/25", "gateway": "198.51.100.1"}],
    )
    live = [ipaddress.ip_interface(a) for a in ("198.51.100.2/27", "198.51.100.20/27")]
    old = StaticRoute.model_validate({"destination": "192.0.2.0/24", "gateway": "198.51.100.1"})
    add_a, del_a, add_r, del_r = changes(live, [old], wanted)
    assert [str(a) for a in add_a] == ["198.51.100.9/27", "203.0.113.10/24", "2001:db8:64::2/64"]
    assert [str(a) for a in del_a] == ["198.51.100.20/27"]
    assert [r.text() for r in add_r] == ["203.0.113.0/25 via 198.51.100.1"]
    assert [r.text() for r in del_r] == ["192.0.2.0/24 via 198.51.100.1"]


def test_capture_is_canonical_and_json(kernel: FakeKernel, root: StateRoot) -> None:
    kernel.addresses += [("203.0.113.10", 24), ("198.51.100.9", 27), ("2001:db8:64::abcd", 64)]
    kernel.dynamic.add("2001:db8:64::abcd")
    kernel.routes += [
        {"dst": "203.0.113.128/25", "gateway": "198.51.100.1", "oif": INDEX},
        {"dst": "0.0.0.0/0", "gateway": "198.51.100.1", "oif": INDEX},
        {"dst": "2001:db8:99::/48", "gateway": "2001:db8:64::1", "oif": INDEX},
        {"dst": "198.18.0.0/15", "gateway": "10.0.0.1", "oif": 7},  # another interface
        {"dst": "2001:db8:77::/48", "oif": INDEX, "proto": 9},  # a router advertisement
    ]
    first = network.capture(root, opener=kernel.open)
    random.Random(7).shuffle(kernel.addresses)
    random.Random(7).shuffle(kernel.routes)
    again = network.capture(root, opener=kernel.open)
    assert json.dumps(first) == json.dumps(again)
    assert first["extra_addresses"] == ["198.51.100.9/27", "203.0.113.10/24"]
    assert first["addresses"] == [
        "198.51.100.2/27",
        "198.51.100.9/27",
        "203.0.113.10/24",
        "2001:db8:64::2/64",
    ]
    assert [(r["destination"], r["gateway"]) for r in first["routes"]] == [
        ("0.0.0.0/0", "198.51.100.1"),
        ("203.0.113.128/25", "198.51.100.1"),
        ("2001:db8:99::/48", "2001:db8:64::1"),
    ]
    assert first["hostname"] == "burrow-a" and first["address"] == "198.51.100.2/27"


def test_apply_changes_the_kernel_and_persists(kernel: FakeKernel, root: StateRoot) -> None:
    kernel.addresses.append(("198.51.100.20", 27))  # extra, not wanted any more
    wanted = _settings(
        hostname="burrow-b",
        extra_addresses=["203.0.113.10/24"],
        routes=[{"destination": "0.0.0.0/0", "gateway": "203.0.113.1"}],
        resolvers=["198.51.100.1"],
    )
    after = network.apply(root, wanted, opener=kernel.open)
    assert after["extra_addresses"] == ["203.0.113.10/24"]
    assert ("198.51.100.2", 27) in kernel.addresses  # the management address stays
    assert ("198.51.100.20", 27) not in kernel.addresses
    saved = ApplianceSettings.load(root.appliance_settings)
    assert saved.hostname == "burrow-b" and str(saved.gateway) == "203.0.113.1"
    assert [str(a) for a in saved.extra_addresses] == ["203.0.113.10/24"]
    assert [r.text() for r in saved.routes] == ["0.0.0.0/0 via 203.0.113.1"]
    assert (root.root / "etc/resolv.conf").read_text() == "nameserver 198.51.100.1\n"
    # Applying the same capture again changes nothing.
    calls = kernel.calls
    assert network.apply(root, after, opener=kernel.open) == after
    assert kernel.calls == calls


@pytest.mark.parametrize("fail_on", [1, 2, 3, 4])
def test_a_refusal_midway_puts_back_what_was_there(
    kernel: FakeKernel, root: StateRoot, fail_on: int
) -> None:
    kernel.addresses.append(("198.51.100.20", 27))
    kernel.routes.append({"dst": "192.0.2.0/24", "gateway": "198.51.100.1", "oif": INDEX})
    before = kernel.state()
    settings_before = root.appliance_settings.read_bytes()
    kernel.fail_on = fail_on
    wanted = _settings(
        extra_addresses=["203.0.113.10/24"],
        routes=[{"destination": "0.0.0.0/0", "gateway": "203.0.113.1"}],
    )
    with pytest.raises(DaemonError, match="as it was before"):
        network.apply(root, wanted, opener=kernel.open)
    assert kernel.state() == before
    assert root.appliance_settings.read_bytes() == settings_before


def test_bad_input_changes_nothing(kernel: FakeKernel, root: StateRoot) -> None:
    before = kernel.state()
    bad = _settings(routes=[{"destination": "203.0.113.0/24", "gateway": "192.0.2.1"}])
    with pytest.raises(ValidationError) as caught:
        network.apply(root, bad, opener=kernel.open)
    assert caught.value.field == "routes[0].gateway"
    with pytest.raises(ValidationError) as caught:
        network.apply(root, {"hostname": "a"}, opener=kernel.open)
    assert caught.value.field in {"interface", "address"}
    assert kernel.calls == 0 and kernel.state() == before


def test_a_capture_without_ipv6_keeps_ours(kernel: FakeKernel, root: StateRoot) -> None:
    captured = _settings().model_dump(mode="json") | {"address6": None}
    after = network.apply(root, captured, opener=kernel.open)
    assert after["address6"] == "2001:db8:64::2/64"
    assert ("2001:db8:64::2", 64) in kernel.addresses


def test_restore_persisted_adds_what_the_kernel_lacks(kernel: FakeKernel, root: StateRoot) -> None:
    settings = ApplianceSettings.load(root.appliance_settings)
    settings.extra_addresses = [ipaddress.ip_interface("203.0.113.10/24")]
    settings.routes = [
        StaticRoute.model_validate({"destination": "0.0.0.0/0", "gateway": "203.0.113.1"})
    ]
    settings.save(root.appliance_settings)
    network.restore_persisted(root, opener=kernel.open)
    assert ("203.0.113.10", 24) in kernel.addresses
    assert ("0.0.0.0/0", "203.0.113.1") in kernel.state()[1]
    calls = kernel.calls
    network.restore_persisted(root, opener=kernel.open)  # nothing twice
    assert kernel.calls == calls


@pytest.mark.parametrize("slots", [64, 1])
def test_status_addresses_are_the_kernels(slots: int) -> None:
    """The agent's status reads IPv4 addresses without netlink: the same list as ``ip``."""
    from services.appliance.__main__ import ipv4_addresses

    shown = json.loads(subprocess.run(["ip", "-json", "-4", "addr"], capture_output=True,
                                      check=True, text=True).stdout)  # fmt: skip
    expected = sorted(a["local"] for link in shown for a in link["addr_info"])
    assert expected  # loopback at least; with slots=1 a full list is always asked again
    assert sorted(ipv4_addresses(slots=slots)) == expected
