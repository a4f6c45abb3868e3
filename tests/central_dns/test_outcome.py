"""The dns-agent dies in the middle of a change made through Central: Central reads the zone
back before it answers, and its answer and history match what named serves (asked with dig).

The agent is killed at exactly the moment wanted by its fault points (``services.common.faults``,
a test aid only root can enable): after named applied the change and before the agent
answered, or after the change was checked and before it was sent to named.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from services.common.faults import fault_file
from services.common.proc import run
from services.sandbox.sandbox import Sandbox
from tests.central_dns.conftest import CentralDns, create
from tests.central_dns.test_zones import _central_lines, _served_lines
from tests.conftest import SandboxFactory, _need_root
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def api() -> Iterator[CentralDns]:
    _need_root()
    factory = SandboxFactory("k")
    try:
        yield CentralDns(factory.start())
    finally:
        factory.close()


def _arm(box: Sandbox, point: str) -> None:
    path = fault_file(box.root, "dns-agent", point)
    path.parent.mkdir(parents=True, exist_ok=True)
    for directory in (path.parent, path.parent.parent):
        os.chmod(directory, 0o755)
    path.write_text("")
    path.chmod(0o644)


def dig(box: Sandbox, name: str, rtype: str = "A") -> set[str]:
    """What named answers, asked with dig from this machine."""
    out = run(["dig", "+short", "+tries=1", "+time=3", f"@{box.address}", name, rtype]).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def _serial(box: Sandbox, zone: str) -> int:
    (soa,) = dig(box, zone, "SOA")
    return int(soa.split()[2])


def test_killed_after_named_applied_the_change(api: CentralDns) -> None:
    box = api.box
    name = api.new_zone_name()
    zone = api.create_zone(name, comment="for the kill")
    supervisor = box.supervisor()
    pid = supervisor.pid("dns-dhcp-agent")
    _arm(box, "after-apply")
    response = api.change(
        zone["id"], [create("after", "A", "198.51.100.71")], comment="the agent dies after"
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert not fault_file(box.root, "dns-agent", "after-apply").exists()
    assert supervisor.pid("dns-dhcp-agent") != pid, "the agent did not die"
    # What named serves ...
    assert dig(box, f"after.{name}") == {"198.51.100.71"}
    # ... is what Central answered, stored and recorded.
    assert answer["settled"] is True and answer["applied"] == 1
    assert answer["serial"] == _serial(box, name)
    entry = api.history(zone["id"])[0]
    assert entry["action"] == "change" and entry["comment"] == "the agent dies after"
    assert entry["after"]["records"]["records"] == [f"after.{name} 3600 IN A 198.51.100.71"]
    assert "read the zone back" in entry["after"]["settled"]
    assert _central_lines(api, zone["id"]) == _served_lines(api, name)
    stored = api.ok(api.call("GET", f"/api/v1/dns/zones/{zone['id']}"))
    assert stored["serial"] == _serial(box, name)
    # Nothing is left for a sync to find.
    synced = api.ok(api.call("POST", f"/api/v1/dns/servers/{api.server_id}/sync"))
    assert name not in synced["changed"]


def test_killed_before_named_applied_the_change(api: CentralDns) -> None:
    box = api.box
    name = api.new_zone_name()
    zone = api.create_zone(name, comment="for the kill")
    serial = _serial(box, name)
    entries = api.history(zone["id"])
    supervisor = box.supervisor()
    pid = supervisor.pid("dns-dhcp-agent")
    _arm(box, "before-apply")
    response = api.change(
        zone["id"], [create("before", "A", "198.51.100.72")], comment="the agent dies before"
    )
    problem = assert_problem(response, 502)
    assert "nothing was changed" in problem["detail"]
    assert supervisor.pid("dns-dhcp-agent") != pid, "the agent did not die"
    # named serves what it did, and Central says and records just that.
    assert dig(box, f"before.{name}") == set()
    assert _serial(box, name) == serial
    assert api.history(zone["id"]) == entries
    assert _central_lines(api, zone["id"]) == _served_lines(api, name)
    # The same change again goes through.
    again = api.change(zone["id"], [create("before", "A", "198.51.100.72")], comment="again")
    assert again.status_code == 200 and again.json()["settled"] is False
    assert dig(box, f"before.{name}") == {"198.51.100.72"}


def test_a_fault_file_root_does_not_own_alone_is_ignored(api: CentralDns) -> None:
    box = api.box
    name = api.new_zone_name()
    zone = api.create_zone(name)
    pid = box.supervisor().pid("dns-dhcp-agent")
    _arm(box, "after-apply")
    path = fault_file(box.root, "dns-agent", "after-apply")
    path.chmod(0o666)  # writable by anyone: not a fault point root enabled
    try:
        response = api.change(zone["id"], [create("kept", "A", "198.51.100.73")])
        assert response.status_code == 200 and response.json()["settled"] is False
        assert box.supervisor().pid("dns-dhcp-agent") == pid
    finally:
        path.unlink(missing_ok=True)
