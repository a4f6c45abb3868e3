"""Several agents in one process: ``python -m services.common.agents NAME... --root ROOT``.

On an appliance the dns-agent and the dhcp-agent run in one process, the supervisord program
``dns-dhcp-agent``. Each keeps its own name, port (1337, 4151), certificate, enrolment at
Central, application and problem handlers; what they share is the Python interpreter with
FastAPI, pydantic, uvicorn and cryptography, which an agent otherwise pays some 40 MB of
memory and, at boot, seconds of CPU time for. A crash of the process restarts both agents.

The agents' own ``__main__`` modules (``python -m services.dns``, ``python -m services.dhcp``)
still run one agent each.
"""

from __future__ import annotations

import importlib
import sys

from services.common.enrolment import AgentSpec, run_agents

#: Agents that can share a process: name -> module with ``PORT`` and ``build(root)``.
AGENT_MODULES = {
    "dns-agent": "services.dns.__main__",
    "dhcp-agent": "services.dhcp.__main__",
}


def agent_spec(name: str) -> AgentSpec:
    """The agent ``name``, from its module (which imports no web framework at import time)."""
    module = importlib.import_module(AGENT_MODULES[name])
    return AgentSpec(name, int(module.PORT), module.build)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    names = []
    while args and not args[0].startswith("-"):
        names.append(args.pop(0))
    unknown = [n for n in names if n not in AGENT_MODULES]
    if not names or unknown:
        known = ", ".join(AGENT_MODULES)
        print(
            f"services.common.agents: name one or more agents of: {known}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else ""),
            file=sys.stderr,
        )
        return 2
    return run_agents("-".join(names), [agent_spec(n) for n in names], args)


if __name__ == "__main__":
    raise SystemExit(main())
