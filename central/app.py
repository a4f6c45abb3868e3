"""Central's application factory."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI

from central.core.config import CentralConfig
from central.events.routes import router as events_router

VERSION = "0.1.0"


def create_app(config: CentralConfig) -> FastAPI:
    """Build Central's FastAPI application for ``config``."""
    app = FastAPI(
        title="Burrow Central",
        version=VERSION,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.config = config
    app.state.started = time.time()

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, Any]:
        return {
            "service": "central",
            "status": "ok",
            "version": VERSION,
            "uptime_seconds": round(time.time() - app.state.started, 3),
        }

    app.include_router(events_router)
    return app
