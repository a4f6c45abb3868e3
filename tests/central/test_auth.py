"""Logins, sessions, expiry, revocation, the failed-login limit, API tokens, first administrator."""

from __future__ import annotations

import json
import stat
import time

from tests.central.conftest import Api, assert_problem
from tests.harness.central import CentralProcess


def test_health_is_open_and_the_api_needs_a_token(central: Api) -> None:
    assert central.call("GET", "/api/v1/health").status_code == 200
    assert_problem(central.call("GET", "/api/v1/users"), 401)
    assert_problem(central.call("GET", "/api/v1/service-events"), 401)
    response = central.call("GET", "/api/v1/users", "bws_not-a-real-token")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_login_gives_a_working_token_and_logout_revokes_it(central: Api) -> None:
    user = central.make_user("dns-admin")
    me = central.get("/api/v1/me", user.token)
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    assert me.json()["role"] == "dns-admin"
    assert central.call("POST", "/api/v1/auth/logout", user.token).status_code == 204
    assert_problem(central.get("/api/v1/me", user.token), 401)
    change = central.latest_change()
    assert (change["object_type"], change["action"], change["actor"]) == (
        "session", "logout", user.username,
    )  # fmt: skip


def test_wrong_password_is_refused(central: Api) -> None:
    user = central.make_user()
    response = central.call(
        "POST", "/api/v1/auth/login", json={"username": user.username, "password": "wrong-one"}
    )
    assert_problem(response, 401, "password")
    assert "token" not in response.json()
    response = central.call(
        "POST", "/api/v1/auth/login", json={"username": "nobody-here", "password": "whatever"}
    )
    assert_problem(response, 401, "password")


def test_a_session_expires(central: Api) -> None:
    user = central.make_user()
    response = central.call(
        "POST",
        "/api/v1/auth/login",
        json={"username": user.username, "password": user.password, "expires_in": 1},
    )
    token = response.json()["token"]
    assert central.get("/api/v1/me", token).status_code == 200
    time.sleep(1.3)
    body = assert_problem(central.get("/api/v1/me", token), 401)
    assert "expired" in body["detail"]


def test_failed_logins_are_rate_limited(central: Api) -> None:
    user = central.make_user()
    limit = central.get("/api/v1/settings").json()["login_max_failures"]
    for _ in range(limit):
        response = central.call(
            "POST", "/api/v1/auth/login", json={"username": user.username, "password": "bad"}
        )
        assert response.status_code == 401
    # Locked out now, even with the right password.
    response = central.call(
        "POST", "/api/v1/auth/login", json={"username": user.username, "password": user.password}
    )
    assert_problem(response, 429, "username")
    assert int(response.headers["retry-after"]) >= 1
    # Another user is not affected.
    other = central.make_user()
    assert central.process.login(other.username, other.password)


def test_api_tokens_for_scripts(central: Api) -> None:
    user = central.make_user("dhcp-admin")
    response = central.post(
        "/api/v1/api-tokens", {"name": "nightly export", "comment": "for cron"}, user.token
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["token"]
    assert secret.startswith("bwt_") and created["expires_at"] is None
    assert central.get("/api/v1/me", secret).json()["token"] == "api"
    listed = central.get("/api/v1/api-tokens", user.token).json()
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    assert "token" not in listed["items"][0]
    # A token dies with its revocation.
    response = central.delete(f"/api/v1/api-tokens/{created['id']}?comment=rotated", user.token)
    assert response.status_code == 204
    assert_problem(central.get("/api/v1/me", secret), 401)
    change = central.latest_change()
    assert (change["object_type"], change["action"], change["comment"]) == (
        "api-token", "revoke", "rotated",
    )  # fmt: skip


def test_an_administrator_makes_tokens_for_a_read_only_script(central: Api) -> None:
    reader = central.make_user("read-only")
    response = central.post("/api/v1/api-tokens", {"name": "monitoring", "user_id": reader.id,
                                                   "expires_in_days": 30})  # fmt: skip
    assert response.status_code == 201
    token = response.json()["token"]
    assert central.get("/api/v1/me", token).json()["username"] == reader.username
    assert_problem(central.post("/api/v1/users", {}, token), 403)


def test_password_change_logs_out_other_sessions(central: Api) -> None:
    user = central.make_user("dns-admin")
    second = central.process.login(user.username, user.password)
    response = central.post(
        "/api/v1/me/password",
        {"current_password": user.password, "new_password": "a-new-long-password"},
        user.token,
    )
    assert response.status_code == 204, response.text
    assert central.get("/api/v1/me", user.token).status_code == 200
    assert_problem(central.get("/api/v1/me", second), 401)
    assert central.process.login(user.username, "a-new-long-password")
    bad = central.post(
        "/api/v1/me/password",
        {"current_password": "not-it", "new_password": "another-long-password"},
        user.token,
    )
    assert_problem(bad, 422, "current_password")


def test_first_administrator_is_generated_and_shown_once(central: Api) -> None:
    secret = central.process.root.secrets / "initial-admin-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    first = central.get("/api/v1/history?filter=object_type:user object_id:1").json()
    assert first["items"][-1]["comment"] == "generated at first start"


def test_first_administrator_from_first_boot_configuration() -> None:
    process = CentralProcess(first_admin={"username": "root-ops", "password": "given-at-boot-1"})
    try:
        process.start()
        assert not (process.root.etc / "first-admin.json").exists()
        assert not (process.root.secrets / "initial-admin-password").exists()
        token = process.login("root-ops", "given-at-boot-1")
        assert process.get("/api/v1/me", token).json()["role"] == "administrator"
        # The generated-password path is not taken, and there is no default password.
        response = process.request(
            "POST", "/api/v1/auth/login", json={"username": "admin", "password": "admin"}
        )
        assert response.status_code == 401
    finally:
        process.stop()


def test_a_too_short_first_boot_password_stops_central() -> None:
    process = CentralProcess(first_admin={"username": "x", "password": "short"})
    try:
        try:
            process.start(timeout=30)
        except RuntimeError as exc:
            assert "shorter than 12" in str(exc)
        else:
            raise AssertionError("Central started with a 5-character administrator password")
        assert json.loads((process.root.etc / "first-admin.json").read_text())["username"] == "x"
    finally:
        process.stop()
