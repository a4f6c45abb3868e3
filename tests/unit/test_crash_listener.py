"""The crash-listener's protocol and records, fed the events supervisord sends."""

from __future__ import annotations

import io
import json
from pathlib import Path

from services.common.crash_listener import EventRecorder, exit_reason, parse_header, serve
from services.common.paths import StateRoot


def _root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    for directory in root.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    return root


def _event(name: str, payload: str) -> str:
    header = (
        f"ver:3.0 server:supervisor serial:1 pool:crash-listener poolserial:1 "
        f"eventname:{name} len:{len(payload)}\n"
    )
    return header + payload


def test_header_parsing() -> None:
    assert parse_header("ver:3.0 eventname:PROCESS_STATE_FATAL len:42") == {
        "ver": "3.0",
        "eventname": "PROCESS_STATE_FATAL",
        "len": "42",
    }


def test_unexpected_exit_is_recorded_with_reason_and_count(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root.logs / "supervisord.log").write_text(
        "2026-01-01 INFO exited: named (exit status 0; expected)\n"
        "2026-01-01 WARN exited: named (terminated by SIGKILL; not expected)\n"
    )
    stream = _event(
        "PROCESS_STATE_EXITED",
        "processname:named groupname:named from_state:RUNNING expected:0 pid:42",
    ) + _event(
        "PROCESS_STATE_EXITED",
        "processname:named groupname:named from_state:RUNNING expected:0 pid:43",
    )
    out = io.StringIO()
    serve(EventRecorder(root), io.StringIO(stream), out)
    records = [json.loads(line) for line in root.service_events.read_text().splitlines()]
    assert [r["restarts"] for r in records] == [1, 2]
    assert records[0]["exit"] == "terminated by SIGKILL"
    assert records[0]["program"] == "named" and records[0]["pid"] == 42
    # The protocol: READY before each event and RESULT 2 OK after it.
    assert out.getvalue().count("READY\n") == 3
    assert out.getvalue().count("RESULT 2\nOK") == 2


def test_expected_exit_is_not_a_crash(tmp_path: Path) -> None:
    root = _root(tmp_path)
    recorder = EventRecorder(root)
    headers = {"eventname": "PROCESS_STATE_EXITED"}
    assert recorder.handle(headers, "processname:x groupname:x expected:1 pid:5") is None
    assert not root.service_events.exists()


def test_fatal_is_recorded_and_counts_survive_a_listener_restart(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root.logs / "supervisord.log").write_text(
        "WARN exited: kea-dhcp6 (exit status 1; not expected)\n"
    )
    first = EventRecorder(root)
    first.handle({"eventname": "PROCESS_STATE_EXITED"}, "processname:kea-dhcp6 expected:0 pid:9")
    second = EventRecorder(root)  # the listener itself restarted
    record = second.handle({"eventname": "PROCESS_STATE_FATAL"}, "processname:kea-dhcp6")
    assert record is not None
    assert record["kind"] == "fatal" and record["restarts"] == 1
    assert record["exit"] == "exit status 1"


def test_exit_reason_without_log(tmp_path: Path) -> None:
    assert exit_reason(tmp_path / "missing.log", "named") == "unknown"


def test_a_bad_event_does_not_stop_the_listener(tmp_path: Path) -> None:
    root = _root(tmp_path)
    root.service_events.mkdir()  # writing will fail
    stream = _event("PROCESS_STATE_FATAL", "processname:x") + _event(
        "PROCESS_STATE_FATAL", "processname:y"
    )
    out = io.StringIO()
    serve(EventRecorder(root), io.StringIO(stream), out)
    assert out.getvalue().count("RESULT 2\nOK") == 2
