"""What every agent shares: its command line, its health endpoint and its TLS listener."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from services.common.paths import StateRoot
from services.common.pki import CertPaths
from services.common.serve import Listener, serve

VERSION = "0.1.0"

#: A health probe of the daemon an agent drives: returns facts, raises when unhealthy.
DaemonProbe = Callable[[StateRoot], dict[str, Any]]


def agent_app(name: str, root: StateRoot, probe: DaemonProbe | None = None) -> FastAPI:
    """An agent application with ``GET /health``."""
    app = FastAPI(title=f"Burrow {name}", version=VERSION, docs_url=None, redoc_url=None)
    started = time.time()

    @app.get("/health")
    def health() -> dict[str, Any]:
        body: dict[str, Any] = {
            "service": name,
            "status": "ok",
            "version": VERSION,
            "uptime_seconds": round(time.time() - started, 3),
        }
        if probe is not None:
            try:
                body["daemon"] = probe(root)
            except Exception as exc:  # the agent is up; say what is wrong below it
                body["daemon"] = {"status": "unreachable", "error": str(exc)}
        return body

    return app


def run_agent(
    name: str,
    port: int,
    build: Callable[[StateRoot], FastAPI],
    argv: list[str] | None = None,
) -> int:
    """Command line of an agent: ``python -m services.X --root ROOT [--port N]``."""
    parser = argparse.ArgumentParser(prog=name)
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = StateRoot.at(args.root)
    tls = CertPaths(root.pki / f"{name}.crt", root.pki / f"{name}.key")
    serve(Listener(build(root), args.port, tls=tls))
    return 0
