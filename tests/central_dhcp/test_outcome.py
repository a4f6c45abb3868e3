"""A change whose answer is lost: the dhcp-agent dies after Kea took the change.

The agent's fault point ``after-config-write`` (``services.common.faults``, armed by a file
under the state root that root owns) ends the agent process right after Kea set and saved the
change, before the agent answers Central. supervisord starts it again. Central must settle
the outcome before it answers: read Kea's configuration back through the agent and answer and
record what Kea really has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.dhcp.kea import scopes_from_config
from services.common.faults import FaultPoints, fault_file
from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp, kea_config
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

AGENT = "dns-dhcp-agent"  # the supervisord program of the dns-agent and the dhcp-agent


@pytest.fixture
def fault(cd_box: Sandbox) -> Iterator[Path]:
    """The armed fault point; disarmed (removed) after the test."""
    path = fault_file(cd_box.root, "dhcp-agent", "after-config-write")
    path.parent.mkdir(parents=True, exist_ok=True)
    for directory in (path.parent, path.parent.parent):
        os.chmod(directory, 0o755)
    path.write_text("armed by tests/central_dhcp/test_outcome.py\n")
    path.chmod(0o644)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _running_pid(box: Sandbox) -> int:
    def pid() -> int | None:
        info = box.supervisor().process(AGENT)
        return int(info["pid"]) if info["statename"] == "RUNNING" else None

    return int(wait_for(pid, timeout=60, interval=0.2, what=f"{AGENT} running"))


def _kea_scope(box: Sandbox, subnet: str) -> dict[str, Any] | None:
    """The scope as Kea has it, with only its own values (not Kea's copies of inherited
    ones), as Central shows it."""
    for scope in scopes_from_config(kea_config(box)["Dhcp4"], "v4"):
        if str(scope.subnet) == subnet:
            shown: dict[str, Any] = scope.model_dump(mode="json", exclude_none=True)
            return shown
    return None


def test_the_agent_dying_after_kea_took_a_change_is_settled_by_reading_kea_back(
    cd_box: Sandbox, central: CentralDhcp, fault: Path
) -> None:
    subnet = str(cd_box.network)
    body = {
        "subnet": subnet,
        "pools": [{"start": str(cd_box.network[16]), "end": str(cd_box.network[20])}],
        "comment": "made while the agent died",
    }
    before = _running_pid(cd_box)
    created = central.dhcp("POST", "/v4/scopes", body)
    assert not fault.exists()  # the point fired once and removed its file
    assert created.status_code == 201, created.text
    after = _running_pid(cd_box)
    assert after != before, "the fault point did not end the agent"

    # Central's answer is what Kea serves ...
    scope = created.json()
    assert scope == _kea_scope(cd_box, subnet)
    # ... and so is its history
    made = central.history(object_type="dhcp-scope", action="create")
    entry = next(h for h in made if h["object_id"] == f"{central.server_id}:v4:{scope['id']}")
    assert entry["after"] == scope and entry["before"] is None
    assert entry["comment"] == "made while the agent died"
    assert central.ok(central.dhcp("GET", f"/v4/scopes/{scope['id']}")) == scope

    # The same for a deletion: gone from Kea, gone in Central's answer and history.
    fault.write_text("armed again\n")
    fault.chmod(0o644)
    deleted = central.dhcp("DELETE", f"/v4/scopes/{scope['id']}?comment=gone")
    assert not fault.exists()
    assert deleted.status_code == 200, deleted.text
    assert _running_pid(cd_box) != after
    result = deleted.json()
    assert result["changed"] is True
    assert result["after"] == central.ok(central.call(
        "GET", f"/api/v1/dhcp/servers/{central.server_id}/v4/config"))["hash"]  # fmt: skip
    assert _kea_scope(cd_box, subnet) is None
    gone = central.history(object_type="dhcp-scope", action="delete")
    entry = next(h for h in gone if h["object_id"] == f"{central.server_id}:v4:{scope['id']}")
    assert entry["before"] == scope and entry["after"] is None and entry["comment"] == "gone"
    assert central.dhcp("GET", f"/v4/scopes/{scope['id']}").status_code == 404


def test_a_fault_file_that_root_does_not_own_arms_nothing(cd_box: Sandbox) -> None:
    path = fault_file(cd_box.root, "dhcp-agent", "not-root")
    path.parent.mkdir(parents=True, exist_ok=True)
    for directory in (path.parent, path.parent.parent):
        os.chmod(directory, 0o755)
    path.write_text("")
    path.chmod(0o644)
    points = FaultPoints(cd_box.root, "dhcp-agent")
    try:
        assert points.armed("not-root")
        os.chown(path, 65534, 65534)
        assert not points.armed("not-root")
    finally:
        path.unlink()
