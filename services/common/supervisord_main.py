"""Run supervisord with a shorter main-loop wait, so a crashed program restarts at once.

supervisord reaps a dead child in one pass of its main loop and restarts it in the next;
between the two it waits in ``poll()`` for up to one second (a fixed value in
``Supervisor.runforever``) unless some pipe is active. That wait is most of a crash's
downtime. Here the wait is capped at 50 ms: restarts begin within 50 ms of a crash, at the
cost of about twenty cheap loop passes a second. Nothing else about supervisord changes.
"""

from __future__ import annotations

from typing import Any

from supervisor import poller, supervisord

MAX_WAIT = 0.05


class PromptPoller(poller.Poller):  # type: ignore[misc]
    """The platform's poller, with every wait capped at ``MAX_WAIT`` seconds."""

    def poll(self, timeout: float) -> Any:
        return super().poll(min(timeout, MAX_WAIT))


def main() -> None:
    # ServerOptions builds its poller from ``supervisor.poller.Poller`` at start-up.
    poller.Poller = PromptPoller
    supervisord.main()


if __name__ == "__main__":
    main()
