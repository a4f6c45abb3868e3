"""The dns-agent's HTTP API on a caching appliance: Unbound's settings, cache and counters.

Every route is under ``/caching`` beside the agent's own ``/health`` and ``/pki/crl``, behind
the agent's mutual TLS; errors are the one problem format (``services.common.problems``).
Bad settings answer 422 naming every wrong field, and nothing is applied.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from services.caching.service import CachingService
from services.common.caching.contract import (
    CacheFlush,
    CacheFlushed,
    CacheLookup,
    CacheStats,
    CachingSettings,
    domain_name,
)
from services.common.errors import ValidationError


def install(app: FastAPI, service: CachingService) -> None:
    """Add the caching routes to ``app`` (an ``agent_app``: its errors are problem answers)."""
    app.include_router(router(service))


def router(service: CachingService) -> APIRouter:
    api = APIRouter(prefix="/caching")

    @api.get("/settings")
    def get_settings() -> CachingSettings:
        return service.settings()

    @api.put("/settings")
    def put_settings(settings: CachingSettings) -> CachingSettings:
        return service.put_settings(settings)

    @api.get("/stats")
    def stats() -> CacheStats:
        return service.stats()

    @api.post("/flush")
    def flush(request: CacheFlush) -> CacheFlushed:
        return service.flush(request)

    @api.get("/lookup")
    def lookup(name: str) -> CacheLookup:
        try:
            checked = domain_name(name)
        except ValueError as exc:
            raise ValidationError(str(exc), field="name") from None
        return service.lookup(checked)

    return api
