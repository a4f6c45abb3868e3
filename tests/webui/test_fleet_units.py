"""The Fleet page against a fake Central: both sides of a fleet, the join code shown once,
Central's refusals of a join at their fields (the code never sent back), the seed's join."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.webui.test_units import FakeCentral, _log_in, _problem, _scenario

FINGERPRINT = ":".join(["AB"] * 32)
MEMBER = {
    "id": 4, "name": "branch", "address": "198.51.100.9", "joined_at": "2026-12-06T10:00:00",
    "servers": [{"id": 11, "kind": "dns", "name": "branch-dns", "state": "reachable",
                 "last_seen": "2026-12-06T10:01:00"},
                {"id": 12, "kind": "dhcp", "name": "branch-dhcp", "state": "unreachable",
                 "last_seen": None}],
}  # fmt: skip
CODE = {
    "id": 2, "code": "bwf_the-one-time-code", "expires_at": "2026-12-06T11:00:00+00:00",
    "central_address": "198.51.100.2", "central_port": 1231, "ca_fingerprint": FINGERPRINT,
}  # fmt: skip


class FleetCentral(FakeCentral):
    def __init__(self, membership: dict[str, Any], members: list[dict[str, Any]]) -> None:
        super().__init__("administrator")
        self.membership = membership
        self.members = members

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if request.method == "GET" and path == "/fleet/membership":
            return httpx.Response(200, json=self.membership)
        if request.method == "GET" and path == "/fleet/members":
            return httpx.Response(200, json={"items": self.members, "total": len(self.members)})
        return super().handler(request)


def test_the_managing_side_lists_members_and_shows_a_join_code_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FleetCentral({"joined": False}, [MEMBER])
    fake.answers["POST", "/fleet/joins"] = httpx.Response(201, json=CODE)

    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        page = await http.get("/fleet")
        assert page.status_code == 200
        assert "branch" in page.text and "198.51.100.9" in page.text
        assert "state-reachable" in page.text and "state-unreachable" in page.text
        assert 'action="/fleet/members/4/remove"' in page.text and "data-confirm=" in page.text
        assert "joins no other" in page.text  # a Central with members joins no fleet
        made = await http.post(
            "/fleet/joins", data={"csrf_token": csrf, "expires_in_seconds": "86400"}
        )
        assert made.status_code == 201
        for shown in (CODE["code"], FINGERPRINT, "198.51.100.2:1231", "2026-12-06 11:00:00"):
            assert shown in made.text
        again = await http.get("/fleet")
        assert CODE["code"] not in again.text
        gone = await http.post("/fleet/members/4/remove", data={"csrf_token": csrf,
                                                                "comment": "retired"})  # fmt: skip
        assert gone.status_code == 303 and gone.headers["location"].startswith("/fleet?done=")

    _scenario(tmp_path, monkeypatch, steps, fake)
    assert ("POST", "/fleet/joins", {"expires_in_seconds": 86400, "comment": ""}) in fake.writes
    assert ("DELETE", "/fleet/members/4", None) in fake.writes


def test_a_refused_join_names_its_fields_and_the_code_is_typed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FleetCentral({"joined": False}, [])
    fake.answers["POST", "/fleet/membership"] = httpx.Response(
        422,
        json=_problem(
            422, "Invalid input.",
            {"field": "ca_fingerprint", "message": "The Central has a CA with another "
             "fingerprint."},
            {"field": "code", "message": "The join code has expired."},
        ),
    )  # fmt: skip

    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        form = {"csrf_token": csrf, "address": "198.51.100.2", "port": "12x",
                "ca_fingerprint": FINGERPRINT, "code": "bwf_typed"}  # fmt: skip
        bad_port = await http.post("/fleet/membership", data=form)
        assert bad_port.status_code == 422
        assert re.search(r'id="e-port"[^>]*>[^<]*not a whole number', bad_port.text)
        assert "bwf_typed" not in bad_port.text
        refused = await http.post("/fleet/membership", data=form | {"port": "1231"})
        assert refused.status_code == 422
        assert re.search(r'id="e-ca_fingerprint"[^>]*>[^<]*another fingerprint', refused.text)
        assert re.search(r'id="e-code"[^>]*>[^<]*expired', refused.text)
        assert "bwf_typed" not in refused.text and 'value="198.51.100.2"' in refused.text

    _scenario(tmp_path, monkeypatch, steps, fake)
    sent = [w for w in fake.writes if w[1] == "/fleet/membership"]
    assert len(sent) == 1 and sent[0][2]["port"] == 1231  # the bad port never went to Central


def test_a_joined_appliance_says_who_manages_it_and_the_seed_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = {"state": "joined", "address": "198.51.100.2", "port": 1231, "attempts": 3,
            "last_error": None}  # fmt: skip
    fake = FleetCentral({"joined": True, "address": "198.51.100.2", "port": 1231,
                         "ca_fingerprint": FINGERPRINT, "member_id": 4,
                         "joined_at": "2026-12-06T10:00:00", "seed_join": seed}, [])  # fmt: skip

    async def steps(http: httpx.AsyncClient) -> None:
        csrf = await _log_in(http)
        page = await http.get("/fleet")
        assert page.status_code == 200
        assert 'href="https://198.51.100.2/"' in page.text and "read-only" in page.text
        assert 'action="/fleet/membership/leave"' in page.text
        assert 'id="join-form"' not in page.text and 'id="code-form"' not in page.text
        assert 'id="seed-state"' in page.text and "after 3 tries" in page.text
        elsewhere = await http.get("/settings")  # every page says it, with the link
        assert 'id="fleet-banner"' in elsewhere.text
        assert 'href="https://198.51.100.2/"' in elsewhere.text
        left = await http.post("/fleet/membership/leave", data={"csrf_token": csrf,
                                                                "force": "yes"})  # fmt: skip
        assert left.status_code == 303
        fake.membership = {"joined": False}
        after = await http.get("/settings")  # asked again at once after a leave
        assert 'id="fleet-banner"' not in after.text

    _scenario(tmp_path, monkeypatch, steps, fake)
    assert ("DELETE", "/fleet/membership", None) in fake.writes
