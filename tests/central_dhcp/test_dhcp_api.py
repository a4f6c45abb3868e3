"""Central's DHCP API against a real appliance: Central → dhcp-agent (mTLS) → Kea → dhclient."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from services.common.files import write_atomic
from services.sandbox.sandbox import Sandbox
from tests.central_dhcp.conftest import CentralDhcp, kea_config
from tests.dhcp.conftest import wait_link_local
from tests.harness.dhcp import dhclient
from tests.harness.problems import assert_problem


def net(box: Sandbox, index: int) -> str:
    return str(box.network[index])


def other_net(box: Sandbox) -> ipaddress.IPv4Network:
    """The half of 198.51.100.0/24 the sandbox's own /27 is not in (only configured in Kea,
    never used for traffic)."""
    low, high = ipaddress.IPv4Network("198.51.100.0/24").subnets(1)
    return high if box.network.subnet_of(low) else low


def test_scope_and_reservation_through_central_reach_a_client(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    mac = "02:cd:00:00:00:01"
    body = {
        "subnet": str(cd_box.network),
        "pools": [{"start": net(cd_box, 16), "end": net(cd_box, 20)}],
        "options": [{"name": "routers", "data": cd_box.address}],
        "comment": "lab scope",
    }
    scope = central.ok(central.dhcp("POST", "/v4/scopes", body))
    try:
        assert scope["subnet"] == str(cd_box.network) and scope["id"] >= 1
        reservation = {"hw_address": mac, "ip_addresses": [net(cd_box, 25)],
                       "hostname": "central-host", "comment": "printer"}  # fmt: skip
        central.ok(central.dhcp("POST", f"/v4/scopes/{scope['id']}/reservations", reservation))
        listed = central.ok(central.dhcp("GET", f"/v4/scopes/{scope['id']}/reservations"))
        assert listed["total"] == 1 and listed["items"][0]["hostname"] == "central-host"

        lease = dhclient(cd_box.add_client(mac=mac))
        assert lease["new_ip_address"] == net(cd_box, 25)
        assert lease["new_host_name"] == "central-host"
        assert lease["new_routers"] == cd_box.address

        found = central.ok(central.dhcp("GET", f"/v4/leases?hw_address={mac}"))
        assert found["total"] == 1 and found["items"][0]["address"] == net(cd_box, 25)
        usage = central.ok(central.dhcp("GET", "/v4/statistics"))["items"]
        assert [u["total"] for u in usage if u["subnet_id"] == scope["id"]] == [5]
        deleted = central.dhcp("DELETE", f"/v4/leases/{net(cd_box, 25)}?comment=gone")
        assert central.ok(deleted)["deleted"] is True
        assert central.ok(central.dhcp("GET", f"/v4/leases?hw_address={mac}"))["total"] == 0

        # who, what, before and after, and the save comment
        made = central.history(object_type="dhcp-scope", action="create")
        entry = next(h for h in made if h["object_id"] == f"{central.server_id}:v4:{scope['id']}")
        assert entry["actor"] != "external" and entry["comment"] == "lab scope"
        assert entry["before"] is None and entry["after"]["subnet"] == str(cd_box.network)
        added = central.history(object_type="dhcp-reservation")
        assert added[0]["after"]["hostname"] == "central-host" and added[0]["comment"] == "printer"
        assert central.history(object_type="dhcp-lease")[0]["comment"] == "gone"
    finally:
        central.ok(central.dhcp("DELETE", f"/v4/scopes/{scope['id']}"))
    assert str(cd_box.network) not in [s["subnet"] for s in kea_config(cd_box)["Dhcp4"]["subnet4"]]


def test_scope_added_behind_centrals_back_conflicts_and_is_synced(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    subnet = str(other_net(cd_box))
    central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
    path = cd_box.root.kea_conf("dhcp4")
    mode = path.stat().st_mode & 0o777
    on_disk = json.loads(path.read_text())
    on_disk["Dhcp4"]["subnet4"].append({"id": 77, "subnet": subnet})
    write_atomic(path, json.dumps(on_disk, indent=2), mode=0o660)
    assert mode == 0o660
    seen = len(central.history(action="external-change"))
    assert cd_box.kea("config-reload")["result"] == 0
    try:
        # The server refuses the scope whether or not Central has seen it yet: Central's own
        # periodic sync may run between the reload and this request, and either way the
        # refusal names the field and records no scope of Central's making.
        again = central.dhcp("POST", "/v4/scopes", {"subnet": subnet})
        problem = assert_problem(again, 409, "subnet")
        assert problem["detail"] == f"A scope with address {subnet} already exists on the server"
        assert central.history(object_type="dhcp-scope", object_id=f"{central.server_id}:v4:77") \
            == []  # fmt: skip

        # the refused change (or the periodic sync just before it) found the external change
        # and recorded it as such, once; the sync shows it
        central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
        scopes = central.ok(central.dhcp("GET", f"/v4/scopes?filter=subnet:{subnet}"))
        assert scopes["total"] == 1 and scopes["items"][0]["id"] == 77
        external = central.history(action="external-change")
        assert len(external) == seen + 1
        assert external[0]["actor"] == "external"
        assert external[0]["object_id"] == f"{central.server_id}:v4"
        assert subnet in [s["subnet"] for s in external[0]["after"]["scopes"]]
        assert subnet not in [s["subnet"] for s in external[0]["before"]["scopes"]]
        # a second sync finds nothing new
        quiet = central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
        assert quiet["families"]["v4"]["changed"] is False
        assert len(central.history(action="external-change")) == len(external)
    finally:
        central.ok(central.dhcp("DELETE", "/v4/scopes/77"))
    assert central.dhcp("GET", "/v4/scopes/77").status_code == 404


def test_a_sync_alone_finds_an_external_change(cd_box: Sandbox, central: CentralDhcp) -> None:
    central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
    path = cd_box.root.kea_conf("dhcp4")
    on_disk = json.loads(path.read_text())
    on_disk["Dhcp4"]["decline-probation-period"] = 4321
    write_atomic(path, json.dumps(on_disk, indent=2), mode=0o660)
    seen = len(central.history(action="external-change"))
    assert cd_box.kea("config-reload")["result"] == 0
    synced = central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
    # Central's own periodic sync may have found it a moment earlier: either way, once.
    external = central.history(action="external-change")
    assert synced["families"]["v4"]["changed"] is True or len(external) == seen + 1
    assert synced["families"]["v6"]["changed"] is False
    assert central.ok(central.dhcp("GET", "/v4/properties"))["decline_probation_period"] == 4321
    external = central.history(action="external-change")
    assert len(external) == seen + 1
    assert external[0]["after"]["properties"]["decline_probation_period"] == 4321
    assert list(external[0]["after"]) == ["hash", "properties"]  # only what differs


def _invalid(box: Sandbox) -> list[tuple[str, str, dict[str, Any], str]]:
    other = other_net(box)
    here = box.network
    return [
        ("pool outside", "/v4/scopes",
         {"subnet": str(other), "pools": [{"start": net(box, 3), "end": net(box, 5)}]},
         "pools[0].start"),
        ("bad option data", "/v4/scopes",
         {"subnet": str(other), "options": [{"name": "routers", "data": "not-an-address"}]},
         "options[0].data"),
        ("unknown option code", "/v4/scopes",
         {"subnet": str(other), "options": [{"code": 222, "data": "01"}]}, "options[0].code"),
        ("pool end before start", "/v4/scopes",
         {"subnet": str(here), "pools": [{"start": net(box, 20), "end": net(box, 16)}]},
         "pools[0].end"),
        ("unknown field", "/v4/scopes", {"subnet": str(here), "colour": "red"}, "colour"),
        ("lifetime type", "/v4/properties", {"valid_lifetime": "long"}, "valid_lifetime"),
        ("taken option code", "/v4/option-definitions",
         {"code": 3, "name": "mine", "type": "uint8"}, "code"),
    ]  # fmt: skip


def test_invalid_input_is_422_naming_the_field_and_changes_nothing(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    overlap = {"subnet": str(cd_box.network),
               "pools": [{"start": net(cd_box, 16), "end": net(cd_box, 20)}]}  # fmt: skip
    scope = central.ok(central.dhcp("POST", "/v4/scopes", overlap))
    try:
        before = kea_config(cd_box)

        def changes_made() -> int:
            # Central's own syncs may record what they find meanwhile ("external"): those are
            # not changes of these requests.
            return len([h for h in central.history() if h["actor"] not in ("external", "system")])

        history = changes_made()
        half = next(ipaddress.IPv4Network(str(cd_box.network)).subnets(1))
        cases = [*_invalid(cd_box),
                 ("overlapping subnet", "/v4/scopes", {"subnet": str(half)}, "subnet")]  # fmt: skip
        for what, path, body, field in cases:
            method = "PATCH" if path.endswith("properties") else "POST"
            answer = central.dhcp(method, path, body)
            assert answer.status_code == 422, (what, answer.text)
            assert_problem(answer, 422, field)
        assert kea_config(cd_box) == before
        assert changes_made() == history
    finally:
        central.ok(central.dhcp("DELETE", f"/v4/scopes/{scope['id']}"))


def test_read_only_reads_and_cannot_write(cd_box: Sandbox, central: CentralDhcp) -> None:
    reader = central.make_user("read-only")
    before = kea_config(cd_box)
    assert central.dhcp("GET", "/v4/scopes", token=reader).status_code == 200
    assert central.dhcp("GET", "/v4/properties", token=reader).status_code == 200
    writes = [
        ("POST", "/v4/scopes", {"subnet": str(other_net(cd_box))}),
        ("PUT", "/v4/classes/lab", {"name": "lab", "global": True}),
        ("PATCH", "/v4/properties", {"valid_lifetime": 600}),
        ("PUT", "/v4/options", {"options": []}),
    ]
    for method, path, body in writes:
        answer = central.dhcp(method, path, body, token=reader)
        assert answer.status_code == 403, (path, answer.text)
    sync = central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync", token=reader)
    assert sync.status_code == 403
    assert kea_config(cd_box) == before
    # a DHCP administrator writes
    admin = central.make_user("dhcp-admin")
    changed = central.dhcp("PATCH", "/v4/properties", {"decline_probation_period": 3600},
                           token=admin)  # fmt: skip
    assert central.ok(changed)["decline_probation_period"] == 3600
    assert kea_config(cd_box)["Dhcp4"]["decline-probation-period"] == 3600


def test_global_class_is_put_back_on_a_server_that_lost_it(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    """Replication with the one local DHCP server: a global class that the server loses
    (a configuration edited behind Central's back) is put back by the next sync."""
    body = {"name": "lab-phones", "test": "substring(option[60].hex,0,4) == 'SIP/'",
            "global": True, "comment": "phones everywhere"}  # fmt: skip
    made = central.ok(central.dhcp("PUT", "/v4/classes/lab-phones", body))
    try:
        assert made["global"] is True and made["servers"] == [central.server_id]
        assert "lab-phones" in [c["name"] for c in kea_config(cd_box)["Dhcp4"]["client-classes"]]
        listed = central.ok(central.dhcp("GET", "/v4/classes?filter=global:true"))
        assert [c["name"] for c in listed["items"]] == ["lab-phones"]

        # the class disappears behind Central's back
        path = cd_box.root.kea_conf("dhcp4")
        on_disk = json.loads(path.read_text())
        kept = [c for c in on_disk["Dhcp4"]["client-classes"] if c["name"] != "lab-phones"]
        on_disk["Dhcp4"]["client-classes"] = kept
        if not kept:
            del on_disk["Dhcp4"]["client-classes"]  # Kea 2.2's parser refuses an empty list
        write_atomic(path, json.dumps(on_disk, indent=2), mode=0o660)
        reloaded = cd_box.kea("config-reload")
        assert reloaded["result"] == 0, reloaded
        assert "lab-phones" not in [
            c["name"] for c in kea_config(cd_box)["Dhcp4"].get("client-classes", [])
        ]
        synced = central.ok(central.call("POST", f"/api/v1/dhcp/servers/{central.server_id}/sync"))
        assert synced["global_classes"] == ["v4/lab-phones"]
        assert "lab-phones" in [c["name"] for c in kea_config(cd_box)["Dhcp4"]["client-classes"]]
        assert central.history(action="replicate")[0]["object_id"].endswith(":lab-phones")
    finally:
        central.ok(central.dhcp("DELETE", "/v4/classes/lab-phones"))
    assert "lab-phones" not in [
        c["name"] for c in kea_config(cd_box)["Dhcp4"].get("client-classes", [])
    ]


def test_dhcpv6_scope_and_reservation_through_central(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    for seeded in central.ok(central.dhcp("GET", "/v6/scopes"))["items"]:
        central.ok(central.dhcp("DELETE", f"/v6/scopes/{seeded['id']}"))
    net6 = cd_box.network6
    body = {
        "subnet": str(net6),
        "interface": "br0",
        "pools": [{"start": str(net6[0x1000]), "end": str(net6[0x10FF])}],
    }
    scope = central.ok(central.dhcp("POST", "/v6/scopes", body))
    try:
        mac = "02:cd:00:00:00:06"
        duid = "00:03:00:01:" + mac  # DUID-LL (dhclient -D LL)
        reservation = {"duid": duid, "ip_addresses": [str(net6[0xCAFE])], "hostname": "six"}
        central.ok(central.dhcp("POST", f"/v6/scopes/{scope['id']}/reservations", reservation))
        client = cd_box.add_client(mac=mac)
        wait_link_local(client)
        lease = dhclient(client, v6=True, extra=["-D", "LL"])
        assert lease["new_ip6_address"] == str(net6[0xCAFE])
        found = central.ok(central.dhcp("GET", f"/v6/leases?duid={duid}"))
        assert [(x["address"], x["hostname"]) for x in found["items"]] == [
            (str(net6[0xCAFE]), "six")
        ]
        dhcp6 = kea_config(cd_box, "dhcp6")["Dhcp6"]
        assert [s["subnet"] for s in dhcp6["subnet6"]] == [str(net6)]
    finally:
        central.ok(central.dhcp("DELETE", f"/v6/scopes/{scope['id']}"))


def test_unknown_objects_and_list_parameters(cd_box: Sandbox, central: CentralDhcp) -> None:
    assert_problem(central.dhcp("GET", "/v4/scopes/4000000"), 404, "scope_id")
    nowhere = central.call("GET", "/api/v1/dhcp/servers/999999/v4/scopes")
    assert_problem(nowhere, 404, "dhcp_server_id")
    servers = central.ok(central.call("GET", "/api/v1/servers?filter=kind:dns"))["items"]
    other_kind = central.call("GET", f"/api/v1/dhcp/servers/{servers[0]['id']}/v4/scopes")
    assert_problem(other_kind, 422, "dhcp_server_id")
    assert_problem(central.dhcp("GET", "/v4/scopes?filter=colour:red"), 422, "filter")
    assert_problem(central.dhcp("GET", "/v5/scopes"), 422, "family")
    page = central.ok(central.dhcp("GET", "/v6/scopes?limit=1&offset=0&sort=-id"))
    assert set(page) == {"items", "total", "offset", "limit"} and page["limit"] == 1


# --- strict types and the agent's problems through Central ------------------------------------
def _strict_cases(box: Sandbox) -> list[tuple[str, str, Any, str]]:
    other = str(other_net(box))
    return [
        ("POST", "/v4/scopes", {"subnet": other, "valid_lifetime": "4000"}, "valid_lifetime"),
        ("POST", "/v4/scopes", {"subnet": other, "valid_lifetime": 4000.5}, "valid_lifetime"),
        ("POST", "/v4/scopes",
         {"subnet": other, "options": [{"name": "routers", "data": net(box, 1),
                                        "always_send": "yes"}]},
         "options[0].always_send"),
        ("PUT", "/v4/options",
         {"options": [{"name": "domain-name", "data": "example.org", "always_send": "yes"}]},
         "options[0].always_send"),
        ("PUT", "/v4/options",
         {"options": [{"name": "domain-name", "data": "example.org", "always_send": 1}]},
         "options[0].always_send"),
        ("PATCH", "/v4/properties", {"valid_lifetime": "4000"}, "valid_lifetime"),
        ("PATCH", "/v4/properties", {"echo_client_id": "yes"}, "echo_client_id"),
        ("PUT", "/v4/classes/lab", {"name": "lab", "only_if_required": "true"},
         "only_if_required"),
        ("PUT", "/v4/classes/lab", {"name": "lab", "global": "yes"}, "global"),
        ("POST", "/v4/option-definitions", {"code": "224", "name": "x", "type": "uint8"}, "code"),
    ]  # fmt: skip


def test_wrong_types_are_refused_not_coerced(cd_box: Sandbox, central: CentralDhcp) -> None:
    before = kea_config(cd_box)
    history = len(central.history())
    for method, path, body, field in _strict_cases(cd_box):
        answer = central.dhcp(method, path, body)
        problem = assert_problem(answer, 422, field)
        message = next(p["message"] for p in problem["problems"] if p["field"] == field)
        assert message in ("must be a whole number", "must be true or false"), (path, problem)
    assert kea_config(cd_box) == before
    assert len(central.history()) == history


def test_the_agents_problems_pass_through_central_unchanged_and_in_order(
    cd_box: Sandbox, central: CentralDhcp
) -> None:
    before = kea_config(cd_box)
    other = other_net(cd_box)
    body = {
        "subnet": str(other),
        "pools": [{"start": net(cd_box, 2), "end": net(cd_box, 4)}],
        "options": [{"code": 222, "data": "01"}, {"name": "routers", "data": "x.y"}],
    }
    problem = assert_problem(central.dhcp("POST", "/v4/scopes", body), 422)
    assert [p["field"] for p in problem["problems"]] == [
        "pools[0].start", "pools[0].end", "options[0].code", "options[1].data",
    ]  # fmt: skip
    # Kea's own refusal keeps its type and field through Central.
    refused = central.dhcp("PUT", "/v4/classes/lab", {"name": "lab", "test": "bad("})
    problem = assert_problem(refused, 422, "test")
    assert problem["type"] == "urn:burrow:problem:refused-by-daemon"
    assert "<wire>" not in refused.text
    assert kea_config(cd_box) == before


def test_every_answer_is_described_in_the_openapi_document(central: CentralDhcp) -> None:
    document = central.ok(central.call("GET", "/api/v1/openapi.json"))
    operations = [
        (method, path, op)
        for path, ops in document["paths"].items()
        if path.startswith("/api/v1/dhcp/")
        for method, op in ops.items()
    ]
    assert len(operations) >= 29
    for method, path, op in operations:
        ok = [code for code in op["responses"] if code.startswith("2")]
        schemas = [op["responses"][c].get("content", {}).get("application/json", {}).get("schema")
                   for c in ok]  # fmt: skip
        assert schemas and all(schemas), (method, path)
