"""Run the dhcp-agent: ``python -m services.dhcp --root ROOT``.

The web framework and the agent's modules are imported in ``build``, after the agent has its
certificate (``services.common.enrolment.run_agent``): at an appliance's first boot the agent
waits for Central without taking CPU time from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common.enrolment import run_agent
from services.common.errors import SetupError
from services.common.files import read_json
from services.common.paths import StateRoot

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services.dhcp.kea_client import KeaClient

PORT = 4151
CONTROL_AGENT = "http://127.0.0.1:8000/"
KEA_USER = "burrow"
DEFAULT_TRANSPORT = "control-socket"


def settings_path(root: StateRoot) -> Path:
    return root.etc / "dhcp-agent.json"


def kea_client(root: StateRoot) -> KeaClient:
    """A Kea client for this appliance's Kea, by the transport ``etc/burrow/dhcp-agent.json``
    names: ``{"kea_transport": "control-socket"}`` (the default: the daemons' unix control
    sockets) or ``"control-agent"`` (the Kea Control Agent on 127.0.0.1:8000).

    The control sockets are the default because the Control Agent parses and re-serialises
    every command and answer on its way: with 1,000 scopes that adds some 75 ms to each
    config-get and config-set of a 470 kB configuration.
    """
    from services.dhcp.kea_client import ControlAgentTransport, ControlSocketTransport, KeaClient

    path = settings_path(root)
    chosen = read_json(path).get("kea_transport", DEFAULT_TRANSPORT) if path.exists() else None
    if chosen in (None, "control-socket"):
        sockets = {d: str(root.kea_socket(d)) for d in ("dhcp4", "dhcp6")}
        return KeaClient(ControlSocketTransport(sockets))
    if chosen != "control-agent":
        raise SetupError(
            f"Unknown kea_transport {chosen!r} in {path}.",
            hint='use "control-socket" or "control-agent"',
        )
    password = root.kea_api_password.read_text().strip()
    return KeaClient(ControlAgentTransport(CONTROL_AGENT, KEA_USER, password))


def kea_status(root: StateRoot) -> dict[str, Any]:
    """Kea's ``status-get`` for dhcp4 and dhcp6 over the configured transport."""
    kea = kea_client(root)
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
    from services.common.agent import agent_app
    from services.common.faults import FaultPoints
    from services.dhcp.api import dhcp_router
    from services.dhcp.changes import ConfigEditor
    from services.dhcp.ddns_api import ddns_router
    from services.dhcp.ha_tls import ha_tls_router
    from services.dhcp.leases import LeaseBook
    from services.dhcp.manage import DhcpServer
    from services.dhcp.migrate import migrate_router

    app = agent_app("dhcp-agent", root, kea_status, marks_changes=True)
    kea = kea_client(root)
    editor = ConfigEditor(kea, FaultPoints(root, "dhcp-agent"))
    book = LeaseBook(kea)
    app.include_router(dhcp_router(DhcpServer(editor), book))
    app.include_router(migrate_router(book))
    app.include_router(ddns_router(root, editor))
    app.include_router(ha_tls_router(root))
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("dhcp-agent", PORT, build))
