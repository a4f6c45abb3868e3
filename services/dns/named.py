"""named's control side: rndc commands and the configuration and zone checkers.

A wrapper object per running daemon, as BIND's own system tests have: every call goes through
``services.common.proc.run`` (logged, bounded) and a failure becomes a ``DaemonError`` or, for
a check of what a user gave, a ``ValidationError`` carrying named's own words.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from services.common.errors import DaemonError, ValidationError
from services.common.paths import StateRoot
from services.common.proc import CommandError, run

log = logging.getLogger(__name__)


def _last_lines(output: str, count: int = 3) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or "no output"


class Named:
    """The named of one state root, driven through rndc on 127.0.0.1:953."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root

    def rndc(self, *args: str, timeout: float = 30.0) -> str:
        try:
            return run(["rndc", "-c", str(self.root.rndc_conf), *args], timeout=timeout).stdout
        except CommandError as exc:
            raise DaemonError(
                f"rndc {' '.join(args)} failed: {_last_lines(exc.output)}",
                hint="see named's log",
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
                f"named-checkconf refused the configuration: {_last_lines(proc.stdout)}"
            )

    def check_zone(self, origin: str, zone_file: Path, field: str = "records") -> None:
        """named-checkzone: a zone named would refuse to load is bad input."""
        proc = run(
            # -i local: integrity checks of in-zone names only (no lookups out of the
            # appliance); -k fail: host-name checks as named applies to primary zones.
            ["named-checkzone", "-q", "-i", "local", "-k", "fail", origin, str(zone_file)],
            check=False,
            timeout=300,
        )
        if proc.returncode != 0:
            proc = run(
                ["named-checkzone", "-i", "local", "-k", "fail", origin, str(zone_file)],
                check=False,
                timeout=300,
            )
            raise ValidationError(
                f"named-checkzone refused zone {origin}: {_last_lines(proc.stdout, 4)}",
                field=field,
            )
