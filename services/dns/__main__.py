"""Run the dns-agent: ``python -m services.dns --root ROOT``.

The web framework and the agent's modules are imported in ``build``, after the agent has its
certificate (``services.common.enrolment.run_agent``): at an appliance's first boot the agent
waits for Central without taking CPU time from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.common.enrolment import run_agent
from services.common.paths import StateRoot
from services.common.proc import run

if TYPE_CHECKING:
    from fastapi import FastAPI

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


#: The interpreter's thread switch interval in the agent's process (Python's default is 5 ms).
#: An import of a large zone parses for seconds in one thread while changes to other zones run
#: in others (``services.dns.locks``); each time such a change waits on I/O (a query to named,
#: a subprocess) it must get the interpreter back from the parsing thread, up to one interval
#: each time. A shorter interval keeps a change of a few dozen such waits within milliseconds.
SWITCH_INTERVAL = 0.0005


def build(root: StateRoot) -> FastAPI:
    import sys

    from services.common.agent import agent_app
    from services.dns.api import install
    from services.dns.service import DnsService

    sys.setswitchinterval(SWITCH_INTERVAL)

    app = agent_app("dns-agent", root, named_status, marks_changes=True)
    install(app, DnsService(root))
    return app


if __name__ == "__main__":
    raise SystemExit(run_agent("dns-agent", PORT, build))
