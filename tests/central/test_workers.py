"""Central with two worker processes (``--workers 2``): one port, both serving, one count of
failed logins, and stopped together."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central.conftest import Api, assert_problem
from tests.harness.central import CentralProcess


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def two_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("BURROW_CENTRAL_WORKERS", "2")
    process = CentralProcess()
    try:
        process.start()
        yield Api(process, "sqlite")
    finally:
        process.stop()


def test_both_workers_serve_one_port_and_share_the_lockout(two_workers: Api) -> None:
    central = two_workers
    assert central.process.proc is not None
    workers = _children(central.process.proc.pid)
    assert len(workers) == 2
    # Every request is a new connection: the kernel spreads them over both workers.
    for _ in range(10):
        assert central.get("/api/v1/servers").status_code == 200
    user = central.make_user()
    limit = central.get("/api/v1/settings").json()["login_max_failures"]
    for _ in range(limit):
        response = central.call(
            "POST", "/api/v1/auth/login", json={"username": user.username, "password": "bad"}
        )
        assert response.status_code == 401
    for _ in range(4):  # locked out whichever worker answers
        response = central.call(
            "POST",
            "/api/v1/auth/login",
            json={"username": user.username, "password": user.password},
        )
        assert_problem(response, 429, "username")


def test_a_worker_that_dies_takes_central_down_for_a_restart(two_workers: Api) -> None:
    proc = two_workers.process.proc
    assert proc is not None
    first, second = _children(proc.pid)
    os.kill(second, signal.SIGKILL)
    assert proc.wait(timeout=30) != 0
    assert _gone(first, 5)


def test_sigterm_stops_every_worker(two_workers: Api) -> None:
    proc = two_workers.process.proc
    assert proc is not None
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert all(_gone(pid, 5) for pid in workers)
