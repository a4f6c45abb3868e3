"""The dhcp-agent's API and change pipeline over the in-memory Kea (no daemon)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.common import problems
from services.dhcp.api import dhcp_router
from services.dhcp.changes import ConfigEditor
from services.dhcp.kea_client import (
    ControlSocketTransport,
    KeaClient,
    KeaCommandError,
    KeaError,
    Result,
)
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer
from services.dhcp.memory import MemoryKea
from tests.harness.problems import assert_problem


class AppClient:
    """A synchronous client of an ASGI app in this process (httpx's ASGI transport)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


SCOPE = {
    "subnet": "203.0.113.0/27",
    "pools": [{"start": "203.0.113.10", "end": "203.0.113.20"}],
    "options": [{"name": "routers", "data": "203.0.113.1"}],
}


@pytest.fixture
def kea() -> MemoryKea:
    return MemoryKea()


@pytest.fixture
def api(kea: MemoryKea) -> AppClient:
    client = KeaClient(kea)
    app = FastAPI()
    problems.install(app, service="dhcp-agent")
    app.include_router(dhcp_router(DhcpServer(ConfigEditor(client)), LeaseBook(client)))
    return AppClient(app)


def test_result_codes_are_types(kea: MemoryKea) -> None:
    client = KeaClient(kea)
    assert client.command("lease4-get", "v4", {"ip-address": "203.0.113.9"}).result is Result.EMPTY
    with pytest.raises(KeaCommandError) as err:
        client.command("subnet4-add", "v4", {})
    assert err.value.answer.result is Result.UNSUPPORTED


def test_create_scope_runs_the_whole_pipeline(api: AppClient, kea: MemoryKea) -> None:
    answer = api.post("/dhcp/v4/scopes", json=SCOPE)
    assert answer.status_code == 201, answer.text
    assert answer.json()["scope"]["id"] == 1
    assert kea.log[-5:] == ["config-get", "config-test", "config-set", "config-write", "config-get"]
    assert kea.saved == kea.running
    assert api.get("/dhcp/v4/scopes/1").json()["pools"][0]["end"] == "203.0.113.20"


def test_existing_scope_is_refused_with_the_known_sentence(api: AppClient) -> None:
    api.post("/dhcp/v4/scopes", json=SCOPE)
    again = api.post("/dhcp/v4/scopes", json=SCOPE)
    problem = assert_problem(again, 409, "subnet")
    assert problem["detail"] == "A scope with address 203.0.113.0/27 already exists on the server"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SCOPE, "subnet": "203.0.113.0/26"}, "subnet"),
        ({"subnet": "198.51.100.0/27",
          "pools": [{"start": "198.51.100.1", "end": "198.51.100.99"}]},
         "pools[0].end"),
        ({"subnet": "198.51.100.0/27", "options": [{"code": 6, "data": "x"}]}, "options[0].data"),
        ({"subnet": "198.51.100.0/27", "options": [{"code": 250, "data": "1"}]}, "options[0].code"),
        ({"subnet": "198.51.100.0/27", "reservations": [
            {"hw_address": "02:00:00:00:00:01", "ip_addresses": ["203.0.113.5"]}]},
         "reservations[0].ip_addresses[0]"),
        ({"subnet": "198.51.100.0/27", "pools": [{"start": "198.51.100.9", "end": "198.51.100.2"}]},
         "pools[0].end"),
        ({"subnet": "not-a-subnet"}, "subnet"),
        ({"subnet": "198.51.100.0/27", "valid_lifetime": "4000"}, "valid_lifetime"),
        ({"subnet": "198.51.100.0/27", "options": [{"name": "routers", "data": "198.51.100.1",
                                                  "always_send": "yes"}]},
         "options[0].always_send"),
        ({"subnet": "198.51.100.5/27"}, "subnet"),
    ],
)  # fmt: skip
def test_invalid_input_is_422_naming_the_field_and_changes_nothing(
    api: AppClient, kea: MemoryKea, body: dict[str, Any], field: str
) -> None:
    api.post("/dhcp/v4/scopes", json=SCOPE)
    before = api.get("/dhcp/v4/config").json()
    answer = api.post("/dhcp/v4/scopes", json=body)
    assert_problem(answer, 422, field)
    assert api.get("/dhcp/v4/config").json() == before
    assert "config-set" not in kea.log[-3:]


