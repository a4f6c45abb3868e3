"""Run the dhcp-agent: ``python -m services.dhcp --root ROOT``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.common.agent import agent_app, run_agent
from services.common.paths import StateRoot
from services.dhcp.api import dhcp_router, install_problem_handlers
from services.dhcp.changes import ConfigEditor
from services.dhcp.kea_client import ControlAgentTransport, KeaClient
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer

PORT = 4151
CONTROL_AGENT = "http://127.0.0.1:8000/"
KEA_USER = "burrow"


def control_agent(root: StateRoot) -> KeaClient:
    """A Kea client for this appliance's Control Agent (password from the state root)."""
    password = root.kea_api_password.read_text().strip()
    return KeaClient(ControlAgentTransport(CONTROL_AGENT, KEA_USER, password))


def kea_status(root: StateRoot) -> dict[str, Any]:
    """Kea's ``status-get`` for dhcp4 and dhcp6 through the Control Agent."""
    kea = control_agent(root)
    try:
        facts: dict[str, Any] = {"status": "running"}
        for family in ("v4", "v6"):
            status = kea.status(family)
            facts["dhcp4" if family == "v4" else "dhcp6"] = {
                "result": 0,
                "uptime": status.get("uptime"),
            }
        return facts
    finally:
        kea.close()


def build(root: StateRoot) -> FastAPI:
    app = agent_app("dhcp-agent", root, kea_status)
    kea = control_agent(root)
    install_problem_handlers(app)
    app.include_router(dhcp_router(DhcpServer(ConfigEditor(kea)), LeaseBook(kea)))
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("dhcp-agent", PORT, build))
