"""Run the dns-agent: ``python -m services.dns --root ROOT``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.common.agent import agent_app, run_agent
from services.common.paths import StateRoot
from services.common.proc import run
from services.dns.api import install
from services.dns.service import DnsService

PORT = 1337


def named_status(root: StateRoot) -> dict[str, Any]:
    """``rndc status``: named is up and answering its control channel."""
    out = run(["rndc", "-c", str(root.rndc_conf), "status"], timeout=5).stdout
    facts: dict[str, Any] = {"status": "running"}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("version", "number of zones", "server is up and running"):
            facts[key.strip()] = value.strip()
    return facts


def build(root: StateRoot) -> FastAPI:
    app = agent_app("dns-agent", root, named_status)
    install(app, DnsService(root))
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("dns-agent", PORT, build))