def test_kea_refusing_config_test_changes_nothing(api: AppClient, kea: MemoryKea) -> None:
    kea.refuse["config-test"] = "subnet configuration failed (<wire>:0:12)"
    answer = api.post("/dhcp/v4/scopes", json=SCOPE)
    problem = assert_problem(answer, 422, "subnet")
    assert problem["type"] == "urn:burrow:problem:refused-by-daemon"
    assert problem["problems"][0]["message"] == (
        "the DHCP server (Kea) refused it: subnet configuration failed"
    )
    assert kea.running["dhcp4"]["Dhcp4"]["subnet4"] == []


def test_failed_write_restores_the_previous_configuration(api: AppClient, kea: MemoryKea) -> None:
    before = api.get("/dhcp/v4/config").json()
    kea.refuse["config-write"] = "disk full"
    answer = api.post("/dhcp/v4/scopes", json=SCOPE)
    assert answer.status_code == 502
    assert kea.log[-4:] == ["config-set", "config-write", "config-set", "config-write"]
    del kea.refuse["config-write"]
    assert api.get("/dhcp/v4/config").json() == before


def test_reservations_classes_options_definitions(api: AppClient, kea: MemoryKea) -> None:
    assert (
        api.put(
            "/dhcp/v4/classes/lab", json={"name": "lab", "test": "pkt4.mac == 0x02"}
        ).status_code
        == 200
    )
    scope = {
        **SCOPE,
        "pools": [{"start": "203.0.113.10", "end": "203.0.113.20", "client_class": "lab"}],
    }
    assert api.post("/dhcp/v4/scopes", json=scope).status_code == 201
    res = {"hw_address": "02:00:00:00:00:01", "ip_addresses": ["203.0.113.25"], "hostname": "alpha"}
    assert api.post("/dhcp/v4/scopes/1/reservations", json=res).status_code == 201
    dup = api.post("/dhcp/v4/scopes/1/reservations", json=res)
    assert_problem(dup, 409, "hw_address")
    outside = {**res, "hw_address": "02:00:00:00:00:02", "ip_addresses": ["198.51.100.1"]}
    assert_problem(api.post("/dhcp/v4/scopes/1/reservations", json=outside), 422, "ip_addresses[0]")
    assert api.delete("/dhcp/v4/classes/lab").status_code == 409  # still assigned to a pool
    d = api.post("/dhcp/v4/option-definitions", json={"code": 6, "name": "mine", "type": "uint8"})
    assert_problem(d, 422, "code")
    d = api.post("/dhcp/v4/option-definitions", json={"code": 224, "name": "mine", "type": "uint8"})
    assert d.status_code == 201
    assert api.put("/dhcp/v4/options", json=[{"code": 224, "data": "7"}]).status_code == 200
    bad = api.put("/dhcp/v4/options", json=[{"code": 224, "data": "700"}])
    assert_problem(bad, 422, "options[0].data")
    gone = api.delete("/dhcp/v4/scopes/1/reservations/hw_address/02-00-00-00-00-01")
    assert gone.status_code == 200
    assert api.get("/dhcp/v4/scopes/1").json()["reservations"] == []


def test_classes_networks_and_definitions_are_replaced_where_they_are(
    api: AppClient, kea: MemoryKea
) -> None:
    for code, name in ((224, "a"), (225, "b"), (226, "c")):
        assert api.put(f"/dhcp/v4/classes/{name}", json={"name": name}).status_code == 200
        assert api.put(f"/dhcp/v4/shared-networks/{name}", json={"name": name}).status_code == 200
        definition = {"code": code, "name": f"o{name}", "type": "uint8"}
        assert api.post("/dhcp/v4/option-definitions", json=definition).status_code == 201
    top = kea.running["dhcp4"]["Dhcp4"]
    top["client-classes"][1]["comment"] = "kept"
    top["shared-networks"][1]["comment"] = "kept"
    api.put("/dhcp/v4/classes/b", json={"name": "b", "test": "pkt4.mac == 0x02"})
    api.put("/dhcp/v4/shared-networks/b", json={"name": "b", "interface": "br0"})
    again = api.post("/dhcp/v4/option-definitions",
                     json={"code": 225, "name": "ob", "type": "uint16"})  # fmt: skip
    assert again.status_code == 201, again.text
    top = kea.running["dhcp4"]["Dhcp4"]
    assert [c["name"] for c in top["client-classes"]] == ["a", "b", "c"]
    assert top["client-classes"][1]["test"] == "pkt4.mac == 0x02"
    assert top["client-classes"][1]["comment"] == "kept"
    assert [n["name"] for n in top["shared-networks"]] == ["a", "b", "c"]
    assert top["shared-networks"][1]["interface"] == "br0"
    assert top["shared-networks"][1]["comment"] == "kept"
    assert [(d["name"], d["type"]) for d in top["option-def"]] == [
        ("oa", "uint8"), ("ob", "uint16"), ("oc", "uint8")
    ]  # fmt: skip


