"""The caching routes of a real Central (SQLite and PostgreSQL) with no caching appliance
behind them: a server of kind ``caching`` is registered on the dns-agent's port, the DNS
routes refuse it and say where its settings are, a bad settings document is refused with
every field named before anything is sent, a read-only user changes nothing. The agent's side
(a change reaching Unbound, a flush): tests/central_caching."""

from __future__ import annotations

import itertools
from typing import Any

from tests.central.conftest import Api, assert_problem

_names = itertools.count(1)


def _server(central: Api, kind: str) -> dict[str, Any]:
    name = f"{kind}-{next(_names)}-{central.backend[:2]}"
    response = central.post(
        "/api/v1/servers", {"kind": kind, "name": name, "address": "198.51.100.9"}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_caching_server_is_registered_on_the_dns_agents_port(central: Api) -> None:
    server = _server(central, "caching")
    assert (server["kind"], server["port"]) == ("caching", 1337)
    listed = central.get("/api/v1/caching/servers").json()
    assert server["id"] in [s["id"] for s in listed]
    only = central.get("/api/v1/servers?filter=kind:caching").json()["items"]
    assert {s["kind"] for s in only} == {"caching"}
    token = central.post(f"/api/v1/servers/{server['id']}/enrolment-token", {}).json()
    assert token["file"] == "var/lib/burrow/secrets/enrol-dns-agent.token"
    spec = central.get("/api/v1/openapi.json").json()
    kinds = spec["components"]["schemas"]["ServerPublic"]["properties"]["kind"]["enum"]
    assert "caching" in kinds


def test_the_dns_routes_refuse_a_caching_server_and_say_where_its_settings_are(
    central: Api,
) -> None:
    server = _server(central, "caching")
    sid = server["id"]
    history = central.history_total()
    zone = {"server_id": sid, "name": "example.test", "kind": "primary"}
    for method, path, body in [
        ("POST", "/api/v1/dns/zones", zone),
        ("GET", f"/api/v1/dns/servers/{sid}/options", None),
        ("PUT", f"/api/v1/dns/servers/{sid}/options", {"options": {}}),
    ]:  # fmt: skip
        response = central.call(method, path, central.admin, json=body)
        problem = assert_problem(response, 422, "server_id")
        assert "caching DNS server (Unbound)" in problem["detail"], problem
        assert f"/api/v1/caching/servers/{sid}/settings" in problem["hint"], problem
    assert central.history_total() == history
    dns = _server(central, "dns")
    problem = assert_problem(central.get(f"/api/v1/caching/servers/{dns['id']}/settings"), 422,
                             "server_id")  # fmt: skip
    assert "not a caching DNS server" in problem["detail"]


def test_bad_settings_are_refused_naming_every_field_before_anything_is_sent(
    central: Api,
) -> None:
    sid = _server(central, "caching")["id"]
    history = central.history_total()
    body = {
        "settings": {
            "forwarders": [{"address": "not-an-address"}],
            "local_zones": [{"name": "lan.example", "records": ["www.other.example A 10.0.0.1"]}],
            "access": [{"network": "10.0.0.1/8", "action": "allow"}],
            "cache_min_ttl": "60",
        },
        "comment": "bad",
    }
    response = central.call("PUT", f"/api/v1/caching/servers/{sid}/settings", central.admin,
                            json=body)  # fmt: skip
    problem = assert_problem(response, 422)
    fields = [p["field"] for p in problem["problems"]]
    assert fields[0] == "settings.forwarders[0].address", fields
    assert "settings.access[0].network" in fields, fields
    assert "settings.cache_min_ttl" in fields, fields
    assert any(f.startswith("settings.local_zones[0]") for f in fields), fields
    problem = assert_problem(
        central.post(f"/api/v1/caching/servers/{sid}/flush", {"name": "bad..name"}), 422, "name"
    )
    assert central.history_total() == history


def test_a_read_only_user_reads_but_changes_nothing(central: Api) -> None:
    sid = _server(central, "caching")["id"]
    reader = central.make_user("read-only")
    history = central.history_total()
    for method, path, body in [
        ("PUT", f"/api/v1/caching/servers/{sid}/settings", {"settings": {}}),
        ("POST", f"/api/v1/caching/servers/{sid}/flush", {"name": "example.com"}),
    ]:
        problem = assert_problem(central.call(method, path, reader.token, json=body), 403)
        assert "read-only" in problem["detail"]
    assert central.history_total() == history
    # the reader gets past the role check: this server's agent never enrolled (503)
    assert_problem(central.get(f"/api/v1/caching/servers/{sid}/stats", reader.token), 503)
