"""What makes the appliance's start quicker: the programs the health does not wait for start
at a lower priority and come back to 0, every thread, once they serve (services.common.
priority); burrow-launch loads its code beside the first boot and waits for its network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common import priority
from services.common.launch import START_NICED, Launcher
from services.common.paths import StateRoot

PROJECT = Path(__file__).resolve().parents[2]

_PROGRAM = """
import json, os, threading
from services.common import priority
stop = threading.Event()
early = threading.Thread(target=stop.wait)  # a thread made while the program loads
early.start()
before = sorted(os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task"))
priority.serving()
after = sorted(os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task"))
stop.set()
print(json.dumps({"before": before, "after": after, "env": os.environ.get(priority.ENV)}))
"""


def _run(env_value: str | None) -> dict[str, list[int] | str | None]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    env.pop(priority.ENV, None)
    if env_value is not None:
        env[priority.ENV] = env_value
    out = subprocess.run(
        ["nice", "-n", str(priority.START_NICE), sys.executable, "-c", _PROGRAM],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, list[int] | str | None] = json.loads(out.stdout)
    return result


def test_a_program_started_niced_is_back_at_priority_0_when_it_serves() -> None:
    assert os.geteuid() == 0, "only root may raise a priority again: run the tests as root"
    result = _run("1")
    assert result["before"] == [priority.START_NICE, priority.START_NICE]
    assert result["after"] == [0, 0]
    assert result["env"] is None, "its own children must not inherit the setting"


def test_a_program_started_niced_without_the_setting_stays_niced() -> None:
    result = _run(None)
    assert result["before"] == result["after"] == [priority.START_NICE, priority.START_NICE]


def test_launch_starts_only_the_programs_health_does_not_wait_for_niced(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    root.appliance_settings.write_text(
        '{"hostname": "burrow", "interface": "lo", "address": "127.0.0.1/8"}'
    )
    programs = {p.name: p for p in Launcher(root, python="python3", pythonpath=None).programs()}
    nice = f"nice -n {priority.START_NICE} "
    niced = {name for name, p in programs.items() if p.command.startswith(nice)}
    assert niced == set(START_NICED)
    assert {"central", "webui", "named"}.isdisjoint(niced)
    for name in niced:
        assert f'{priority.ENV}="1"' in programs[name].environment


def test_launch_waits_until_the_first_boot_has_set_the_network(tmp_path: Path) -> None:
    """burrow.service starts beside burrow-firstboot.service: launch loads its code, then
    waits for the file burrow-firstboot writes once the network is set."""
    import threading

    from services.common.errors import SetupError
    from services.common.launch import wait_for_network

    root = StateRoot.at(tmp_path)
    with pytest.raises(SetupError, match="not set within"):
        wait_for_network(root, 0.3, poll=0.05)
    timer = threading.Timer(0.3, lambda: root.network_ready.parent.mkdir(parents=True)
                            or root.network_ready.write_text(""))  # fmt: skip
    timer.start()
    try:
        waited = wait_for_network(root, 30, poll=0.05)
    finally:
        timer.cancel()
    assert 0.2 < waited < 10
    assert wait_for_network(root, 0) < 0.1  # a restart later in the same boot goes on at once


def test_the_first_boot_tells_launch_when_the_network_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipaddress

    from services.appliance import firstboot

    root = StateRoot.at(tmp_path)
    seen: list[bool] = []

    def fake_network(r: StateRoot, fb: object) -> dict[str, list[ipaddress.IPv4Interface]]:
        seen.append(r.network_ready.exists())
        return {"eth0": [ipaddress.IPv4Interface("198.51.100.5/27")]}

    monkeypatch.setattr(firstboot, "first_interface", lambda: "eth0")
    monkeypatch.setattr(firstboot, "find_seed", lambda: None)
    monkeypatch.setattr(firstboot, "apply_network", fake_network)
    assert firstboot.boot(root, "quiet") == 0
    assert seen == [False], "launch must not go on before the network is set"
    assert root.network_ready.exists()
    assert root.appliance_settings.exists()
