"""Programs started at a lower priority come back to 0, every thread, once they serve; the
others are left alone (services.common.priority)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    niced = {name for name, p in programs.items() if p.command.startswith("nice -n 10 ")}
    assert niced == set(START_NICED)
    assert {"central", "webui", "named"}.isdisjoint(niced)
    for name in niced:
        assert f'{priority.ENV}="1"' in programs[name].environment
