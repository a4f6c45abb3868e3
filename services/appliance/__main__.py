"""Run the appliance-agent: ``python -m services.appliance --root ROOT``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pyroute2 import IPRoute

from services.appliance import network
from services.appliance.backup.service import start_backups
from services.appliance.diag_shell import router as diag_shell_router
from services.common.agent import agent_app, run_agent
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

PORT = 4603


def network_status(root: StateRoot) -> dict[str, Any]:
    """The appliance's interface and whether it carries the configured address."""
    settings = ApplianceSettings.load(root.appliance_settings)
    with IPRoute() as ipr:
        addresses = [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(family=2)]
    return {
        "status": "running",
        "hostname": settings.hostname,
        "address": str(settings.address),
        "address_present": settings.ip in addresses,
    }


def build(root: StateRoot) -> FastAPI:
    app = agent_app("appliance-agent", root, network_status)
    app.state.root = root
    app.include_router(diag_shell_router)
    app.include_router(start_backups(root))
    app.include_router(network.router)
    network.restore_persisted(root)  # extra addresses and routes come back after a reboot
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("appliance-agent", PORT, build))
