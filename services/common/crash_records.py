"""Crash records: supervisord itself writes down every crash and every FATAL.

supervisord sends PROCESS_STATE_EXITED and PROCESS_STATE_FATAL events (supervisor manual,
"Events"). An exit that was not expected is a crash; FATAL means supervisord gave up after
``startretries``. Each is written as one JSON line to ``var/lib/burrow/service-events.jsonl``
(where Central and the monitor read it) and as a line in supervisord's log.

The events are taken inside supervisord's own process (``services.common.supervisord_main``
calls :func:`install`), not by an event-listener program: such a program is one more Python
interpreter resident for the appliance's whole life (some 8 MB of memory) for an event that
is rare. The record is written before supervisord restarts the program, with an fsync, so a
crash of the whole appliance right after does not lose it.

The event does not carry the wait status: :func:`install` wraps supervisord's reaping of a
child (``Subprocess.finish``) to keep how the child ended (``terminated by SIGKILL``, ``exit
status 1``), which a later FATAL reports too.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from typing import Any

from services.common.paths import StateRoot

#: The attribute on supervisord's process object that holds how it last ended.
LAST_EXIT = "burrow_last_exit"


def restart_counts(root: StateRoot) -> dict[str, int]:
    """Each program's restarts after a crash, as its newest crash record counts them (none
    when there are no records yet, or they cannot be read)."""
    counts: dict[str, int] = {}
    try:
        with root.service_events.open() as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("kind") == "crash":
                    counts[str(record.get("program"))] = int(record.get("restarts", 0))
    except OSError:
        pass
    return counts


class EventRecorder:
    """Turns supervisord's process-state events into service-event records."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        # Restart counts continue across a restart of supervisord.
        self.restarts: Counter[str] = Counter(restart_counts(root))

    def crashed(self, program: str, pid: int, how: str) -> dict[str, Any]:
        """``program`` (process ``pid``) exited when it was not expected to."""
        self.restarts[program] += 1
        return self._write(program, "crash", pid, how)

    def fatal(self, program: str, how: str) -> dict[str, Any]:
        """supervisord gave ``program`` up (FATAL); ``how`` is how it last ended."""
        return self._write(program, "fatal", 0, how)

    def _write(self, program: str, kind: str, pid: int, how: str) -> dict[str, Any]:
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "program": program,
            "kind": kind,
            "pid": pid,
            "exit": how,
            "restarts": self.restarts[program],
        }
        line = json.dumps(record, sort_keys=True) + "\n"
        # One append of a short line is atomic with O_APPEND; fsync so a crash right after
        # does not lose the record.
        fd = os.open(self.root.service_events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def on_event(self, event: Any) -> dict[str, Any] | None:
        """One supervisord event (``supervisor.events.ProcessStateEvent``); the record written,
        if any. Never raises: a record that cannot be written is logged, and supervisord goes
        on restarting the program."""
        from supervisor import events

        process = event.process
        name = process.config.name
        group = process.group.config.name if process.group is not None else name
        program = name if group == name else f"{group}:{name}"
        how = getattr(process, LAST_EXIT, None) or "unknown"
        try:
            if isinstance(event, events.ProcessStateExitedEvent):
                if event.expected:
                    return None
                record = self.crashed(program, int(dict(event.extra_values)["pid"] or 0), how)
            elif isinstance(event, events.ProcessStateFatalEvent):
                record = self.fatal(program, how)
            else:
                return None
        except Exception as exc:  # a record must never stop supervisord
            process.config.options.logger.error(f"could not record that {program} stopped: {exc!r}")
            return None
        process.config.options.logger.warn(
            f"{program} {'crashed' if record['kind'] == 'crash' else 'is FATAL'}: "
            f"{record['exit']} (restarts so far: {record['restarts']})"
        )
        return record


def install(recorder: EventRecorder) -> None:
    """Make supervisord (about to run in this process) record crashes and FATALs."""
    from supervisor import events, process, supervisord
    from supervisor.options import decode_wait_status

    finish = process.Subprocess.finish

    def finish_remembering_how(self: Any, pid: int, sts: int) -> Any:
        setattr(self, LAST_EXIT, decode_wait_status(sts)[1])
        return finish(self, pid, sts)

    process.Subprocess.finish = finish_remembering_how

    # supervisord clears every subscription when it (re)starts its main loop: subscribe once
    # it has, before its first program is started.
    runforever = supervisord.Supervisor.runforever

    def runforever_recording(self: Any) -> Any:
        events.subscribe(events.ProcessStateExitedEvent, recorder.on_event)
        events.subscribe(events.ProcessStateFatalEvent, recorder.on_event)
        return runforever(self)

    supervisord.Supervisor.runforever = runforever_recording
