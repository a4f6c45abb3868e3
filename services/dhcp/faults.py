"""A test aid: fault points of the dhcp-agent, off unless root arms them.

A fault point is armed by a file ``var/lib/burrow/test-faults/dhcp-agent/NAME`` under the
state root that belongs to root (uid 0): on a real appliance only root can make one, and the
agent checks the owner, so nothing an unprivileged user writes can arm it. Tests use them to
make a failure happen at one exact moment that no timing could hit reliably.

Fault points:

``exit-after-config-write``
    The agent process ends at once (``os._exit``) after Kea took and saved a change and
    before the agent answered: the caller's connection is cut with the change applied.
    supervisord starts the agent again. Central must then settle the outcome by reading
    Kea's configuration back (``central.dhcp.service``).

The file stays until the test removes it: every change while it is there ends the agent.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from services.common.paths import StateRoot

log = logging.getLogger(__name__)

EXIT_AFTER_CONFIG_WRITE = "exit-after-config-write"


def faults_dir(root: StateRoot) -> Path:
    """Where the fault files of the dhcp-agent are."""
    return root.lib / "test-faults" / "dhcp-agent"


class FaultPoints:
    """The fault points of one agent (``hit`` does nothing unless its file is armed)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def armed(self, name: str) -> bool:
        if self.directory is None:
            return False
        try:
            owner = (self.directory / name).stat().st_uid
        except OSError:
            return False
        return owner == 0

    def hit(self, name: str) -> None:
        """End the process at once if the fault point ``name`` is armed."""
        if self.armed(name):
            log.critical("test fault point %s is armed: the agent ends now", name)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os._exit(70)  # EX_SOFTWARE; no cleanup, no answer: as a crash
