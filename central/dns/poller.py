"""Background DNS sync: every DNS server read back every ``sync_interval_seconds``.

The setting is read again every few seconds, so a change of it takes effect at once rather
than after the interval that was running.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from central.core.config import CentralConfig
from central.dns import service
from central.settings import service as settings_service

log = logging.getLogger(__name__)

#: How often the interval setting is looked at.
TICK_SECONDS = 5.0


def interval(sessions: Any) -> int:
    with sessions() as db:
        return int(settings_service.load(db).sync_interval_seconds)


def sync_round(sessions: Any, config: CentralConfig) -> None:
    """One sync of every DNS server."""
    with sessions() as db:
        service.sync_all(db, config)


async def sync_forever(sessions: Any, config: CentralConfig, first_delay: float = 5.0) -> None:
    await asyncio.sleep(first_delay)
    last = float("-inf")
    while True:
        try:
            if time.monotonic() - last >= await asyncio.to_thread(interval, sessions):
                last = time.monotonic()
                await asyncio.to_thread(sync_round, sessions, config)
        except Exception:
            log.exception("the DNS sync round failed")
        await asyncio.sleep(TICK_SECONDS)