def test_properties_and_raw_config(api: AppClient) -> None:
    assert (
        api.patch(
            "/dhcp/v4/properties", json={"valid_lifetime": 600, "server_tag": "a"}
        ).status_code
        == 200
    )
    assert api.get("/dhcp/v4/properties").json()["valid_lifetime"] == 600
    bad = api.patch("/dhcp/v6/properties", json={"echo_client_id": True})
    assert_problem(bad, 422, "echo_client_id")
    state = api.get("/dhcp/v4/config").json()
    raw = state["config"]
    raw["Dhcp4"]["valid-lifetime"] = 900
    stale = api.put("/dhcp/v4/config", params={"expected_hash": "0" * 64}, json=raw)
    assert stale.status_code == 409
    done = api.put("/dhcp/v4/config", params={"expected_hash": state["hash"]}, json=raw)
    assert done.status_code == 200 and done.json()["before"] == state["hash"]
    assert api.get("/dhcp/v4/config/hash").json()["hash"] == done.json()["after"]
    broken = api.put("/dhcp/v4/config", json={"Dhcp4": {"subnet4": [{"id": 1}]}})
    assert_problem(broken, 422, "config")


def test_external_change_shows_in_the_hash(api: AppClient, kea: MemoryKea) -> None:
    first = api.get("/dhcp/v4/config/hash").json()["hash"]
    kea.saved["dhcp4"]["Dhcp4"]["subnet4"].append({"id": 9, "subnet": "203.0.113.0/27"})
    KeaClient(kea).config_reload("v4")
    assert api.get("/dhcp/v4/config/hash").json()["hash"] != first
    again = api.post("/dhcp/v4/scopes", json=SCOPE)
    assert again.status_code == 409


def test_leases_paging_search_delete_and_usage(api: AppClient, kea: MemoryKea) -> None:
    api.post("/dhcp/v4/scopes", json=SCOPE)
    for n in range(10, 15):
        kea.add_lease("dhcp4", {"ip-address": f"203.0.113.{n}", "subnet-id": 1,
                                "hw-address": f"02:00:00:00:00:{n:02x}", "hostname": f"h{n}",
                                "valid-lft": 600, "cltt": 1000})  # fmt: skip
    page = api.get("/dhcp/v4/leases", params={"limit": 3}).json()
    assert [x["address"] for x in page["leases"]] == [
        "203.0.113.10",
        "203.0.113.11",
        "203.0.113.12",
    ]
    rest = api.get("/dhcp/v4/leases", params={"limit": 3, "from": page["next"]}).json()
    assert [x["address"] for x in rest["leases"]] == ["203.0.113.13", "203.0.113.14"]
    assert rest["next"] is None
    found = api.get("/dhcp/v4/leases/search", params={"hw_address": "02-00-00-00-00-0b"}).json()
    assert [x["address"] for x in found] == ["203.0.113.11"]
    assert (
        api.get("/dhcp/v4/leases/search", params={"hostname": "h12"}).json()[0]["expires"] == 1600
    )
    assert api.get("/dhcp/v4/leases/search", params={"address": "203.0.113.99"}).json() == []
    bad = api.get("/dhcp/v4/leases/search", params={"address": "nope"})
    assert_problem(bad, 422, "address")
    assert api.delete("/dhcp/v4/leases/203.0.113.10").status_code == 204
    assert api.delete("/dhcp/v4/leases/203.0.113.10").status_code == 404
    usage = api.get("/dhcp/v4/statistics").json()
    assert usage == [{"subnet_id": 1, "subnet": "203.0.113.0/27", "total": 11, "assigned": 4,
                      "declined": 0, "utilisation": round(4 / 11, 6), "pd_total": None,
                      "pd_assigned": None, "pools": None}]  # fmt: skip
    assert api.delete("/dhcp/v4/scopes/1").status_code == 200
    assert kea.leases["dhcp4"] == {}  # a deleted scope takes its leases along


