"""Fault points: a test aid that makes the dns-agent die at a chosen moment of a change.

What Central does when the dns-agent dies in the middle of a change (named applied it, the
answer was never sent) can only be tested if the agent dies at exactly that moment. A test
enables a fault point by creating the file ``var/lib/burrow/faults/dns-agent/<point>`` under
the state root; when the agent reaches the point it removes the file (the fault fires once)
and kills itself with SIGKILL, as the kernel's out-of-memory killer would. supervisord starts
it again (the dhcp-agent, which shares the process, restarts with it).

Points:

- ``before-apply``: a change set is planned and checked; nothing was sent to named yet;
- ``after-apply``: named applied the change set; the answer is not sent yet.

Only root can enable a fault point: the file and every directory from ``var/lib/burrow`` down
must belong to root and be writable by no one else, or the file is ignored (and logged). An
appliance never has the directory; the cost of a point is one ``stat`` of a missing file.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
from pathlib import Path

from services.common.paths import StateRoot

log = logging.getLogger(__name__)

AGENT = "dns-agent"
POINTS = ("before-apply", "after-apply")


def fault_file(root: StateRoot, point: str) -> Path:
    """The file that enables ``point``."""
    return root.lib / "faults" / AGENT / point


def _root_only(path: Path) -> bool:
    info = path.lstat()
    return info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def armed(root: StateRoot, point: str) -> bool:
    """The fault point is enabled, by root."""
    path = fault_file(root, point)
    try:
        if not path.exists():
            return False
        chain = [path, *path.parents]
        for part in chain[: chain.index(root.lib) + 1]:
            if not _root_only(part):
                log.warning("fault point %s ignored: %s is not root's alone", point, part)
                return False
    except (OSError, ValueError):
        return False
    return True


def reach(root: StateRoot, point: str) -> None:
    """Die here if ``point`` is enabled (see the module docstring)."""
    if not armed(root, point):
        return
    fault_file(root, point).unlink(missing_ok=True)
    log.warning("fault point %s reached: the dns-agent kills itself (a test aid)", point)
    os.kill(os.getpid(), signal.SIGKILL)
