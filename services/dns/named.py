"""named's control side: rndc commands and the configuration and zone checkers.

A wrapper object per running daemon, as BIND's own system tests have: every call goes through
``services.common.proc.run`` (logged, bounded) and a failure becomes a ``DaemonError`` that
says in plain words what failed, or, for a check of what a user gave, a ``ZoneCheckError``
carrying named-checkzone's lines for the caller to explain record by record
(``services.dns.refusal``). The log watcher reads what named wrote to its log since a point,
as BIND's system tests wait for a line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from services.common.errors import DaemonError, ValidationError
from services.common.paths import StateRoot
from services.common.proc import CommandError, run

log = logging.getLogger(__name__)


def _last_lines(output: str, count: int = 3) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or "no output"


def rndc_words(args: tuple[str, ...], output: str) -> str:
    """Why an rndc command failed, in plain words first and rndc's own after."""
    said = _last_lines(output)
    lower = output.lower()
    command = f"rndc {' '.join(args)}"
    if "connection refused" in lower:
        return (
            f"named's control channel (rndc, 127.0.0.1:953) refused the connection: named is "
            f"not running or still starting ({command}: {said})"
        )
    if "timed out" in lower:
        return f"named's control channel (rndc) did not answer in time ({command}: {said})"
    if "not found" in lower or "no matching zone" in lower:
        return f"named has no such zone loaded ({command}: {said})"
    return f"{command} failed: {said}"


class ZoneCheckError(ValidationError):
    """named-checkzone refused a zone file; ``lines`` is what it said."""

    def __init__(self, message: str, lines: list[str], *, field: str) -> None:
        super().__init__(message, field=field)
        self.lines = lines


class Named:
    """The named of one state root, driven through rndc on 127.0.0.1:953."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root

    @property
    def log_file(self) -> Path:
        """named's log (its standard error, written by supervisord)."""
        return self.root.logs / "named.log"

    def log_offset(self) -> int:
        """Where named's log ends now, for ``log_since``."""
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def log_since(
        self, offset: int, done: Callable[[list[str]], bool], *, timeout: float = 2.0
    ) -> list[str]:
        """named's log lines written after ``offset``, once ``done(lines)`` holds or after
        ``timeout`` seconds (named writes a line before it answers; supervisord copies it to
        the file a moment later)."""
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        while True:
            try:
                with self.log_file.open("rb") as fh:
                    fh.seek(offset)
                    lines = fh.read(1 << 20).decode(errors="replace").splitlines()
            except OSError:
                return []
            if done(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def rndc(self, *args: str, timeout: float = 30.0) -> str:
        try:
            return run(["rndc", "-c", str(self.root.rndc_conf), *args], timeout=timeout).stdout
        except CommandError as exc:
            raise DaemonError(
                rndc_words(args, exc.output),
                hint="supervisord restarts named if it stopped; try again in a few seconds, "
                "and see named's log if it stays down",
            ) from exc

    def up(self) -> bool:
        try:
            self.rndc("status", timeout=5)
        except DaemonError:
            return False
        return True

    def wait_up(self, timeout: float = 15.0) -> bool:
        """Wait until named answers rndc (after a crash supervisord restarts it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.up():
                return True
            time.sleep(0.1)
        return False

    def reconfig(self) -> None:
        self.rndc("reconfig", timeout=120)

    def check_conf(self, conf: Path) -> None:
        """named-checkconf: a configuration named would refuse is bad input."""
        proc = run(["named-checkconf", str(conf)], check=False, timeout=60)
        if proc.returncode != 0:
            raise ValidationError(
                "named would not take the configuration this change makes; nothing was changed "
                f"(named-checkconf: {_last_lines(proc.stdout)})",
                field="body",
            )

    def check_zone(
        self, origin: str, zone_file: Path, field: str = "records", *, strict: bool = False
    ) -> None:
        """named-checkzone: a zone named would refuse to load is bad input
        (``ZoneCheckError`` with what named-checkzone said). ``strict``: host-name checks as
        named makes them in a zone with strict host names (``check-names fail``)."""
        names = "fail" if strict else "ignore"
        proc = run(
            # -i local: integrity checks of in-zone names only (no lookups out of the
            # appliance); -k: host-name checks as the zone's check-names.
            ["named-checkzone", "-q", "-i", "local", "-k", names, origin, str(zone_file)],
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            proc = run(
                ["named-checkzone", "-i", "local", "-k", names, origin, str(zone_file)],
                check=False,
                timeout=300,
            )
            lines = [line for line in proc.stdout.splitlines() if line.strip()]
            raise ZoneCheckError(
                f"named would not load zone {origin}: {_last_lines(proc.stdout, 4)}",
                lines,
                field=field,
            )
