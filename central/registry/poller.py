"""Background work: checks every enrolled agent on ``health_interval_seconds``, and forgets
session tokens that expired more than a day ago."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import select

from central.auth.service import forget_expired_sessions
from central.core.config import CentralConfig
from central.registry import service
from central.registry.models import Server
from central.settings import service as settings_service

log = logging.getLogger(__name__)


#: After Central starts (a boot, a restore), agents that are not answering yet are asked again
#: this often for this long, so the server list turns healthy within seconds, not an interval.
STARTUP_RETRY = 2
STARTUP_WINDOW = 120.0


def check_all(sessions: Any, config: CentralConfig) -> tuple[int, bool]:
    """One round over every enrolled, unrevoked server; the interval to wait, and whether
    every server answered."""
    with sessions() as db:
        interval = settings_service.load(db).health_interval_seconds
        servers = db.scalars(
            select(Server).where(Server.fingerprint != "", Server.state != "revoked")
        ).all()
        healthy = True
        for server in servers:
            service.check(db, config, server)
            healthy = healthy and server.state not in ("unreachable", "untrusted")
        forget_expired_sessions(db)
    return interval, healthy


async def poll_forever(sessions: Any, config: CentralConfig, first_delay: float = 1.0) -> None:
    started = time.monotonic()
    await asyncio.sleep(first_delay)
    while True:
        try:
            interval, healthy = await asyncio.to_thread(check_all, sessions, config)
        except Exception:
            log.exception("checking the agents failed")
            interval, healthy = 30, True
        if not healthy and time.monotonic() - started < STARTUP_WINDOW:
            interval = min(interval, STARTUP_RETRY)
        await asyncio.sleep(interval)