def test_control_socket_transport_reads_a_large_answer(tmp_path: Path) -> None:
    path = tmp_path / "kea4.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    big = {"result": 0, "arguments": {"Dhcp4": {"subnet4": [{"id": n} for n in range(20000)]}}}

    def answer_once() -> None:
        conn, _ = server.accept()
        with conn:
            request = json.loads(conn.recv(65536))
            assert request == {"command": "config-get"}
            conn.sendall(json.dumps(big).encode())

    thread = threading.Thread(target=answer_once)
    thread.start()
    try:
        client = KeaClient(ControlSocketTransport({"dhcp4": str(path)}))
        assert client.config_get("v4") == big["arguments"]
    finally:
        thread.join(timeout=10)
        server.close()
    with pytest.raises(KeaError):
        KeaClient(ControlSocketTransport({"dhcp4": str(path)})).status("v4")


def test_leases_added_changed_and_found_by_prefix_and_pattern(
    api: AppClient, kea: MemoryKea
) -> None:
    api.post("/dhcp/v4/scopes", json=SCOPE)
    for n in (10, 11, 15):
        body = {"address": f"203.0.113.{n}", "hw_address": f"02-AA-00-00-00-{n:02x}",
                "hostname": f"cam{n}.example."}  # fmt: skip
        added = api.post("/dhcp/v4/leases", json=body)
        assert added.status_code == 201, added.text
        assert added.json()["hostname"] == f"cam{n}.example"
    assert kea.leases["dhcp4"]["203.0.113.10"]["hw-address"] == "02:aa:00:00:00:0a"
    duplicate = {"address": "203.0.113.10", "hw_address": "02:aa:00:00:00:99"}
    assert_problem(api.post("/dhcp/v4/leases", json=duplicate), 409, "address")
    assert_problem(api.post("/dhcp/v4/leases", json={"address": "203.0.113.12"}), 422,
                   "hw_address")  # fmt: skip
    assert_problem(api.post("/dhcp/v4/leases", json={**duplicate, "unknown": 1}), 422)
    changed = api.patch("/dhcp/v4/leases/203.0.113.11", json={"valid_lifetime": 60}).json()
    assert changed["valid_lifetime"] == 60 and changed["hw_address"] == "02:aa:00:00:00:0b"
    assert kea.leases["dhcp4"]["203.0.113.11"]["hostname"] == "cam11.example."  # as it was
    assert_problem(api.patch("/dhcp/v4/leases/203.0.113.19", json={"hostname": "x"}), 404)

    def found(**terms: object) -> list[str]:
        answer = api.get("/dhcp/v4/leases/search", params=terms)
        assert answer.status_code == 200, answer.text
        return [x["address"] for x in answer.json()]

    assert found(address="203.0.11") == ["203.0.113.10", "203.0.113.11", "203.0.113.15"]
    assert found(address="203.0.113.1") == []  # a whole address is that address
    assert found(address="203.0.113.8/30") == ["203.0.113.10", "203.0.113.11"]
    assert found(address="203.0.113.", limit=1) == ["203.0.113.10"]
    assert found(hw_address="02:aa:00:00:00") == found(address="203.0.113.")
    assert found(hostname="cam15.example") == ["203.0.113.15"]
    assert found(hostname="CAM1*") == ["203.0.113.10", "203.0.113.11", "203.0.113.15"]
    assert found(hostname="*5.example") == ["203.0.113.15"]
    assert_problem(api.get("/dhcp/v4/leases/search", params={"address": "x;y"}), 422, "address")
    usage = api.get("/dhcp/v4/statistics", params={"pools": "true"}).json()
    assert usage[0]["pools"] == [{"kind": "pool", "index": 0, "pool": "203.0.113.10 - 203.0.113.20",
                                  "delegated_len": None, "total": 11, "assigned": 3,
                                  "declined": 0, "utilisation": round(3 / 11, 6)}]  # fmt: skip


