"""Stored SNMP profiles and discovery schedules through Central's API on SQLite and
PostgreSQL: problems naming each wrong field with nothing written, secrets never answered nor
kept in the history or the log (the history says which changed), schedules' rules, and
what a profile or a range in use refuses. Runs against real routers are in tests/ipam."""

from __future__ import annotations

import json

from tests.central.conftest import Api, assert_problem

IPAM = "/api/v1/ipam"
COMMUNITY = "c0mmunity-d-secret"
AUTH = "auth-d-secret-passphrase"
PRIV = "priv-d-secret-passphrase"
NEW_PRIV = "priv-d-secret-changed"


def _fields(response: object) -> set[str]:
    return {p["field"] for p in response.json()["problems"]}  # type: ignore[attr-defined]


def test_profiles_keep_their_secrets_write_only(central: Api) -> None:
    before = central.history_total()
    # every missing field of a version named at once, nothing written
    bad = central.post(f"{IPAM}/snmp-profiles", {"name": "core-d", "version": "3"})
    assert_problem(bad, 422, "user")
    assert _fields(bad) == {"user", "auth_passphrase", "priv_passphrase"}
    assert_problem(central.post(f"{IPAM}/snmp-profiles", {"name": "edge-d", "version": "2c"}),
                   422, "community")  # fmt: skip
    short = {"name": "core-d", "version": "3", "user": "u", "auth_passphrase": "short",
             "priv_passphrase": PRIV}  # fmt: skip
    assert_problem(central.post(f"{IPAM}/snmp-profiles", short), 422, "auth_passphrase")
    wrong = {**short, "auth_passphrase": AUTH, "auth_protocol": "md5"}
    assert_problem(central.post(f"{IPAM}/snmp-profiles", wrong), 422, "auth_protocol")
    mixed = central.post(
        f"{IPAM}/snmp-profiles",
        {"name": "edge-d", "version": "2c", "community": COMMUNITY, "user": "ops"},
    )
    assert _fields(mixed) == {"user"}, mixed.text
    assert central.history_total() == before

    v3 = {"name": "core-d", "version": "3", "user": "ops", "auth_protocol": "sha512",
          "auth_passphrase": AUTH, "priv_protocol": "aes256", "priv_passphrase": PRIV,
          "comment": "core realm"}  # fmt: skip
    made = central.post(f"{IPAM}/snmp-profiles", v3)
    assert made.status_code == 201, made.text
    profile = made.json()
    v2c = central.post(f"{IPAM}/snmp-profiles", {"name": "edge-d", "version": "2c",
                                                 "community": COMMUNITY}).json()  # fmt: skip
    try:
        assert profile["auth_passphrase_set"] and profile["priv_passphrase_set"]
        assert not profile["community_set"] and profile["auth_protocol"] == "sha512"
        assert_problem(central.post(f"{IPAM}/snmp-profiles", {**v3, "user": "other"}), 422,
                       "name")  # fmt: skip
        path = f"{IPAM}/snmp-profiles/{profile['id']}"
        assert_problem(central.patch(path, {"priv_passphrase": "x"}), 422, "priv_passphrase")
        assert_problem(central.patch(path, {"name": "edge-d"}), 422, "name")
        assert_problem(central.patch(path, {"version": "1"}), 422, "community")
        assert central.get(path).json()["version"] == "3"  # nothing half-applied

        changed = central.patch(path, {"priv_passphrase": NEW_PRIV, "comment": "rotated"})
        assert changed.status_code == 200, changed.text
        entry = central.latest_change()
        assert (entry["object_type"], entry["action"]) == ("ipam-snmp-profile", "update")
        assert entry["after"]["secrets_changed"] == ["priv_passphrase"]
        central.patch(path, {"description": "no secret changed"})
        assert "secrets_changed" not in central.latest_change()["after"]

        listed = central.get(f"{IPAM}/snmp-profiles?filter=name~-d").text
        history = central.get("/api/v1/history?filter=object_type:ipam-snmp-profile&limit=100")
        log = (central.process.root.logs / "central.log").read_text(errors="replace")
        for text in (
            listed,
            central.get(path).text,
            history.text,
            log,
            json.dumps(central.get(f"{IPAM}/snmp-profiles/{v2c['id']}").json()),
        ):
            for secret in (COMMUNITY, AUTH, PRIV, NEW_PRIV):
                assert secret not in text
        actions = [h["action"] for h in history.json()["items"]
                   if h["object_id"] == str(profile["id"])]  # fmt: skip
        assert actions[-1] == "create" and "update" in actions
    finally:
        for made_id in (profile["id"], v2c["id"]):
            central.delete(f"{IPAM}/snmp-profiles/{made_id}")


