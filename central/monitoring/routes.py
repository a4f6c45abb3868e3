"""``/api/v1/monitoring`` (SNMP and metrics settings) and ``/metrics`` (Prometheus).

``GET /api/v1/monitoring``        the settings, secrets redacted (any role)
``PUT /api/v1/monitoring``        replace them (administrators); history ``monitoring/settings``
``GET /api/v1/monitoring/figures``  the latest figures as JSON (any role)
``GET /metrics``                  Prometheus text; ``Authorization: Bearer`` with the scrape
                                  token of the settings or any Central session token
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from central.core.config import CentralConfig
from central.core.deps import Admin, CurrentUser, DbSession, current_principal
from central.core.problems import RESPONSES
from central.monitoring import service
from central.monitoring.service import MonitoringChange, MonitoringPublic
from services.common.figures import Figures
from services.common.monitoring import token_matches

router = APIRouter(tags=["monitoring"], responses=RESPONSES)


def _config(request: Request) -> CentralConfig:
    config: CentralConfig = request.app.state.config
    return config


@router.get("/api/v1/monitoring")
def get_monitoring(request: Request, _user: CurrentUser) -> MonitoringPublic:
    """SNMP communities, users and receivers, thresholds, the scrape token: secrets redacted."""
    return service.view(_config(request))


@router.put("/api/v1/monitoring")
def put_monitoring(
    request: Request, db: DbSession, admin: Admin, body: MonitoringChange
) -> MonitoringPublic:
    """Replace the monitoring settings; a secret left out keeps its stored value (by name)."""
    return service.update(_config(request), db, admin, body)


@router.get("/api/v1/monitoring/figures")
def get_figures(request: Request, _user: CurrentUser) -> Figures:
    """The figures the SNMP agent serves, as the monitor program last collected them."""
    return service.figures(_config(request))


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text format",
        }
    },
)
def metrics(request: Request, db: DbSession) -> PlainTextResponse:
    """The same figures as BURROW-MIB in Prometheus' text format (version 0.0.4)."""
    config = _config(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not (scheme.lower() == "bearer" and token_matches(service.load(config), token.strip())):
        current_principal(request, db)  # a Central session token, or 401
    return PlainTextResponse(
        service.metrics(config), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
