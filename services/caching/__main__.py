"""Run the dns-agent of a caching appliance: ``python -m services.caching --root ROOT``.

The same agent as ``services.dns`` in name, port, certificate and enrolment (Central talks to
"the dns-agent" of every appliance), driving Unbound instead of BIND. The web framework and the
agent's modules are imported in ``build``, after the agent has its certificate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.common.enrolment import run_agent
from services.common.paths import StateRoot

if TYPE_CHECKING:
    from fastapi import FastAPI

PORT = 1337


def unbound_status(root: StateRoot) -> dict[str, Any]:
    """``unbound-control status``: Unbound is up and answering its control channel."""
    from services.caching.control import UnboundControl

    return UnboundControl(root, timeout=5).status()


def build(root: StateRoot) -> FastAPI:
    from services.caching.addresses import AddressWatch
    from services.caching.api import install
    from services.caching.service import CachingService
    from services.common.agent import agent_app

    app = agent_app("dns-agent", root, unbound_status, marks_changes=True)
    service = CachingService(root)
    install(app, service)
    # Unbound listens on the appliance's addresses: it follows their changes while the agent
    # serves.
    watch = AddressWatch(service.follow_addresses)
    app.router.add_event_handler("startup", watch.start)
    app.router.add_event_handler("shutdown", watch.stop)
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("dns-agent", PORT, build))
