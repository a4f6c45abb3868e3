"""The lab: several appliance sandboxes and clients on one shared test network."""

from __future__ import annotations

import ipaddress

import pytest

from services.common.errors import SetupError
from services.common.proc import run
from services.sandbox import netns
from services.sandbox.lab import Lab
from services.sandbox.sandbox import Sandbox
from tests.harness.dhcp import dhclient
from tests.harness.wait import wait_for


def _dig(ns: str, server: str, name: str = "burrow.example.") -> str:
    """The SOA of ``name`` asked from inside namespace ``ns`` (empty when no answer)."""
    return run(
        ["dig", "+short", "+time=1", "+tries=2", f"@{server}", name, "SOA"],
        netns=ns,
        check=False,
    ).stdout.strip()


def _ping6(ns: str, address: str) -> bool:
    return run(["ping", "-6", "-c", "1", "-W", "1", address], netns=ns, check=False).returncode == 0


def _leases(box: Sandbox) -> list[dict[str, object]]:
    answer = box.kea("lease4-get-all")
    assert answer["result"] in (0, 3), answer
    return list(answer.get("arguments", {}).get("leases", []))


def test_three_sandboxes_share_one_network(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    net = lab.network
    assert (a.address, b.address) == (str(net[2]), str(net[3]))
    assert a.address6 != b.address6 and ipaddress.IPv6Address(b.address6) in lab.network6
    # This machine reaches both through the lab's one link; they reach each other directly.
    a.check_dns()
    b.check_dns()
    assert "burrow.example." in _dig(a.ns, b.address)
    assert "burrow.example." in _dig(b.ns, a.address)
    assert _ping6(a.ns, b.address6)
    # Central of B answers A over TLS (what a backup peer needs).
    health = run(
        ["curl", "-sS", "--cacert", str(b.ca_file), f"https://{b.address}:1231/api/v1/health"],
        netns=a.ns,
    ).stdout
    assert '"central"' in health

    # DHCP: only the sandbox told so serves the lab; the other seeded no subnet.
    assert b.kea("config-get")["arguments"]["Dhcp4"]["subnet4"] == []
    client = lab.add_client("02:1a:b0:00:00:01")
    lease = dhclient(client)
    assert lease["new_dhcp_server_identifier"] == a.address
    assert ipaddress.IPv4Address(lease["new_ip_address"]) in net
    assert [x["hw-address"] for x in _leases(a)] == ["02:1a:b0:00:00:01"]
    assert _leases(b) == []

    # A third sandbox while A is still there: all three see each other.
    c = lab.sandbox("c")
    assert c.address == str(net[4])
    assert all("burrow.example." in _dig(c.ns, box.address) for box in (a, b))

    # A goes; the lab, B, C and the client stay.
    a.stop()
    assert not netns.exists(a.ns) and netns.exists(lab.ns) and netns.exists(client.ns)
    b.check_all()
    c.check_dns()
    assert "burrow.example." not in _dig(b.ns, a.address)


def test_replacement_on_a_stopped_sandbox_address(lab: Lab) -> None:
    a = lab.sandbox("a", dhcp=True)
    b = lab.sandbox("b")
    client = lab.add_client("02:1a:b0:00:00:02")
    assert dhclient(client)["new_dhcp_server_identifier"] == a.address
    with pytest.raises(SetupError, match="taken by sandbox"):
        lab.sandbox("x", index=a.index)
    a.stop()
    # R: a different name and a fresh root, on A's address.
    r = lab.sandbox("r", address=a.address, dhcp=True)
    assert (r.address, r.address6) == (a.address, a.address6)
    assert r.root.root != a.root.root and r.ns != a.ns
    wait_for(lambda: "burrow.example." in _dig(b.ns, r.address), timeout=15, what="R answers B")
    r.check_dns()  # from this machine, through the lab's link
    # The client that A served gets its lease from the replacement.
    assert dhclient(client)["new_dhcp_server_identifier"] == r.address
    assert [x["hw-address"] for x in _leases(r)] == ["02:1a:b0:00:00:02"]


def test_lab_cleans_up_everything(lab: Lab) -> None:
    other = Lab(name=lab.name + "z", network=lab.network, prefix=lab.prefix + "z")
    with pytest.raises(SetupError, match="already routes"), other:
        pass  # the same network twice on this machine is refused (the first lab routes it)
    assert not netns.exists(other.ns)
    box = lab.sandbox("a", start=False)
    assert box.settings().seed_subnet4 is None and box.settings().seed_subnet6 is None
    root = box.root.root
    lab.close()
    assert not netns.exists(lab.ns) and not netns.link_exists(lab.host_link)
    assert not root.exists()
