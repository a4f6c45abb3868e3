"""Central's application factory: the API under /api/v1, its database and background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel

from central.appliance.routes import router as appliance_router
from central.auth.routes import router as auth_router
from central.auth.service import LoginThrottle, ensure_first_admin
from central.backups import detect as backup_detect
from central.backups.restored import record_restore
from central.backups.routes import router as backups_router
from central.caching.routes import router as caching_router
from central.core import docs, problems
from central.core.backup_ack import BackupAck
from central.core.config import CentralConfig
from central.core.db import make_engine, make_sessions, migrate
from central.core.startup import cpu_seconds, process_age
from central.dhcp import poller as dhcp_poller
from central.dhcp.leases import router as dhcp_leases_router
from central.dhcp.migrate import router as dhcp_migrate_router
from central.dhcp.routes import router as dhcp_router
from central.diagshell.routes import router as diag_shell_router
from central.dns import poller as dns_poller
from central.dns import service as dns_service
from central.dns.routes import router as dns_router
from central.dns.security_routes import router as dns_security_router
from central.events.routes import router as events_router
from central.fleet import seed as fleet_seed
from central.fleet.guard import FleetGuard
from central.fleet.routes import router as fleet_router
from central.history import hooks as history_hooks
from central.history.routes import router as history_router
from central.ipam import schedules as ipam_schedules
from central.ipam.discovery_routes import router as ipam_discovery_router
from central.ipam.routes import router as ipam_router
from central.monitoring.routes import router as monitoring_router
from central.network.routes import router as network_router
from central.registry import poller
from central.registry.routes import router as registry_router
from central.registry.service import ensure_crl, prepare_local_agents
from central.settings import service as settings_service
from central.settings.routes import router as settings_router
from services.common.backup.files import changed_file

VERSION = "0.1.0"

log = logging.getLogger("central")


class Health(BaseModel):
    """Central is up and serving."""

    service: Literal["central"] = "central"
    status: Literal["ok"] = "ok"
    version: str
    uptime_seconds: float


def _console_key(config: CentralConfig) -> str | None:
    """The key the web console proves itself with (see central.auth.routes.login_client)."""
    try:
        return config.root.console_client_key.read_text().strip() or None
    except OSError:
        return None


def _wait_settings(app: FastAPI) -> Callable[[], tuple[bool, int]]:
    """``backup_wait_for_peer`` and its timeout, read from the database at most every 2 s."""
    cached: list[Any] = [0.0, (False, 10)]

    def read() -> tuple[bool, int]:
        if time.monotonic() - cached[0] > 2.0 and getattr(app.state, "sessions", None):
            with app.state.sessions() as db:
                current = settings_service.load(db)
            cached[:] = [
                time.monotonic(),
                (current.backup_wait_for_peer, current.backup_wait_timeout_seconds),
            ]
        value: tuple[bool, int] = cached[1]
        return value

    return read


def create_app(config: CentralConfig, *, background: bool = True) -> FastAPI:
    """Build Central's FastAPI application for ``config``.

    The database is migrated, the first administrator made and the local agents prepared
    when the application starts (before it serves), not when it is built.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        began = time.monotonic()
        history_hooks.install(changed_file(config.root))
        engine = make_engine(config.database_url)
        migrate(engine)
        app.state.sessions = make_sessions(engine)
        with app.state.sessions() as db:
            ensure_first_admin(db, config)
            record_restore(db, config)
            for name in dns_service.drop_unfinished_imports(db):
                log.warning("zone %s: its import was cut short; its rows are deleted", name)
            prepare_local_agents(db, config)
            ensure_crl(db, config)
        log.info(
            "start-up work done in %.2f s; ready %.2f s after the process started "
            "(%.2f s of CPU time)", time.monotonic() - began, process_age(), cpu_seconds(),
        )  # fmt: skip
        tasks = []
        if background:
            tasks.append(asyncio.create_task(poller.poll_forever(app.state.sessions, config)))
            tasks.append(asyncio.create_task(dhcp_poller.sync_forever(app.state.sessions, config)))
            tasks.append(asyncio.create_task(dns_poller.sync_forever(app.state.sessions, config)))
            tasks.append(
                asyncio.create_task(backup_detect.detect_forever(app.state.sessions, config))
            )
            tasks.append(asyncio.create_task(ipam_schedules.run_forever(app.state.sessions)))
            tasks.append(asyncio.create_task(fleet_seed.join_from_seed(app.state.sessions, config)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            engine.dispose()

    app = FastAPI(
        title="Burrow Central",
        version=VERSION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    docs.install(app, openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs")
    app.state.config = config
    app.state.started = time.time()
    app.state.throttle = LoginThrottle()
    app.state.console_key = _console_key(config)
    problems.install(app, max_body=config.max_request_bytes)
    app.add_middleware(BackupAck, root=config.root, settings=_wait_settings(app))
    app.add_middleware(FleetGuard, root=config.root)

    @app.get("/api/v1/health", tags=["health"])
    def health() -> Health:
        """Open to everyone: Central is up and serving."""
        return Health(version=VERSION, uptime_seconds=round(time.time() - app.state.started, 3))

    for router in (
        auth_router,
        history_router,
        settings_router,
        registry_router,
        events_router,
        diag_shell_router,
        dhcp_router,
        dhcp_leases_router,
        dhcp_migrate_router,
        dns_router,
        dns_security_router,
        caching_router,
        ipam_router,
        ipam_discovery_router,
        backups_router,
        appliance_router,
        network_router,
        monitoring_router,
        fleet_router,
    ):
        app.include_router(router)
    return app