def test_schedules_are_checked_and_hold_what_they_use(central: Api) -> None:
    profile = central.post(f"{IPAM}/snmp-profiles", {"name": "sched-d", "version": "2c",
                                                     "community": COMMUNITY}).json()  # fmt: skip
    rng = central.post(f"{IPAM}/ranges", {"start": "10.77.0.1", "end": "10.77.0.30"}).json()
    v6 = central.post(f"{IPAM}/ranges", {"start": "2001:db8:77::1", "end": "2001:db8:77::9"})
    v6_range = v6.json()
    made: list[int] = []
    try:
        before = central.history_total()
        base = f"{IPAM}/discovery/schedules"
        cases = [
            ({"name": "r", "kind": "router", "interval_seconds": 600}, {"router", "profile_id"}),
            ({"name": "r", "kind": "router", "router": "core", "profile_id": profile["id"],
              "interval_seconds": 600}, {"router"}),
            ({"name": "r", "kind": "router", "router": "10.77.0.1", "profile_id": 2**31 - 1,
              "range_id": rng["id"], "interval_seconds": 600}, {"profile_id", "range_id"}),
            ({"name": "s", "kind": "sweep", "interval_seconds": 600}, {"range_id"}),
            ({"name": "s", "kind": "sweep", "range_id": v6_range["id"],
              "interval_seconds": 600}, {"range_id"}),
            ({"name": "s", "kind": "sweep", "range_id": rng["id"], "interval_seconds": 5},
             {"interval_seconds"}),
            ({"name": "s", "kind": "ping", "range_id": rng["id"], "interval_seconds": 600},
             {"kind"}),
        ]  # fmt: skip
        for body, fields in cases:
            answer = central.post(base, body)
            assert_problem(answer, 422)
            assert _fields(answer) == fields, (body, answer.text)
        assert central.history_total() == before

        router = central.post(base, {"name": "core-d", "kind": "router", "router": "10.77.0.1",
                                     "profile_id": profile["id"], "interval_seconds": 900,
                                     "enabled": False, "comment": "core"})  # fmt: skip
        assert router.status_code == 201, router.text
        made.append(router.json()["id"])
        shown = router.json()
        assert shown["last_result"] == "" and shown["next_run_at"] is None  # disabled
        sweep = central.post(
            base,
            {
                "name": "lab-d",
                "kind": "sweep",
                "range_id": rng["id"],
                "rate": 50,
                "interval_seconds": 600,
                "enabled": False,
            },
        )
        made.append(sweep.json()["id"])
        entry = central.latest_change()
        assert (entry["object_type"], entry["action"]) == ("ipam-discovery-schedule", "create")

        path = f"{base}/{made[0]}"
        assert_problem(central.patch(path, {"router": "not-an-address"}), 422, "router")
        assert_problem(central.patch(path, {"name": "lab-d"}), 422, "name")
        assert central.get(path).json()["router"] == "10.77.0.1"
        changed = central.patch(path, {"interval_seconds": 1200, "comment": "slower"}).json()
        assert changed["interval_seconds"] == 1200
        entry = central.latest_change()
        assert (entry["before"]["interval_seconds"], entry["after"]["interval_seconds"]) == (
            900, 1200)  # fmt: skip
        kinds = central.get(f"{base}?filter=kind:sweep").json()["items"]
        assert [s["name"] for s in kinds if s["name"].endswith("-d")] == ["lab-d"]

        # what a schedule uses cannot go from under it
        assert_problem(central.delete(f"{IPAM}/snmp-profiles/{profile['id']}"), 409,
                       "profile_id")  # fmt: skip
        assert_problem(central.delete(f"{IPAM}/ranges/{rng['id']}"), 409, "range_id")
        assert central.delete(f"{base}/{made.pop()}").status_code == 204
        assert central.latest_change()["action"] == "delete"
        reader = central.make_user("read-only")
        assert central.get(path, reader.token).status_code == 200
        assert_problem(central.post(f"{path}/run", {}, reader.token), 403)
    finally:
        for schedule_id in made:
            central.delete(f"{IPAM}/discovery/schedules/{schedule_id}")
        central.delete(f"{IPAM}/snmp-profiles/{profile['id']}")
        central.delete(f"{IPAM}/ranges/{rng['id']}")
        central.delete(f"{IPAM}/ranges/{v6_range['id']}")


def test_the_ping_check_passes_over_what_answers(central: Api) -> None:
    """Loopback answers every ping of 127.0.0.0/8 (Central runs as root here, as on the
    appliance): each candidate is passed over and kept as discovered."""
    rng = central.post(f"{IPAM}/ranges", {"start": "127.0.0.1", "end": "127.0.0.3"}).json()
    v6 = central.post(f"{IPAM}/ranges", {"start": "2001:db8:78::1", "end": "2001:db8:78::9"})
    base = f"{IPAM}/ranges/{rng['id']}"
    try:
        plain = central.get(f"{base}/next-free-address").json()
        assert (plain["address"], plain["skipped"]) == ("127.0.0.1", [])
        assert_problem(central.get(f"{base}/next-free-address?ping=true&ping_timeout=9"), 422,
                       "ping_timeout")  # fmt: skip
        assert_problem(central.get(f"{IPAM}/ranges/{v6.json()['id']}/next-free-address"
                                   "?ping=true"), 422, "ping")  # fmt: skip
        before = central.history_total()
        answer = central.post(f"{base}/next-free-address?claim=true", {"ping": True})
        assert answer.status_code == 200, answer.text
        looked = answer.json()
        assert looked["skipped"] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"], looked
        assert (looked["address"], looked["claimed"]) == (None, False)
        assert central.history_total() == before  # nothing claimed
        seen = central.get(f"{IPAM}/discovery/seen?filter=address~127.0.0.&limit=10").json()
        assert [(s["address"], s["seen_by"]) for s in seen["items"]] == [
            ("127.0.0.1", "ping"), ("127.0.0.2", "ping"), ("127.0.0.3", "ping")]  # fmt: skip
        # kept: next free passes over them from now on, without a ping
        assert central.get(f"{base}/next-free-address").json()["address"] is None
    finally:
        central.delete(base)
        central.delete(f"{IPAM}/ranges/{v6.json()['id']}")
