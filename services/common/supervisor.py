"""A read-only view of supervisord over its XML-RPC unix socket (supervisor manual, "XML-RPC API").

Used by the diagnostic shell, the dashboard and the tests; only ``getAllProcessInfo``,
``getProcessInfo`` and ``getState`` are called here (the monitor program also restarts the
``syslog`` program through ``call`` when the remote syslog settings change). Each call opens
and closes its own connection, so nothing is left open when supervisord goes away.
"""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client
from pathlib import Path
from typing import Any, cast


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self._path))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class SupervisorView:
    """Reads process states from one supervisord."""

    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def call(self, method: str, *params: Any) -> Any:
        """One XML-RPC call; a supervisord fault is raised as ``xmlrpc.client.Fault``."""
        body = xmlrpc.client.dumps(params, method)
        conn = _UnixConnection(self.socket_path, self.timeout)
        try:
            conn.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise ConnectionError(f"supervisord answered HTTP {response.status}")
        finally:
            conn.close()
        result, _ = xmlrpc.client.loads(data)
        return result[0]

    def processes(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.call("supervisor.getAllProcessInfo"))

    def process(self, name: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.call("supervisor.getProcessInfo", name))

    def state(self) -> str:
        return str(self.call("supervisor.getState")["statename"])

    def states(self) -> dict[str, str]:
        return {p["name"]: p["statename"] for p in self.processes()}

    def pid(self, name: str) -> int:
        return int(self.process(name)["pid"])
