"""Background work: checks every enrolled agent on ``health_interval_seconds``, and forgets
session tokens that expired more than a day ago."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select

from central.auth.service import forget_expired_sessions
from central.core.config import CentralConfig
from central.registry import service
from central.registry.models import Server
from central.settings import service as settings_service

log = logging.getLogger(__name__)


def check_all(sessions: Any, config: CentralConfig) -> int:
    """One round over every enrolled, unrevoked server; returns the interval to wait."""
    with sessions() as db:
        interval = settings_service.load(db).health_interval_seconds
        servers = db.scalars(
            select(Server).where(Server.fingerprint != "", Server.state != "revoked")
        ).all()
        for server in servers:
            service.check(db, config, server)
        forget_expired_sessions(db)
    return interval


async def poll_forever(sessions: Any, config: CentralConfig, first_delay: float = 1.0) -> None:
    await asyncio.sleep(first_delay)
    while True:
        try:
            interval = await asyncio.to_thread(check_all, sessions, config)
        except Exception:
            log.exception("checking the agents failed")
            interval = 30
        await asyncio.sleep(interval)