def test_leases_imported_in_bulk_as_kea_takes_them_with_its_refusals(kea: MemoryKea) -> None:
    from services.dhcp.migrate import migrate_router

    app = FastAPI()
    problems.install(app, service="dhcp-agent")
    app.include_router(migrate_router(LeaseBook(KeaClient(kea))))
    api = AppClient(app)
    v4 = [{"address": "198.51.100.10", "hw_address": "02-AA-00-00-00-0A", "client_id": "01:02:aa",
           "hostname": "cam10", "valid_lifetime": 600, "expires": 1_900_000_000, "subnet_id": 3},
          {"address": "198.51.100.11", "hw_address": "02:aa:00:00:00:0b", "valid_lifetime": 60,
           "expires": 1_900_000_001}]  # fmt: skip
    answer = api.post("/dhcp/v4/leases/import", json={"leases": v4})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"added": ["198.51.100.10", "198.51.100.11"], "refused": []}
    assert kea.leases["dhcp4"]["198.51.100.10"] == {
        "ip-address": "198.51.100.10", "hw-address": "02:aa:00:00:00:0a", "client-id": "01:02:aa",
        "hostname": "cam10", "valid-lft": 600, "expire": 1_900_000_000, "subnet-id": 3,
        "cltt": 0, "state": 0,
    }  # fmt: skip
    assert kea.leases["dhcp4"]["198.51.100.11"]["subnet-id"] == 1  # Kea's pick
    again = api.post("/dhcp/v4/leases/import", json={"leases": v4[1:]}).json()
    assert again == {"added": [], "refused": [{
        "address": "198.51.100.11",
        "reason": "The DHCP server (Kea) refused lease4-add: lease already exists.",
    }]}  # fmt: skip
    bad = api.post("/dhcp/v4/leases/import", json={"leases": [{**v4[0], "hw_address": "x"}]})
    assert_problem(bad, 422, "leases[0].hw_address")
    assert len(kea.leases["dhcp4"]) == 2
    v6 = [{"address": "2001:db8::10", "duid": "00:03:00:01:02:aa:00:00:00:0a", "iaid": 7,
           "valid_lifetime": 600, "preferred_lifetime": 0, "expires": 1_900_000_000},
          {"address": "2001:db8:8::", "prefix_len": 56, "type": "IA_PD", "duid": "00-03-00-01",
           "iaid": 8, "hw_address": "02:AA:00:00:00:0C", "hostname": "router",
           "valid_lifetime": 600, "preferred_lifetime": 300, "expires": 1_900_000_000,
           "subnet_id": 9}]  # fmt: skip
    answer = api.post("/dhcp/v6/leases/import", json={"leases": v6})
    assert answer.json() == {"added": ["2001:db8::10", "2001:db8:8::/56"], "refused": []}
    assert kea.leases["dhcp6"]["2001:db8::10"] == {
        "ip-address": "2001:db8::10", "type": "IA_NA", "duid": "00:03:00:01:02:aa:00:00:00:0a",
        "iaid": 7, "valid-lft": 600, "preferred-lft": 0, "expire": 1_900_000_000,
        "cltt": 0, "state": 0, "subnet-id": 1,
    }  # fmt: skip
    assert kea.leases["dhcp6"]["2001:db8:8::"] == {
        "ip-address": "2001:db8:8::", "type": "IA_PD", "prefix-len": 56,
        "duid": "00:03:00:01", "iaid": 8, "hw-address": "02:aa:00:00:00:0c",
        "hostname": "router", "valid-lft": 600, "preferred-lft": 300, "expire": 1_900_000_000,
        "subnet-id": 9, "cltt": 0, "state": 0,
    }  # fmt: skip
    again = api.post("/dhcp/v6/leases/import", json={"leases": v6[1:]}).json()
    assert [r["address"] for r in again["refused"]] == ["2001:db8:8::/56"]
