"""The fleet's routes on one Central (no appliance): join codes and their refusals. The
whole join and leave between two appliances is tests/fleet/test_fleet_lab.py."""

from __future__ import annotations

import sqlalchemy

from tests.central.conftest import Api, assert_problem


def _expire(central: Api, code_id: int) -> None:
    url = central.process.database_url or f"sqlite:///{central.process.root.lib / 'central.db'}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text(
                    "UPDATE fleet_join_codes SET expires_at = '2000-01-01 00:00:00' WHERE id = :id"
                ),
                {"id": code_id},
            )
    finally:
        engine.dispose()


def test_a_join_code_is_shown_once_refused_when_expired_and_bad_input_changes_nothing(
    central: Api,
) -> None:
    ca = central.call("GET", "/api/v1/fleet/ca").json()  # open to everyone
    issued = central.post("/api/v1/fleet/joins", {"expires_in_seconds": 600, "comment": "x"})
    assert issued.status_code == 201, issued.text
    code = issued.json()
    assert code["ca_fingerprint"] == ca["fingerprint"] and code["code"].startswith("bwf_")
    assert central.latest_change()["object_type"] == "fleet-join-code"
    assert code["code"] not in str(central.latest_change())  # stored hashed, never in history

    before = central.history_total()
    redeem = {
        "code": code["code"],
        "name": "other",
        "address": "198.51.100.9",
        "central_ca": ca["certificate"],
        "release_secret": "r" * 40,
        "requests": {"dns": "x", "dhcp": "x"},
    }
    assert_problem(central.call("POST", "/api/v1/fleet/members", json=redeem), 422, "requests")
    unsigned = {**redeem, "requests": {"dns": "x", "dhcp": "x", "appliance": "x"}}
    assert_problem(
        central.call("POST", "/api/v1/fleet/members", json=unsigned), 422, "requests.dns"
    )
    unknown = {**redeem, "code": "bwf_unknown"}
    assert_problem(central.call("POST", "/api/v1/fleet/members", json=unknown), 403, "code")
    _expire(central, code["id"])
    expired = assert_problem(
        central.call("POST", "/api/v1/fleet/members", json=unsigned), 403, "code"
    )
    assert "expired" in expired["detail"]
    assert central.get("/api/v1/fleet/members").json() == {"items": [], "total": 0}
    assert central.history_total() == before

    # This Central is in no fleet: nothing to leave; a join's fields are checked first.
    assert central.get("/api/v1/fleet/membership").json()["joined"] is False
    assert_problem(central.call("DELETE", "/api/v1/fleet/membership", central.admin), 409)
    bad = {"address": "nowhere", "ca_fingerprint": "AB", "code": "c"}
    answer = central.call("POST", "/api/v1/fleet/membership", central.admin, json=bad)
    problem = assert_problem(answer, 422, "address")
    assert {p["field"] for p in problem["problems"]} >= {"address", "ca_fingerprint"}
    assert central.history_total() == before
