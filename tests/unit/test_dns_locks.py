"""The per-zone locks of the dns-agent and of Central: other zones go on, the same zone waits,
names are one zone whatever their case or final dot. Asserted by the order of events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from central.dns import lock as central_lock
from services.dns.locks import ZoneLocks

Locker = Callable[[str], AbstractContextManager[None]]


def _agent_locker() -> Locker:
    locks = ZoneLocks()
    return locks.zone


def _central_locker() -> Locker:
    return lambda name: central_lock.zone(7, name)


LOCKERS = pytest.mark.parametrize(
    "make", [_agent_locker, _central_locker], ids=["agent", "central"]
)


def _holder(zone: Locker, name: str, held: threading.Event, release: threading.Event) -> None:
    with zone(name):
        held.set()
        release.wait(30)


@LOCKERS
def test_another_zone_goes_on_while_one_is_held(make: Callable[[], Locker]) -> None:
    zone = make()
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holder, args=(zone, "y.test.", held, release))
    holder.start()
    try:
        assert held.wait(30)
        done = threading.Event()

        def other() -> None:
            with zone("x.test."):
                done.set()

        worker = threading.Thread(target=other)
        worker.start()
        assert done.wait(30), "a change to x.test. waited for y.test."
        assert holder.is_alive(), "y.test. was let go before x.test. went on"
    finally:
        release.set()
        holder.join(30)


@LOCKERS
def test_the_same_zone_waits_whatever_its_spelling(make: Callable[[], Locker]) -> None:
    zone = make()
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holder, args=(zone, "Y.Test", held, release))
    holder.start()
    assert held.wait(30)
    order: list[str] = []
    entered = threading.Event()

    def same() -> None:
        with zone("y.test."):
            order.append("second")
            entered.set()

    worker = threading.Thread(target=same)
    worker.start()
    # The second holder cannot enter before the first lets go: it is let go only now.
    assert not entered.is_set()
    order.append("first let go")
    release.set()
    assert entered.wait(30)
    worker.join(30)
    holder.join(30)
    assert order == ["first let go", "second"]


def test_several_zones_are_taken_in_the_order_of_their_names() -> None:
    """Two threads taking the same zones in opposite orders do not wait on each other."""
    locks = ZoneLocks()
    finished = []

    def take(names: list[str]) -> None:
        for _ in range(200):
            with locks.holding(names):
                pass
        finished.append(names[0])

    threads = [threading.Thread(target=take, args=(names,))
               for names in (["a.test.", "b.test."], ["b.test.", "a.test."])]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(finished) == ["a.test.", "b.test."], "the threads waited on each other"
