"""Background work run every N seconds, N read from a Central setting.

The interval is read again every ``step`` seconds while waiting, so a changed setting takes
effect within about a second, not after the old interval has run out. The work runs in a
thread (it uses blocking database sessions and network calls); an exception is logged and
the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


async def run_every(
    name: str,
    work: Callable[[], object],
    interval: Callable[[], float],
    *,
    first_delay: float = 1.0,
    step: float = 1.0,
    fallback: float = 30.0,
) -> None:
    """Run ``work`` now (after ``first_delay``) and then every ``interval()`` seconds."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(first_delay)
    while True:
        started = loop.time()
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("%s failed", name)
        while True:
            try:
                wait = float(await asyncio.to_thread(interval))
            except Exception:
                log.exception("%s: reading its interval failed", name)
                wait = fallback
            remaining = started + wait - loop.time()
            if remaining <= 0:
                break
            await asyncio.sleep(min(step, remaining))
