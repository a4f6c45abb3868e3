"""Central's DNS locks: one per zone of a server, one per server's options.

Changes to different zones proceed side by side; changes to one zone are taken in turn. A
zone's lock is held from reading Central's rows of it, through the agent's apply, to the commit
of what named now serves, so a sync (which reads each zone back under the same lock) never
takes Central's own change, half stored, for an external one. Zone creation, import and
deletion hold the lock of the zone's name: the dns-agent guards named's configuration, which
every zone shares, with a lock of its own (``services.dns.locks``).

Order, so that no two threads wait on each other: a zone's lock before the locks of the
reverse zones its PTR records go to; several zones' locks in the order of their names.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator

_guard = threading.Lock()
_zones: dict[tuple[int, str], threading.RLock] = {}
_options: dict[int, threading.RLock] = {}


def _key(name: str) -> str:
    return (name if name.endswith(".") else name + ".").lower()


def _zone_lock(server_id: int, name: str) -> threading.RLock:
    with _guard:
        return _zones.setdefault((server_id, _key(name)), threading.RLock())


@contextlib.contextmanager
def zone(server_id: int, name: str) -> Iterator[None]:
    """Hold the lock of zone ``name`` of DNS server ``server_id``."""
    with _zone_lock(server_id, name):
        yield


@contextlib.contextmanager
def zones(server_id: int, names: Iterable[str]) -> Iterator[None]:
    """Hold the locks of the zones ``names`` of ``server_id``, taken in the order of names."""
    with contextlib.ExitStack() as stack:
        for name in sorted({_key(n) for n in names}):
            stack.enter_context(_zone_lock(server_id, name))
        yield


@contextlib.contextmanager
def options(server_id: int) -> Iterator[None]:
    """Hold the lock of the server options of ``server_id``."""
    with _guard:
        lock = _options.setdefault(server_id, threading.RLock())
    with lock:
        yield
