"""Kea's refusals in the request's terms (``services.dhcp.refusals``): positions in the command
Kea was sent lead back to the field; Kea's internal phrases become plain words."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from services.common import problems
from services.dhcp.api import dhcp_router
from services.dhcp.changes import ConfigEditor
from services.dhcp.kea_client import KeaClient, request_body
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer
from services.dhcp.memory import MemoryKea
from services.dhcp.refusals import dotted, model_field, path_at, plain, position, refusal
from tests.harness.problems import assert_problem
from tests.unit.test_dhcp_agent import SCOPE, AppClient


def test_plain_words() -> None:
    assert plain("intValue() called on non-integer Element in (<wire>:0:64)") == (
        "must be a whole number"
    )
    assert plain("expression: [bad(] error: <string>:1.1: Invalid character: b at (<wire>:0:84)") \
        == "expression: [bad(] error: at character 1: Invalid character: b"  # fmt: skip
    text = "option data does not match (space: dhcp4, code: 8): 'zz' (<wire>:0:94) (<wire>:0:50)"
    assert plain(text) == "option data does not match (space: dhcp4, code: 8): 'zz'"
    assert position(text) == 94  # the first, most precise element
    assert position("Missing mandatory 'Dhcp4' parameter.") is None


def test_paths_at_offsets() -> None:
    data = b'{"Dhcp4":{"subnet4":[{"id":1},{"id":2,"option-data":[{"code":3,"data":"x"}]}]}}'
    assert path_at(data, data.index(b'{"id":2')) == ["Dhcp4", "subnet4", 1]
    assert path_at(data, data.index(b'"x"')) == ["Dhcp4", "subnet4", 1, "option-data", 0, "data"]
    assert dotted(["Dhcp4", "subnet4", 1, "option-data", 0]) == "Dhcp4.subnet4[1].option-data[0]"
    assert path_at(b'{"a":"}\\"{","b":[1,2]}', 19) == ["b", 1]  # braces inside strings


@pytest.mark.parametrize(
    ("kea", "ours"),
    [
        (["option-data", 0, "data"], "options[0].data"),
        (["relay", "ip-addresses", 1], "relay_addresses[1]"),
        (["reservations", 0, "ip-addresses", 1], "reservations[0].ip_addresses[1]"),
        (["reservations", 2, "ip-address"], "reservations[2].ip_addresses[0]"),
        (["pools", 2, "pool"], "pools[2]"),
        (["pd-pools", 0, "prefix-len"], "pd_pools[0].prefix"),
        (["valid-lifetime"], "valid_lifetime"),
    ],
)
def test_kea_keys_as_model_fields(kea: list[str | int], ours: str) -> None:
    assert model_field(kea) == ours


def test_a_refusal_names_the_field_and_keeps_keas_reason() -> None:
    config = b'{"Dhcp4":{"valid-lifetime":"x"}}'
    skip = len(b'{"command":"config-test","arguments":')
    where = skip + config.index(b':"x"') + 1
    error = refusal(f"intValue() called on non-integer Element in (<wire>:0:{where})", config,
                    skip, "config", lambda p: "config." + dotted(p))  # fmt: skip
    assert (error.status, error.code) == (422, "refused-by-daemon")
    [problem] = error.problems
    assert problem.field == "config.Dhcp4.valid-lifetime"
    assert problem.message == "the DHCP server (Kea) refused it: must be a whole number"
    assert problem.extra == {"kea_path": "Dhcp4.valid-lifetime"}
    # Without a position (or through the Control Agent) the operation's field is named.
    assert refusal("no good", config, None, "subnet", None).field == "subnet"


class PointingKea(MemoryKea):
    """Refuses config-test as Kea does, naming the position of ``target`` in the command."""

    exact_positions = True  # as the control sockets: the command arrives as it was sent

    def __init__(self, target: bytes) -> None:
        super().__init__()
        self.target = target

    def exchange(self, command: str, service: str, arguments: bytes | None) -> bytes:
        if command == "config-test" and arguments is not None and self.target in arguments:
            body = request_body(command, arguments)
            at = body.index(self.target) + 1
            text = f"option data does not match option definition (<wire>:0:{at})"
            return orjson.dumps({"result": 1, "text": text})
        return super().exchange(command, service, arguments)


def _api(kea: MemoryKea) -> AppClient:
    client = KeaClient(kea)
    app = FastAPI()
    problems.install(app, service="dhcp-agent")
    app.include_router(dhcp_router(DhcpServer(ConfigEditor(client)), LeaseBook(client)))
    return AppClient(app)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/dhcp/v4/scopes", {**SCOPE, "pools": [{**SCOPE["pools"][0],  # type: ignore[dict-item]
                                                 "options": [{"code": 8, "data": "zz"}]}]},
         "pools[0].options[0].data"),
        ("/dhcp/v4/scopes/1/reservations",
         {"hw_address": "02:00:00:00:00:01", "options": [{"code": 8, "data": "zz"}]},
         "options[0].data"),
        ("/dhcp/v4/classes/lab", {"name": "lab", "options": [{"code": 8, "data": "zz"}]},
         "options[0].data"),
    ],
)  # fmt: skip
def test_each_operation_names_its_own_field(path: str, body: dict[str, Any], field: str) -> None:
    kea = PointingKea(b':"zz"')
    api = _api(kea)
    if "/scopes/1/" in path:
        assert api.post("/dhcp/v4/scopes", json=SCOPE).status_code == 201
    before = api.get("/dhcp/v4/config").json()
    answer = api.put(path, json=body) if "/classes/" in path else api.post(path, json=body)
    problem = assert_problem(answer, 422, field)
    assert problem["type"] == "urn:burrow:problem:refused-by-daemon"
    assert "<wire>" not in answer.text
    assert api.get("/dhcp/v4/config").json() == before
