"""The crash records supervisord writes, fed supervisor's own event objects."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from supervisor import events
from supervisor.states import ProcessStates

from services.common.crash_records import LAST_EXIT, EventRecorder
from services.common.paths import StateRoot
from services.common.supervisord_main import take_state_root


class Logger:
    """What the recorder uses of supervisord's logger."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def warn(self, text: str) -> None:
        self.lines.append(("warn", text))

    def error(self, text: str) -> None:
        self.lines.append(("error", text))


def _root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    for directory in root.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    return root


def _process(name: str, pid: int, how: str | None, logger: Logger, group: str = "") -> Any:
    """A stand-in for supervisord's Subprocess: what the events and the recorder read."""
    config = SimpleNamespace(name=name, options=SimpleNamespace(logger=logger))
    process = SimpleNamespace(
        config=config, pid=pid, group=SimpleNamespace(config=SimpleNamespace(name=group or name))
    )
    if how is not None:
        setattr(process, LAST_EXIT, how)
    return process


def _records(root: StateRoot) -> list[dict[str, Any]]:
    return [json.loads(line) for line in root.service_events.read_text().splitlines()]


def test_unexpected_exit_is_recorded_with_reason_and_count(tmp_path: Path) -> None:
    root = _root(tmp_path)
    logger = Logger()
    recorder = EventRecorder(root)
    for pid in (42, 43):
        process = _process("named", pid, "terminated by SIGKILL", logger)
        recorder.on_event(events.ProcessStateExitedEvent(process, ProcessStates.RUNNING, False))
    records = _records(root)
    assert [r["restarts"] for r in records] == [1, 2]
    assert records[0]["exit"] == "terminated by SIGKILL"
    assert records[0]["program"] == "named" and records[0]["pid"] == 42
    assert records[0]["kind"] == "crash"
    assert logger.lines[-1] == (
        "warn",
        "named crashed: terminated by SIGKILL (restarts so far: 2)",
    )


def test_expected_exit_is_not_a_crash(tmp_path: Path) -> None:
    root = _root(tmp_path)
    process = _process("x", 5, "exit status 0", Logger())
    event = events.ProcessStateExitedEvent(process, ProcessStates.RUNNING, True)
    assert EventRecorder(root).on_event(event) is None
    assert not root.service_events.exists()


def test_other_events_are_not_recorded(tmp_path: Path) -> None:
    root = _root(tmp_path)
    process = _process("x", 5, None, Logger())
    event = events.ProcessStateRunningEvent(process, ProcessStates.STARTING)
    assert EventRecorder(root).on_event(event) is None
    assert not root.service_events.exists()


def test_fatal_is_recorded_and_counts_survive_a_restart_of_supervisord(tmp_path: Path) -> None:
    root = _root(tmp_path)
    logger = Logger()
    process = _process("kea-dhcp6", 9, "exit status 1", logger)
    first = EventRecorder(root)
    first.on_event(events.ProcessStateExitedEvent(process, ProcessStates.RUNNING, False))
    second = EventRecorder(root)  # supervisord itself restarted
    record = second.on_event(events.ProcessStateFatalEvent(process, ProcessStates.BACKOFF))
    assert record is not None
    assert record["kind"] == "fatal" and record["restarts"] == 1 and record["pid"] == 0
    assert record["exit"] == "exit status 1"
    assert logger.lines[-1] == ("warn", "kea-dhcp6 is FATAL: exit status 1 (restarts so far: 1)")


def test_group_member_is_named_with_its_group(tmp_path: Path) -> None:
    root = _root(tmp_path)
    process = _process("worker_0", 7, None, Logger(), group="pool")
    record = EventRecorder(root).on_event(
        events.ProcessStateExitedEvent(process, ProcessStates.RUNNING, False)
    )
    assert record is not None
    assert record["program"] == "pool:worker_0" and record["exit"] == "unknown"


def test_a_record_that_cannot_be_written_does_not_stop_supervisord(tmp_path: Path) -> None:
    root = _root(tmp_path)
    root.service_events.mkdir()  # writing will fail
    logger = Logger()
    recorder = EventRecorder(root)
    for name in ("x", "y"):
        process = _process(name, 1, "exit status 2", logger)
        assert (
            recorder.on_event(events.ProcessStateFatalEvent(process, ProcessStates.BACKOFF)) is None
        )
    assert [level for level, _text in logger.lines] == ["error", "error"]
    assert "could not record that y stopped" in logger.lines[-1][1]


def test_state_root_option_is_taken_before_supervisords_own() -> None:
    args = ["--state-root", "/srv/a", "-n", "-c", "/srv/a/etc/burrow/supervisord.conf"]
    assert take_state_root(args) == "/srv/a"
    assert args == ["-n", "-c", "/srv/a/etc/burrow/supervisord.conf"]
    args = ["-n", "-c", "x.conf"]
    assert take_state_root(args) is None and args == ["-n", "-c", "x.conf"]
