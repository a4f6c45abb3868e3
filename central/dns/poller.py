"""Background DNS sync: every DNS server read back on the ``sync_interval_seconds`` setting."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from central.core.config import CentralConfig
from central.dns import service
from central.settings import service as settings_service

log = logging.getLogger(__name__)


def sync_round(sessions: Any, config: CentralConfig) -> int:
    """One sync of every DNS server; returns the interval to wait."""
    with sessions() as db:
        interval = settings_service.load(db).sync_interval_seconds
        service.sync_all(db, config)
    return int(interval)


async def sync_forever(sessions: Any, config: CentralConfig, first_delay: float = 5.0) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            interval = await asyncio.to_thread(sync_round, sessions, config)
        except Exception:
            log.exception("the DNS sync round failed")
            interval = 60
        await asyncio.sleep(interval)
