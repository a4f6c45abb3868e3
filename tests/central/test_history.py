"""Every change leaves one history entry: who, when, which object, before, after, comment."""

from __future__ import annotations

import datetime as dt

from tests.central.conftest import Api, assert_problem


def _one_new_change(central: Api, before: int) -> dict[str, object]:
    assert central.history_total() == before + 1
    return central.latest_change()


def test_user_changes_are_recorded(central: Api) -> None:
    start = central.history_total()
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    response = central.post(
        "/api/v1/users",
        {"username": f"hist-{central.backend}", "role": "read-only",
         "password": "a-long-password-1", "comment": "new colleague"},
    )  # fmt: skip
    assert response.status_code == 201
    user_id = response.json()["id"]
    change = _one_new_change(central, start)
    assert change["actor"] == central.admin_name
    assert (change["object_type"], change["object_id"], change["action"]) == (
        "user", str(user_id), "create",
    )  # fmt: skip
    assert change["before"] is None
    assert change["after"]["role"] == "read-only"  # type: ignore[index]
    assert "password" not in str(change["after"])
    assert change["comment"] == "new colleague"
    assert dt.datetime.fromisoformat(str(change["at"])) >= t0

    response = central.patch(f"/api/v1/users/{user_id}", {"role": "dns-admin",
                                                          "comment": "promoted"})  # fmt: skip
    assert response.status_code == 200
    change = _one_new_change(central, start + 1)
    assert change["before"]["role"] == "read-only"  # type: ignore[index]
    assert change["after"]["role"] == "dns-admin"  # type: ignore[index]
    assert change["comment"] == "promoted"

    assert central.delete(f"/api/v1/users/{user_id}?comment=left").status_code == 204
    change = _one_new_change(central, start + 2)
    assert (change["action"], change["after"], change["comment"]) == ("delete", None, "left")

    per_object = central.get(f"/api/v1/history/user/{user_id}").json()
    assert [c["action"] for c in per_object["items"]] == ["delete", "update", "create"]
    assert per_object["total"] == 3


def test_settings_changes_are_recorded(central: Api) -> None:
    start = central.history_total()
    old = central.get("/api/v1/settings").json()
    response = central.patch(
        "/api/v1/settings", {"backup_full_time": "03:15", "comment": "after the batch jobs"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["backup_full_time"] == "03:15"
    assert central.get("/api/v1/settings").json()["backup_full_time"] == "03:15"
    change = _one_new_change(central, start)
    assert (change["object_type"], change["object_id"]) == ("settings", "central")
    assert change["before"]["backup_full_time"] == old["backup_full_time"]  # type: ignore[index]
    assert change["after"]["backup_full_time"] == "03:15"  # type: ignore[index]
    assert change["comment"] == "after the batch jobs"
    central.patch("/api/v1/settings", {"backup_full_time": old["backup_full_time"]})


def test_server_changes_are_recorded(central: Api) -> None:
    start = central.history_total()
    name = f"ns-hist-{central.backend}"
    server = central.post(
        "/api/v1/servers",
        {"kind": "dns", "name": name, "address": "2001:db8::53", "comment": "secondary"},
    ).json()
    assert server["port"] == 1337 and server["state"] == "awaiting-enrolment"
    _one_new_change(central, start)
    central.patch(f"/api/v1/servers/{server['id']}", {"port": 1338})
    assert _one_new_change(central, start + 1)["after"]["port"] == 1338  # type: ignore[index]
    token = central.post(f"/api/v1/servers/{server['id']}/enrolment-token", {}).json()
    change = _one_new_change(central, start + 2)
    assert change["action"] == "enrolment-token"
    assert token["token"] not in str(change), "the secret must not be in the history"
    central.delete(f"/api/v1/servers/{server['id']}")
    assert _one_new_change(central, start + 3)["action"] == "delete"


def test_history_lists_filter_sort_and_page(central: Api) -> None:
    everything = central.get("/api/v1/history?limit=1000").json()
    users = central.get("/api/v1/history?filter=object_type:user&limit=1000").json()
    assert 0 < users["total"] < everything["total"]
    assert {c["object_type"] for c in users["items"]} == {"user"}
    ascending = central.get("/api/v1/history?sort=id&limit=5&offset=2").json()
    ids = [c["id"] for c in ascending["items"]]
    assert ids == sorted(ids) and len(ids) == 5
    assert ascending["total"] == everything["total"]
    assert ascending["offset"] == 2 and ascending["limit"] == 5
    assert_problem(central.get("/api/v1/history?sort=password"), 422, "sort")
    assert_problem(central.get("/api/v1/history?filter=secret:x"), 422, "filter")
    assert_problem(central.get("/api/v1/history/user/not%20an%20id"), 422, "object_id")


def test_history_searches_the_states_and_keeps_logins_apart(central: Api) -> None:
    changes = central.get("/api/v1/history?kind=changes&limit=1000").json()
    logins = central.get("/api/v1/history?kind=logins&limit=1000").json()
    everything = central.get("/api/v1/history?limit=1000").json()
    assert logins["total"] > 0 and changes["total"] > 0
    assert changes["total"] + logins["total"] == everything["total"]
    assert {c["object_type"] for c in logins["items"]} == {"session"}
    assert "session" not in {c["object_type"] for c in changes["items"]}
    # The name of a user is found in the states before and after.
    users = [c for c in changes["items"] if c["object_type"] == "user" and c["after"]]
    name = users[0]["after"]["username"]
    found = central.get(f"/api/v1/history?filter=content~{name}&limit=1000").json()
    assert found["total"] >= 1
    assert all(name in str(c["before"]) + str(c["after"]) for c in found["items"]), found["items"]
    assert central.get(f"/api/v1/history?filter={name}&limit=1000").json()["total"] >= 1
    assert_problem(central.get("/api/v1/history?kind=secrets"), 422, "kind")
