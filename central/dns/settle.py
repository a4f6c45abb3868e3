"""A DNS change whose answer was lost, settled by reading named's state back.

When the dns-agent stops answering after a change was sent (it died after named applied the
change, or before), the agent client raises ``OutcomeUnknownError``. Central does not guess
and does not leave it to a sync minutes later: it reads the state back through the agent
(supervisord starts a dead agent again within about a second), retrying for
``READ_BACK_SECONDS``, and answers and records what named really serves:

- the change is in effect: the caller stores what was read back and answers as if the agent
  had answered (``settled`` true), with a history entry;
- it is not: ``DaemonError`` (502) saying that nothing was changed;
- the state cannot be read back in time: ``OutcomeUnknownError`` (504), and the next sync
  records what named serves.

This is ``services.common.agent_client.settle`` with a read-back that waits for the agent and
tells "not applied" apart from "cannot tell".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from services.common.agent_client import OutcomeUnknownError
from services.common.errors import BurrowError, DaemonError, UnavailableError

log = logging.getLogger(__name__)

A = TypeVar("A")
B = TypeVar("B")

#: How long Central waits for a restarted dns-agent to read the state back.
READ_BACK_SECONDS = 30.0
#: Seconds between two attempts.
INTERVAL = 0.25


def read_back(read: Callable[[], B], *, seconds: float = READ_BACK_SECONDS) -> B:
    """``read()``, tried again while the agent cannot be reached, for ``seconds`` at most."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return read()
        except UnavailableError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(INTERVAL)


def settle(
    change: Callable[[], A],
    check: Callable[[], B | None],
    *,
    what: str,
    seconds: float = READ_BACK_SECONDS,
) -> A | B:
    """``change()``; if its answer was lost, ``check()`` (retried while the agent is away)
    returns what is in effect if the change is, or None if it is not (see the module
    docstring)."""
    try:
        return change()
    except OutcomeUnknownError as lost:
        log.warning("%s: %s; reading the state back", what, lost.message)
        try:
            found = read_back(check, seconds=seconds)
        except BurrowError as exc:
            raise OutcomeUnknownError(
                f"{what}: the dns-agent stopped answering after the change was sent, and the "
                f"state cannot be read back yet ({exc.message}); the change may or may not "
                "have been applied.",
                hint="read the object again in a few seconds; the next sync records what named "
                "serves",
            ) from exc
        if found is None:
            raise DaemonError(
                f"{what}: the dns-agent stopped answering before the change was applied; "
                "named serves what it served before: nothing was changed.",
                hint="send the change again",
            ) from lost
        log.warning("%s: the change is in effect (read back after the agent came back)", what)
        return found
