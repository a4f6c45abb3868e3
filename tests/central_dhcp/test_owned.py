"""The appliance-owned parts of Kea's configuration through Central, for every role.

Every change of tests/dhcp/owned_cases.py sent to Central's raw configuration route, and the
control socket through the properties route, by a user of each role: administrators and DHCP
administrators get 422 naming the key, the other roles 403; Kea's configuration and its hash
are the same afterwards and the history has no new entry.
"""

from __future__ import annotations

from typing import get_args

import pytest

from central.auth.schemas import RoleName
from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp, kea_config
from tests.dhcp.owned_cases import owned_cases
from tests.harness.problems import assert_problem

WRITERS = {"administrator", "dhcp-admin"}


@pytest.mark.parametrize("role", get_args(RoleName))
@pytest.mark.parametrize("family", ["v4", "v6"])
def test_every_owned_key_is_refused_for_every_role(
    cd_box: Sandbox, central: CentralDhcp, role: str, family: str
) -> None:
    service, top = ("dhcp4", "Dhcp4") if family == "v4" else ("dhcp6", "Dhcp6")
    token = central.make_user(role)
    state = central.ok(central.dhcp("GET", f"/{family}/config"))
    before = kea_config(cd_box, service)
    central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
    latest = central.ok(central.call("GET", "/api/v1/history?limit=1"))["items"][0]["id"]
    for case in owned_cases(family):
        body = {"config": case.applied(state["config"], top), "expected_hash": state["hash"],
                "comment": case.what}  # fmt: skip
        answer = central.dhcp("PUT", f"/{family}/config", body, token=token)
        if role in WRITERS:
            problem = assert_problem(answer, 422, f"config.{top}.{case.field}")
            assert f"{top}.{case.field}" in problem["detail"], (case.what, problem)
        else:
            assert_problem(answer, 403)
        assert kea_config(cd_box, service) == before, (role, case.what)
    moved = {"control_socket": "/tmp/elsewhere.sock"}
    answer = central.dhcp("PATCH", f"/{family}/properties", moved, token=token)
    if role in WRITERS:
        assert_problem(answer, 422, "control_socket")
    else:
        assert_problem(answer, 403)
    assert kea_config(cd_box, service) == before
    assert central.ok(central.dhcp("GET", f"/{family}/config"))["hash"] == state["hash"]
    # nothing recorded but what a sync finds on the server (Central's own periodic sync may
    # run at the same time, just after the appliance started)
    recent = central.ok(central.call("GET", "/api/v1/history?limit=50"))["items"]
    made = [h for h in recent if h["id"] > latest and h["actor"] != "external"]
    assert made == [], made
