"""The dns-agent's locks: one per zone, and one for named's configuration.

Changes to different zones go to named side by side; changes to one zone are taken one after
the other (a change set is planned on the zone as named serves it, and two plans of one zone
made at once would each miss the other's records). What all zones share is named's
configuration: the zone list ``burrow-zones.json``, ``zones.conf`` and ``named.conf``, loaded
with ``rndc reconfig``. Whatever reads, changes and writes them holds the configuration lock,
so two zones created at once both end up in the list.

Order, so that no two threads wait on each other: a zone's lock before the configuration
lock; several zones' locks in the order of their names (``ZoneLocks.holding``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator


def _key(name: str) -> str:
    return (name if name.endswith(".") else name + ".").lower()


class ZoneLocks:
    """A re-entrant lock per zone name, made on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.RLock] = {}
        #: named's configuration (see the module docstring); re-entrant: reading the server
        #: options adopts them under it, and is done inside configuration changes.
        self.config = threading.RLock()

    def _lock(self, name: str) -> threading.RLock:
        with self._guard:
            lock = self._locks.get(_key(name))
            if lock is None:
                lock = self._locks[_key(name)] = threading.RLock()
            return lock

    @contextlib.contextmanager
    def zone(self, name: str) -> Iterator[None]:
        """Hold the lock of zone ``name``."""
        with self._lock(name):
            yield

    @contextlib.contextmanager
    def holding(self, names: Iterable[str]) -> Iterator[None]:
        """Hold the locks of every zone of ``names``, taken in the order of their names."""
        with contextlib.ExitStack() as stack:
            for name in sorted({_key(n) for n in names}):
                stack.enter_context(self._lock(name))
            yield
