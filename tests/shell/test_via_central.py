"""The diag user's credentials are set through Central's API, and the real ssh client uses them."""

from __future__ import annotations

from pathlib import Path

from services.sandbox.sandbox import Sandbox
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for
from tests.shell.client import Diag, make_key


def _appliance_id(box: Sandbox, token: str) -> int:
    servers = box.https(1231, "/api/v1/servers?filter=local:true", token=token).json()["items"]
    return int(next(s["id"] for s in servers if s["kind"] == "appliance"))


def test_key_set_through_central_lets_diag_in(sandbox: Sandbox, tmp_path: Path) -> None:
    box = sandbox
    token = box.central_token()
    server = _appliance_id(box, token)
    key = make_key(tmp_path)
    client = Diag(box, key)
    assert client.run("uptime").rc != 0  # no credentials yet: refused

    public = key.with_suffix(".pub").read_text().strip()
    answer = box.https(
        1231, f"/api/v1/servers/{server}/diag-shell", method="PUT", token=token, timeout=10,
        json_body={"authorized_keys": [public], "password": "a long enough secret",
                   "comment": "give the on-call engineer shell access"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view == {
        "user": "diag", "password_set": True, "authorized_keys": [" ".join(public.split())],
        "idle_timeout": view["idle_timeout"],
    }  # fmt: skip
    assert "secret" not in box.root.etc.joinpath("diag-shell.json").read_text()

    result = wait_for(lambda: (r := client.run("uptime")).rc == 0 and r, timeout=20)
    assert "load" in result.out

    history = box.https(
        1231, "/api/v1/history?filter=object_type:diag-shell&sort=-id", token=token
    ).json()["items"]
    assert history[0]["comment"] == "give the on-call engineer shell access"
    assert history[0]["after"]["password_changed"] is True
    assert "secret" not in str(history[0])


def test_bad_key_is_refused_naming_the_field_and_changes_nothing(sandbox: Sandbox) -> None:
    box = sandbox
    token = box.central_token()
    server = _appliance_id(box, token)
    url = f"/api/v1/servers/{server}/diag-shell"
    before = box.https(1231, url, token=token, timeout=10).json()
    answer = box.https(
        1231, url, method="PUT", token=token, timeout=10,
        json_body={"authorized_keys": ["ssh-ed25519 not-a-key-at-all"]},
    )  # fmt: skip
    assert_problem(answer, 422, "authorized_keys")  # the agent's refusal, passed on as it is
    short = box.https(
        1231, url, method="PUT", token=token, timeout=10, json_body={"password": "short"}
    )  # fmt: skip
    assert_problem(short, 422, "password")
    number = box.https(
        1231, url, method="PUT", token=token, timeout=10, json_body={"password": 123456789012}
    )  # fmt: skip
    assert_problem(number, 422, "password")  # not coerced to text
    assert box.https(1231, url, token=token, timeout=10).json() == before


def test_only_an_appliance_has_a_diag_shell(sandbox: Sandbox) -> None:
    box = sandbox
    token = box.central_token()
    servers = box.https(1231, "/api/v1/servers?filter=local:true", token=token).json()["items"]
    dns = next(s["id"] for s in servers if s["kind"] == "dns")
    answer = box.https(1231, f"/api/v1/servers/{dns}/diag-shell", token=token, timeout=10)
    assert_problem(answer, 422, "server_id")
    missing = box.https(1231, "/api/v1/servers/999999/diag-shell", token=token, timeout=10)
    assert_problem(missing, 404, "server_id")
