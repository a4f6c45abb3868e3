"""Where a restore's time goes: each step's start and duration, for its progress.

A restore (services.appliance.backup.receiver and .apply) runs in steps: ``receive`` (the
bundle arriving), ``warm`` (Central stopped and started again held while the bundle arrives:
it loads its code meanwhile and reads its state once released), ``check`` (every chunk hashed
as it arrives, the tree complete), ``stop`` (the programs stopped), ``write`` (Central's files
written with their modes and owners), ``network``, ``write-rest`` (the other files, while
Central starts), ``start`` (the other programs started), then ``named``, ``kea`` and
``central``: from each program's start (Central's: its release) until it answers its health
check (these three overlap), and ``healthy`` from the first start until all three have. Each
entry is ``{"step", "at", "seconds"}``: ``at`` is the step's start in seconds from the
restore's start, so overlapping steps show as such. The progress (``GET /restore``,
``backup-status``, ``burrow-restore``'s last line) carries them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any


class Timeline:
    """The steps of one restore, in the order they ended (thread-safe)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._steps: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, step: str, began: float, ended: float | None = None) -> None:
        """Record ``step`` from the monotonic time ``began`` until ``ended`` (now)."""
        end = time.monotonic() if ended is None else ended
        entry = {
            "step": step,
            "at": round(began - self.started, 3),
            "seconds": round(end - began, 3),
        }
        with self._lock:
            self._steps.append(entry)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as the step ``name`` (recorded even when it fails)."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.add(name, began)

    def steps(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._steps]

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def summary(self) -> str:
        """One line: ``receive 0.9 s, check 0.6 s, …`` (``named`` etc. as "ready at")."""
        return ", ".join(f"{e['step']} {e['seconds']:.1f} s" for e in self.steps())
