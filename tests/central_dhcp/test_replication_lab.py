"""Global client classes on two real Kea servers managed by one Central (a lab).

B's Central manages its own appliance's Kea and, through a second dhcp-agent enrolled at B the
way another appliance's agent is (registered, a one-time token, B's CA), appliance A's Kea. A
global class made, changed and deleted at B is in, changed in and gone from both Keas'
config-get; while A's agent is down the change reaches B's Kea, the API names A as failed, and
A's Kea gets the class at A's next sync.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.common.enrolment import enrolment_token_file
from services.common.paths import StateRoot
from services.sandbox.lab import Lab
from services.sandbox.sandbox import SOURCE_TREE, Sandbox
from tests.backups.appliance import CentralApi
from tests.conftest import open_lab
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

PORT = 4152  # the second agent's port in A's namespace (A's own dhcp-agent keeps 4151)


class RemoteAgent:
    """A dhcp-agent in A's namespace that drives A's Kea and is enrolled at B's Central."""

    def __init__(self, a: Sandbox, b: Sandbox, token: str) -> None:
        self.a, self.b = a, b
        self.root = StateRoot.at(Path(tempfile.mkdtemp(prefix="bw-remote-agent-")))
        for directory in (self.root.pki / "ca", self.root.secrets, self.root.logs, self.root.etc):
            directory.mkdir(parents=True, exist_ok=True)
        shutil.copy(b.root.pki / "ca/ca.crt", self.root.pki / "ca/ca.crt")
        enrolment_token_file(self.root, "dhcp-agent").write_text(token + "\n")
        self.root.kea_run.parent.mkdir(parents=True, exist_ok=True)
        self.root.kea_run.symlink_to(a.root.kea_run)  # A's Kea control sockets
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.root.logs / "dhcp-agent.log").open("ab")
        with log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.a.ns, sys.executable, "-m", "services.dhcp",
                 "--root", str(self.root.root), "--port", str(PORT),
                 "--central", f"https://{self.b.address}:1231"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=SOURCE_TREE, env={**os.environ, "PYTHONPATH": str(SOURCE_TREE)},
            )  # fmt: skip

    def listening(self) -> bool:
        """The agent enrols first, then serves: whether it takes connections yet."""
        try:
            with socket.create_connection((self.a.address, PORT), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root.root, ignore_errors=True)


@pytest.fixture
def two_servers() -> Iterator[tuple[Lab, Sandbox, Sandbox]]:
    with open_lab("dr") as lab:
        a = lab.sandbox("a")
        b = lab.sandbox("b")
        yield lab, a, b


def _classes(box: Sandbox) -> dict[str, dict[str, Any]]:
    answer = box.kea("config-get", "dhcp4")
    assert answer["result"] == 0, answer
    return {c["name"]: c for c in answer["arguments"]["Dhcp4"].get("client-classes", [])}


def test_a_global_class_is_on_both_real_servers(two_servers: tuple[Lab, Sandbox, Sandbox]):
    _lab, a, b = two_servers
    on_b = CentralApi(b)
    own = on_b.local_server("dhcp")
    remote = on_b.post("/api/v1/servers", {"kind": "dhcp", "name": "a-dhcp",
                                          "address": a.address, "port": PORT})  # fmt: skip
    token = on_b.post(f"/api/v1/servers/{remote['id']}/enrolment-token", {})["token"]
    agent = RemoteAgent(a, b, token)
    try:
        agent.start()
        state = lambda: on_b.get(f"/api/v1/servers/{remote['id']}")["state"]  # noqa: E731
        wait_for(lambda: state() in ("enrolled", "reachable") or None, timeout=90,
                 what="A's agent enrolled at B")  # fmt: skip
        wait_for(agent.listening, timeout=60, what="A's agent serving")
        base = f"/api/v1/dhcp/servers/{own}/v4/classes"

        made = on_b.ok(on_b.call("PUT", f"{base}/phones", {
            "name": "phones", "test": "substring(option[60].hex,0,7) == 'Polycom'",
            "global": True, "comment": "every phone, everywhere",
        }))  # fmt: skip
        assert sorted(made["servers"]) == sorted([own, remote["id"]]) and made["failed"] == []
        for box in (a, b):
            assert _classes(box)["phones"]["test"] == "substring(option[60].hex,0,7) == 'Polycom'"

        on_b.ok(on_b.call("PUT", f"{base}/phones", {
            "name": "phones", "test": "substring(option[60].hex,0,4) == 'Yeal'",
            "global": True, "comment": "other phones",
        }))  # fmt: skip
        for box in (a, b):
            assert _classes(box)["phones"]["test"] == "substring(option[60].hex,0,4) == 'Yeal'"

        # A's agent down: B's Kea takes the class, the answer names A, A's Kea is untouched.
        agent.stop()
        late = on_b.ok(on_b.call("PUT", f"{base}/cameras", {
            "name": "cameras", "test": "option[60].text == 'cam'", "global": True,
        }))  # fmt: skip
        assert late["servers"] == [own]
        assert [f["server_id"] for f in late["failed"]] == [remote["id"]]
        assert "cameras" in _classes(b) and "cameras" not in _classes(a)
        # Back: its sync puts the global class it lacks on it.
        agent.start()
        wait_for(
            lambda: on_b.call("POST", f"/api/v1/dhcp/servers/{remote['id']}/sync", {})
            .status_code == 200 or None,
            timeout=60, what="A's agent back and synced",
        )  # fmt: skip
        assert _classes(a)["cameras"]["test"] == "option[60].text == 'cam'"

        for name in ("phones", "cameras"):
            gone = on_b.ok(on_b.call("DELETE", f"{base}/{name}?comment=done", None))
            assert sorted(gone["servers"]) == sorted([own, remote["id"]])
        for box in (a, b):
            assert not {"phones", "cameras"} & set(_classes(box))
        history = on_b.get("/api/v1/history?filter=object_type:dhcp-class&limit=100")["items"]
        assert {h["object_id"].split(":")[0] for h in history} >= {str(own), str(remote["id"])}
    finally:
        agent.close()
