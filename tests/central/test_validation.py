"""Bad input: problem JSON naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.central.conftest import Api, assert_problem

BAD_USERS: list[tuple[dict[str, Any], str]] = [
    ({"username": 42, "role": "read-only", "password": "long-enough-pw"}, "username"),
    ({"username": "ok", "role": "read-only", "password": "long-enough-pw", "x": 1}, "x"),
    ({"username": "a" * 65, "role": "read-only", "password": "long-enough-pw"}, "username"),
    ({"username": "ok", "role": "root", "password": "long-enough-pw"}, "role"),
    ({"username": "ok", "role": "read-only", "password": "short"}, "password"),
    ({"username": "ok", "role": "read-only", "password": "p" * 257}, "password"),
    ({"username": "ok", "role": "read-only", "password": "long-enough-pw", "enabled": "yes"},
     "enabled"),
    ({"username": "ok", "role": "read-only", "password": "long-enough-pw", "comment": "c" * 1001},
     "comment"),
    ({"username": "Bad Name", "role": "read-only", "password": "long-enough-pw"}, "username"),
    ({"role": "read-only", "password": "long-enough-pw"}, "username"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), BAD_USERS)
def test_bad_user_is_refused_and_nothing_written(
    central: Api, body: dict[str, Any], field: str
) -> None:
    users_before = central.get("/api/v1/users?limit=1000").json()
    history_before = central.history_total()
    assert_problem(central.post("/api/v1/users", body), 422, field)
    assert central.get("/api/v1/users?limit=1000").json() == users_before
    assert central.history_total() == history_before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/users/abc", "user_id"),
        ("/api/v1/users/0", "user_id"),
        ("/api/v1/users/-4", "user_id"),
        ("/api/v1/users/99999999999999999999", "user_id"),
        ("/api/v1/servers/1.5", "server_id"),
        ("/api/v1/users?limit=0", "limit"),
        ("/api/v1/users?limit=abc", "limit"),
        ("/api/v1/users?offset=-1", "offset"),
        ("/api/v1/users?sort=" + "x" * 201, "sort"),
    ],
)
def test_invalid_ids_and_list_parameters(central: Api, path: str, field: str) -> None:
    assert_problem(central.get(path), 422, field)


def test_unknown_ids_are_not_found(central: Api) -> None:
    history_before = central.history_total()
    assert_problem(central.get("/api/v1/users/987654"), 404, "user_id")
    assert_problem(central.patch("/api/v1/users/987654", {"display_name": "x"}), 404, "user_id")
    assert_problem(central.delete("/api/v1/servers/987654"), 404, "server_id")
    assert central.history_total() == history_before


def test_bad_updates_change_nothing(central: Api) -> None:
    user = central.make_user("read-only")
    before = central.get(f"/api/v1/users/{user.id}").json()
    history_before = central.history_total()
    for body, field in [
        ({"role": 3}, "role"),
        ({"display_name": "d" * 129}, "display_name"),
        ({"enabled": None}, "enabled"),
        ({"username": "renamed"}, "username"),
        ({"role": "administrator", "password": "short"}, "password"),
    ]:
        assert_problem(central.patch(f"/api/v1/users/{user.id}", body), 422, field)
    assert central.get(f"/api/v1/users/{user.id}").json() == before
    assert central.history_total() == history_before


def test_bad_settings_change_nothing(central: Api) -> None:
    before = central.get("/api/v1/settings").json()
    history_before = central.history_total()
    for body, field in [
        ({"sync_interval_seconds": "60"}, "sync_interval_seconds"),
        ({"sync_interval_seconds": 1}, "sync_interval_seconds"),
        ({"backup_full_time": "25:00"}, "backup_full_time"),
        ({"backup_full_time": "02:30", "nope": True}, "nope"),
        ({"login_max_failures": 5.5}, "login_max_failures"),
    ]:
        assert_problem(central.patch("/api/v1/settings", body), 422, field)
    assert central.get("/api/v1/settings").json() == before
    assert central.history_total() == history_before


def test_bad_servers_change_nothing(central: Api) -> None:
    servers_before = central.get("/api/v1/servers?limit=1000").json()
    history_before = central.history_total()
    for body, field in [
        ({"kind": "ntp", "name": "a", "address": "198.51.100.5"}, "kind"),
        ({"kind": "dns", "name": "a", "address": "not-an-ip"}, "address"),
        ({"kind": "dns", "name": "a", "address": "198.51.100.5", "port": 70000}, "port"),
        ({"kind": "dns", "name": "n" * 129, "address": "198.51.100.5"}, "name"),
    ]:
        assert_problem(central.post("/api/v1/servers", body), 422, field)
    assert central.get("/api/v1/servers?limit=1000").json() == servers_before
    assert central.history_total() == history_before


def test_malformed_json_is_a_problem(central: Api) -> None:
    response = central.call(
        "POST", "/api/v1/users", central.admin, content=b"{not json",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert_problem(response, 422)


def test_duplicate_username_is_a_conflict(central: Api) -> None:
    user = central.make_user()
    history_before = central.history_total()
    response = central.post(
        "/api/v1/users",
        {"username": user.username, "role": "read-only", "password": "long-enough-pw"},
    )
    assert_problem(response, 409, "username")
    assert central.history_total() == history_before


def test_the_last_administrator_stays(central: Api) -> None:
    me = central.get("/api/v1/me").json()
    assert_problem(central.delete(f"/api/v1/users/{me['id']}"), 409, "user_id")
    admins = central.get("/api/v1/users?filter=role:administrator enabled:true").json()
    if admins["total"] == 1:
        response = central.patch(f"/api/v1/users/{me['id']}", {"role": "read-only"})
        assert_problem(response, 409, "role")
