"""Discovery against real parts: a ping sweep finds the live host namespaces of a network and
nothing else; net-snmp's snmpd in a router namespace gives its neighbour table to SNMPv3
authPriv and to v2c, and refuses a wrong passphrase and a wrong community."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import PREFIX, _need_root
from tests.harness.discovery_lab import (
    COMMUNITY,
    NETWORK,
    ROUTER,
    SCANNER,
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    DiscoveryFailedError,
    DiscoveryLab,
    host_address,
)  # fmt: skip
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def lab() -> Iterator[DiscoveryLab]:
    _need_root()
    with DiscoveryLab(PREFIX, hosts=3) as made:
        made.add_neighbours(per_port=5, ports=2)
        made.start_snmpd()
        yield made


def test_a_sweep_finds_the_live_hosts_only(lab: DiscoveryLab) -> None:
    found, said = lab.discover("sweep", str(NETWORK), "--rate", "500", "--timeout", "1")
    live = {str(host_address(i)) for i in range(3)} | {str(ROUTER), str(SCANNER)}
    assert set(found) == live, said
    assert all(0 < rtt < 1 for rtt in found.values())


def test_snmp_reads_the_routers_neighbours_v3_and_v2c(lab: DiscoveryLab) -> None:
    v3 = json.dumps({"version": "3", "user": V3_USER, "auth_passphrase": V3_AUTH,
                     "priv_passphrase": V3_PRIV})  # fmt: skip

    def read() -> list[dict[str, object]]:
        entries, _said = lab.discover("neighbours", str(ROUTER), "--profile", v3)
        return list(entries)

    entries = wait_for(read, timeout=30, interval=0.5, what="snmpd in the router to answer")
    static = [e for e in entries if str(e["mac"]).startswith("02:00:0")]
    assert len(static) == 10, entries  # 5 on each of 2 interfaces
    assert {e["address"] for e in static} == {str(NETWORK[1 + i]) for i in range(5)}
    assert len({e["if_index"] for e in static}) == 2
    v2c = json.dumps({"version": "2c", "community": COMMUNITY})
    again, _said = lab.discover("neighbours", str(ROUTER), "--profile", v2c)
    assert again == entries

    wrong = json.dumps({"version": "3", "user": V3_USER, "auth_passphrase": "not-the-passphrase",
                        "priv_passphrase": V3_PRIV, "timeout": 1, "retries": 0})  # fmt: skip
    with pytest.raises(DiscoveryFailedError) as refused:
        lab.discover("neighbours", str(ROUTER), "--profile", wrong)
    assert refused.value.code == 2 and "answered nothing usable" in refused.value.stderr
    other = json.dumps({"version": "2c", "community": "not-the-community", "timeout": 1,
                        "retries": 0})  # fmt: skip
    with pytest.raises(DiscoveryFailedError):
        lab.discover("neighbours", str(ROUTER), "--profile", other)
