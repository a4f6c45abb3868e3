"""Central's caching routes against a real caching appliance (Unbound, its dns-agent, Central
in the ``caching_sandbox``): a settings change reaches Unbound (a local zone added through
Central is answered by Unbound), a bad change is refused naming the field and changes nothing
(Central's own check, and the dns-agent's passed on with its field),
a flush is done by Unbound and recorded in the history, a read-only user changes nothing, and
the DNS zone routes refuse the caching server.

Each test puts back the settings it changed (the appliance is shared with other tests)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import dns.rcode
import httpx
import pytest

from services.sandbox.sandbox import Sandbox
from tests.harness.problems import assert_problem

pytestmark = pytest.mark.sandbox

ZONE = "central-caching.test."
_names = itertools.count(1)


class Api:
    """The caching appliance's Central, as its first administrator."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.token = box.central_token()

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        return self.box.https(1231, path, 60, method=method, token=token or self.token,
                              json_body=body)  # fmt: skip

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json() if response.content else None

    def server_id(self) -> int:
        found = self.ok(self.call("GET", "/api/v1/servers?filter=kind:caching"))["items"]
        assert len(found) == 1, found
        return int(found[0]["id"])

    def history(self, limit: int = 5) -> list[dict[str, Any]]:
        return list(self.ok(self.call("GET", f"/api/v1/history?limit={limit}"))["items"])

    def history_total(self) -> int:
        return int(self.ok(self.call("GET", "/api/v1/history?limit=1"))["total"])


@pytest.fixture(scope="module")
def api(caching_sandbox: Sandbox) -> Api:
    return Api(caching_sandbox)


@pytest.fixture
def settings(api: Api) -> Iterator[dict[str, Any]]:
    """The settings as they were; put back after the test."""
    path = f"/api/v1/caching/servers/{api.server_id()}/settings"
    before = api.ok(api.call("GET", path))["settings"]
    try:
        yield before
    finally:
        api.ok(api.call("PUT", path, {"settings": before, "comment": "put back by a test"}))


def _answers(box: Sandbox, name: str, rdtype: str = "A") -> list[str]:
    answer = box.dns_query(name, rdtype, timeout=2.0)
    assert answer.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(answer.rcode())
    return [rr.to_text() for rrset in answer.answer for rr in rrset]


def test_a_local_zone_set_through_central_is_answered_by_unbound(
    api: Api, caching_sandbox: Sandbox, settings: dict[str, Any]
) -> None:
    sid = api.server_id()
    path = f"/api/v1/caching/servers/{sid}/settings"
    wanted = settings | {
        "local_zones": [*settings["local_zones"], {
            "name": ZONE, "type": "static",
            "records": [f"www.{ZONE} 300 IN A 10.20.30.40",
                        f'{ZONE} 300 IN TXT "made by Central"'],
        }],
    }  # fmt: skip
    view = api.ok(api.call("PUT", path, {"settings": wanted, "comment": "a local zone"}))
    assert view["server_id"] == sid
    assert f"www.{ZONE} 300 IN A 10.20.30.40" in view["settings"]["local_zones"][-1]["records"]
    assert _answers(caching_sandbox, f"www.{ZONE}") == ["10.20.30.40"]
    assert _answers(caching_sandbox, ZONE, "TXT") == ['"made by Central"']
    assert api.ok(api.call("GET", path))["settings"] == view["settings"]
    (change,) = api.history(1)
    assert (change["object_type"], change["object_id"], change["action"]) == (
        "caching-settings",
        str(sid),
        "update",
    )
    assert change["comment"] == "a local zone"
    assert f"{ZONE} static" in change["after"]["local_zones"]
    assert f"{ZONE} static" not in change["before"]["local_zones"]
    assert f"www.{ZONE} 300 IN A 10.20.30.40" in change["after"]["local_data"]


