"""Fault points: a test aid that makes an agent die at one chosen moment.

What Central does when an agent dies in the middle of a change (the daemon applied it, the
answer was never sent) can only be tested if the agent dies at exactly that moment. A test
enables a point by creating the file ``var/lib/burrow/faults/<agent>/<point>`` under the state
root; when the agent reaches the point it removes the file (the fault fires once) and kills
itself with SIGKILL, as the kernel's out-of-memory killer would. supervisord starts it again
(the dns-agent and the dhcp-agent share one process: both restart).

Points: the dns-agent's ``before-apply`` (a change set is planned and checked, nothing sent to
named yet) and ``after-apply`` (named applied it, the answer is not sent); the dhcp-agent's
``after-config-write`` (Kea took and saved a change, the answer is not sent).

A hold point pauses instead (``FaultPoints.hold``): the agent creates ``<point>.reached`` next
to the file and waits until the test removes the file, so that a test can do something else
while one operation is in progress, at a known step. The dns-agent's ``during-import`` holds
an import with its zone's lock taken, the file read and checked, before named loads it.

Only root can enable a point: the file and every directory from ``var/lib/burrow`` down must
belong to root and be writable by no one else, or the file is ignored (and logged). An
appliance never has the directory; the cost of a point is one ``stat`` of a missing file.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import time
from pathlib import Path

from services.common.paths import StateRoot

log = logging.getLogger(__name__)


def fault_file(root: StateRoot, agent: str, point: str) -> Path:
    """The file that enables ``point`` of ``agent``."""
    return root.lib / "faults" / agent / point


def _root_only(path: Path) -> bool:
    info = path.lstat()
    return info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class FaultPoints:
    """The fault points of one agent."""

    def __init__(self, root: StateRoot | None, agent: str) -> None:
        self.root = root
        self.agent = agent

    def armed(self, point: str) -> bool:
        """``point`` is enabled, by root."""
        if self.root is None:
            return False
        path = fault_file(self.root, self.agent, point)
        try:
            if not path.exists():
                return False
            chain = [path, *path.parents]
            for part in chain[: chain.index(self.root.lib) + 1]:
                if not _root_only(part):
                    log.warning("fault point %s ignored: %s is not root's alone", point, part)
                    return False
        except (OSError, ValueError):
            return False
        return True

    def reach(self, point: str) -> None:
        """Die here if ``point`` is enabled (see the module docstring)."""
        if self.root is None or not self.armed(point):
            return
        fault_file(self.root, self.agent, point).unlink(missing_ok=True)
        log.critical("fault point %s reached: the %s kills itself (a test aid)", point, self.agent)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    def hold(self, point: str, *, timeout: float = 300.0) -> None:
        """Wait here while ``point`` is enabled (at most ``timeout`` seconds), saying so with
        ``<point>.reached`` (see the module docstring)."""
        if self.root is None or not self.armed(point):
            return
        path = fault_file(self.root, self.agent, point)
        reached = path.with_name(point + ".reached")
        log.critical("hold point %s reached: the %s waits (a test aid)", point, self.agent)
        reached.touch()
        deadline = time.monotonic() + timeout
        try:
            while path.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            reached.unlink(missing_ok=True)
