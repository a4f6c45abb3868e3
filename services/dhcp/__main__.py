"""Run the dhcp-agent: ``python -m services.dhcp --root ROOT``."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from services.common.agent import agent_app, run_agent
from services.common.paths import StateRoot

PORT = 4151
CONTROL_AGENT = "http://127.0.0.1:8000/"


def kea_status(root: StateRoot) -> dict[str, Any]:
    """Kea's ``status-get`` for dhcp4 and dhcp6 through the Control Agent."""
    password = root.kea_api_password.read_text().strip()
    answer = httpx.post(
        CONTROL_AGENT,
        json={"command": "status-get", "service": ["dhcp4", "dhcp6"]},
        auth=("burrow", password),
        timeout=5,
    ).json()
    facts: dict[str, Any] = {"status": "running"}
    for service, entry in zip(("dhcp4", "dhcp6"), answer, strict=False):
        facts[service] = {
            "result": entry.get("result"),
            "uptime": (entry.get("arguments") or {}).get("uptime"),
        }
    return facts


def build(root: StateRoot) -> FastAPI:
    return agent_app("dhcp-agent", root, kea_status)


if __name__ == "__main__":
    raise SystemExit(run_agent("dhcp-agent", PORT, build))
