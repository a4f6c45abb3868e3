"""A Kea client behind a transport interface, with Kea's result codes as types.

Transports (httpx's pattern: one interface, a real and an in-memory implementation):

    Transport               send one command to one daemon, get its answer
    ├── ControlAgentTransport   the Kea Control Agent over HTTP with basic auth (Kea 2.2);
    │                           from Kea 2.7 the daemons listen on HTTP themselves: the same
    │                           transport pointed at a daemon's address, without ``service``
    ├── ControlSocketTransport  the daemons' own unix control sockets (what the Control Agent
    │                           forwards to); much faster for large configurations
    └── services.dhcp.memory.MemoryKea   an in-memory Kea for unit tests

Errors (all ``services.common.errors.DaemonError``):

    KeaError              Kea could not be reached or answered something unreadable
    └── KeaCommandError   Kea answered result 1 (error) or 2 (unsupported)
"""

from __future__ import annotations

import json
import logging
import socket
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

import httpx

from services.common.dhcp.options import Family
from services.common.errors import DaemonError

log = logging.getLogger(__name__)

Json = dict[str, Any]


class Result(IntEnum):
    """Kea's result codes (Kea manual 17.2, "Data Syntax")."""

    OK = 0
    ERROR = 1
    UNSUPPORTED = 2
    EMPTY = 3


class KeaError(DaemonError):
    """Kea could not be reached, or its answer could not be read."""

    code = "kea-error"


class KeaCommandError(KeaError):
    """Kea answered a command with an error or "unsupported"."""

    code = "kea-command-failed"

    def __init__(self, command: str, answer: Answer) -> None:
        super().__init__(f"Kea refused {command}: {answer.text}")
        self.command = command
        self.answer = answer


@dataclass(frozen=True)
class Answer:
    """One daemon's answer to a command."""

    result: Result
    text: str = ""
    arguments: Json = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result in (Result.OK, Result.EMPTY)


class Transport(Protocol):
    """Sends one command to one Kea daemon and returns its answer object."""

    def send(self, command: str, service: str, arguments: Json | None) -> Json: ...

    def close(self) -> None: ...


class ControlAgentTransport:
    """The Kea Control Agent's REST interface (``POST /``), basic authentication."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        timeout: float = 30.0,
        via_control_agent: bool = True,
    ) -> None:
        self.url = url
        self.via_control_agent = via_control_agent
        self._http = httpx.Client(auth=(user, password), timeout=timeout)

    def send(self, command: str, service: str, arguments: Json | None) -> Json:
        body: Json = {"command": command}
        if self.via_control_agent:
            body["service"] = [service]
        if arguments is not None:
            body["arguments"] = arguments
        try:
            response = self._http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise KeaError(f"The Kea Control Agent at {self.url} is unreachable: {exc}") from exc
        try:
            decoded = response.json()
        except ValueError as exc:
            raise KeaError(f"Kea answered HTTP {response.status_code} without JSON") from exc
        # A failed login is one object with result 401 rather than a list (FIELD-NOTES).
        if isinstance(decoded, dict):
            if decoded.get("result") == 401 or response.status_code == 401:
                raise KeaError("The Kea Control Agent refused Burrow's credentials")
            return decoded
        if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], dict):
            raise KeaError(f"Kea answered {command} with something unexpected: {decoded!r:.200}")
        return dict(decoded[0])

    def close(self) -> None:
        self._http.close()


class ControlSocketTransport:
    """The unix control socket of each daemon (Kea manual 8.8, "Management API").

    Kea answers one command per connection with one JSON object and closes it.
    """

    def __init__(self, sockets: dict[str, str], *, timeout: float = 30.0) -> None:
        self.sockets = sockets  # "dhcp4" / "dhcp6" -> socket path
        self.timeout = timeout

    def send(self, command: str, service: str, arguments: Json | None) -> Json:
        body: Json = {"command": command}
        if arguments is not None:
            body["arguments"] = arguments
        path = self.sockets[service]
        chunks: list[bytes] = []
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(path)
                conn.sendall(json.dumps(body).encode())
                while True:
                    data = conn.recv(1 << 20)
                    if not data:
                        break
                    chunks.append(data)
                    if data.rstrip().endswith(b"}"):
                        try:
                            return dict(json.loads(b"".join(chunks)))
                        except ValueError:
                            continue  # a "}" inside the answer: keep reading
        except OSError as exc:
            raise KeaError(f"Kea's {service} control socket {path} is unreachable: {exc}") from exc
        try:
            return dict(json.loads(b"".join(chunks)))
        except ValueError as exc:
            raise KeaError(f"Kea's {service} answered {command} with something unreadable") from exc

    def close(self) -> None:
        return None


def service_of(family: Family) -> str:
    return "dhcp4" if family == "v4" else "dhcp6"


class KeaClient:
    """Typed commands to the dhcp4 and dhcp6 daemons over one transport."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def command(
        self,
        command: str,
        family: Family,
        arguments: Json | None = None,
        *,
        allow: tuple[Result, ...] = (Result.OK, Result.EMPTY),
    ) -> Answer:
        raw = self.transport.send(command, service_of(family), arguments)
        try:
            result = Result(int(raw.get("result", -1)))
        except ValueError as exc:
            raise KeaError(f"Kea answered {command} with result {raw.get('result')!r}") from exc
        answer = Answer(result, str(raw.get("text", "")), dict(raw.get("arguments") or {}))
        log.debug("kea %s %s -> %s", service_of(family), command, result.name)
        if result not in allow:
            raise KeaCommandError(command, answer)
        return answer

    # --- configuration ---------------------------------------------------------
    def config_get(self, family: Family) -> Json:
        """The daemon's in-memory configuration, ``{"Dhcp4": {...}}``."""
        arguments = self.command("config-get", family).arguments
        arguments.pop("hash", None)  # Kea >= 2.4 adds it; Burrow computes its own
        return arguments

    def config_test(self, family: Family, config: Json) -> Answer:
        return self.command("config-test", family, config, allow=(Result.OK, Result.ERROR))

    def config_set(self, family: Family, config: Json) -> Answer:
        return self.command("config-set", family, config, allow=(Result.OK, Result.ERROR))

    def config_write(self, family: Family) -> Answer:
        return self.command("config-write", family, allow=(Result.OK, Result.ERROR))

    def config_reload(self, family: Family) -> Answer:
        return self.command("config-reload", family)

    def status(self, family: Family) -> Json:
        return self.command("status-get", family).arguments

    def close(self) -> None:
        self.transport.close()
