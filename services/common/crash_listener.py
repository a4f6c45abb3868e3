"""crash-listener: a supervisord event listener that records every crash and every FATAL.

supervisord sends PROCESS_STATE_EXITED and PROCESS_STATE_FATAL events (supervisor manual,
"Events"). An exit that was not expected is a crash; FATAL means supervisord gave up after
``startretries``. Each is written as one JSON line to ``var/lib/burrow/service-events.jsonl``
(where Central reads it) and to this program's log.

The event does not carry the wait status, so the exit status or signal is taken from
supervisord's own log line ``exited: NAME (terminated by SIGKILL; not expected)``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from services.common.paths import StateRoot

log = logging.getLogger("crash-listener")

_EXIT_LINE = re.compile(r"exited: (?P<name>\S+) \((?P<how>[^;)]+)")


def parse_header(line: str) -> dict[str, str]:
    """Split a ``key:value key:value`` header or payload line."""
    return dict(item.split(":", 1) for item in line.split() if ":" in item)


def exit_reason(supervisord_log: Path, name: str) -> str:
    """How ``name`` last exited, from supervisord's log (e.g. ``terminated by SIGKILL``)."""
    try:
        with supervisord_log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 65536))
            tail = fh.read().decode(errors="replace")
    except OSError:
        return "unknown"
    for line in reversed(tail.splitlines()):
        match = _EXIT_LINE.search(line)
        if match and match.group("name") == name:
            return match.group("how")
    return "unknown"


class EventRecorder:
    """Turns supervisord events into service-event records."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        self.restarts: Counter[str] = Counter()
        self._load_counts()

    def _load_counts(self) -> None:
        # Restart counts continue across a restart of the listener itself.
        try:
            with self.root.service_events.open() as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if record.get("kind") == "crash":
                        self.restarts[record["program"]] = int(record.get("restarts", 0))
        except OSError:  # no events yet, or unreadable: start counting from zero
            pass

    def handle(self, headers: dict[str, str], payload: str) -> dict[str, Any] | None:
        event = headers.get("eventname", "")
        body = parse_header(payload.splitlines()[0] if payload else "")
        name = body.get("processname", "?")
        group = body.get("groupname", name)
        program = name if group == name else f"{group}:{name}"
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        if event == "PROCESS_STATE_EXITED":
            if body.get("expected") == "1":
                return None
            self.restarts[program] += 1
            record = {
                "time": now,
                "program": program,
                "kind": "crash",
                "pid": int(body.get("pid", 0) or 0),
                "exit": exit_reason(self.root.logs / "supervisord.log", name),
                "restarts": self.restarts[program],
            }
        elif event == "PROCESS_STATE_FATAL":
            record = {
                "time": now,
                "program": program,
                "kind": "fatal",
                "pid": 0,
                "exit": exit_reason(self.root.logs / "supervisord.log", name),
                "restarts": self.restarts[program],
            }
        else:
            return None
        self.write(record)
        return record

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        # One append of a short line is atomic with O_APPEND; fsync so a crash right after
        # does not lose the record.
        fd = os.open(self.root.service_events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        log.warning(
            "%s %s: %s (restarts so far: %d)",
            record["program"],
            "crashed" if record["kind"] == "crash" else "is FATAL",
            record["exit"],
            record["restarts"],
        )


def serve(recorder: EventRecorder, stdin: TextIO, stdout: TextIO) -> None:
    """The event listener protocol: READY, header, payload, RESULT."""
    while True:
        stdout.write("READY\n")
        stdout.flush()
        header_line = stdin.readline()
        if not header_line:
            return
        headers = parse_header(header_line)
        payload = stdin.read(int(headers.get("len", "0")))
        try:
            recorder.handle(headers, payload)
        except Exception:  # a bad event must never stop the listener
            log.exception("could not record event %s", headers.get("eventname"))
        stdout.write("RESULT 2\nOK")
        stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crash-listener")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    serve(EventRecorder(StateRoot.at(args.root)), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
