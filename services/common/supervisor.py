"""A read-only view of supervisord over its XML-RPC unix socket (supervisor manual, "XML-RPC API").

Used by the diagnostic shell, the dashboard and the tests; only ``getAllProcessInfo``,
``getProcessInfo`` and ``getState`` are called here.
"""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport


class SupervisorView:
    """Reads process states from one supervisord."""

    def __init__(self, socket_path: Path) -> None:
        transport = SupervisorTransport(None, None, f"unix://{socket_path}")
        self._proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def processes(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._proxy.supervisor.getAllProcessInfo())

    def process(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], self._proxy.supervisor.getProcessInfo(name))

    def state(self) -> str:
        return cast(str, self._proxy.supervisor.getState()["statename"])

    def states(self) -> dict[str, str]:
        return {p["name"]: p["statename"] for p in self.processes()}

    def pid(self, name: str) -> int:
        return int(self.process(name)["pid"])