def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(
    api: Api, caching_sandbox: Sandbox, settings: dict[str, Any]
) -> None:
    path = f"/api/v1/caching/servers/{api.server_id()}/settings"
    history = api.history_total()
    for bad, field in [
        ({"access": [{"network": "10.0.0.1/8", "action": "allow"}]}, "settings.access[0].network"),
        ({"local_zones": [{"name": ZONE, "records": [f"www.{ZONE} A 10.0.0.300"]}]},
         "settings.local_zones[0].records[0]"),
        ({"cache_min_ttl": 7200, "cache_max_ttl": 3600}, "settings.cache_min_ttl"),
        ({"forward_zones": [{"name": "corp.test.", "servers": []}]},
         "settings.forward_zones[0].servers"),
    ]:  # fmt: skip
        response = api.call("PUT", path, {"settings": settings | bad, "comment": "bad"})
        assert_problem(response, 422, field)
    # Refused by the dns-agent (the model takes it): passed on with its field.
    loop = {"forwarders": [{"address": caching_sandbox.address}]}
    response = api.call("PUT", path, {"settings": settings | loop, "comment": "bad"})
    problem = assert_problem(response, 422, "settings.forwarders[0].address")
    assert "Unbound would ask itself" in problem["problems"][0]["message"], problem
    assert api.ok(api.call("GET", path))["settings"] == settings
    assert api.history_total() == history
    assert "is running" in caching_sandbox.unbound_control("status")


def test_a_flush_is_done_by_unbound_and_in_the_history(api: Api, caching_sandbox: Sandbox) -> None:
    sid = api.server_id()
    for body in ({"name": "example.com", "comment": "stale"},
                 {"name": "example.com", "type": "TXT", "negative": True, "comment": "a TXT"},
                 {"name": "example.com", "zone": True, "comment": "stale zone"}):  # fmt: skip
        done = api.ok(api.call("POST", f"/api/v1/caching/servers/{sid}/flush", body))
        assert done["flushed"]["name"] == "example.com."
        assert done["flushed"]["detail"].startswith("ok"), done
        (change,) = api.history(1)
        assert (change["object_type"], change["action"], change["comment"]) == (
            "caching-cache",
            "flush",
            body["comment"],
        )
        assert change["after"]["detail"] == done["flushed"]["detail"]
    assert "example.com." in change["after"]["flushed"]
    assert change["after"]["flushed"].startswith("every name at and below")
    found = api.ok(api.call("GET", f"/api/v1/caching/servers/{sid}/lookup?name=example.com"))
    assert found["lookup"]["name"] == "example.com." and found["lookup"]["lines"], found
    assert_problem(api.call("GET", f"/api/v1/caching/servers/{sid}/lookup?name=a..b"), 422, "name")
    stats = api.ok(api.call("GET", f"/api/v1/caching/servers/{sid}/stats"))
    assert stats["stats"]["queries"] >= 0 and "raw" in stats["stats"]
    problem = assert_problem(
        api.call("POST", f"/api/v1/caching/servers/{sid}/flush", {"name": "a..b"}), 422, "name"
    )
    assert problem["status"] == 422


def test_a_read_only_user_reads_and_changes_nothing(api: Api) -> None:
    sid = api.server_id()
    name = f"cache-reader{next(_names)}"
    password = f"pw-{name}-long-enough"
    body = {"username": name, "role": "read-only", "password": password}
    user = api.ok(api.call("POST", "/api/v1/users", body))
    try:
        token = api.ok(api.call("POST", "/api/v1/auth/login",
                                {"username": name, "password": password}))["token"]  # fmt: skip
        history = api.history_total()
        current = api.ok(api.call("GET", f"/api/v1/caching/servers/{sid}/settings", token=token))
        assert api.ok(api.call("GET", f"/api/v1/caching/servers/{sid}/stats", token=token))
        for method, path, body in [
            ("PUT", f"/api/v1/caching/servers/{sid}/settings", {"settings": current["settings"]}),
            ("POST", f"/api/v1/caching/servers/{sid}/flush", {"name": "example.com"}),
        ]:
            assert_problem(api.call(method, path, body, token=token), 403)
        assert api.history_total() == history
    finally:
        api.ok(api.call("DELETE", f"/api/v1/users/{user['id']}"))


def test_the_dns_zone_routes_refuse_the_caching_server(api: Api) -> None:
    sid = api.server_id()
    history = api.history_total()
    response = api.call("POST", "/api/v1/dns/zones",
                        {"server_id": sid, "name": ZONE, "kind": "primary"})  # fmt: skip
    problem = assert_problem(response, 422, "server_id")
    assert "caching DNS server (Unbound)" in problem["detail"]
    assert f"/api/v1/caching/servers/{sid}/settings" in problem["hint"]
    assert_problem(api.call("GET", f"/api/v1/dns/servers/{sid}/options"), 422, "server_id")
    assert api.ok(api.call("GET", "/api/v1/dns/zones"))["total"] == 0
    assert api.history_total() == history
