"""A Kea client behind a transport interface, with Kea's result codes as types.

Transports (httpx's pattern: one interface, a real and an in-memory implementation):

    Transport               send one command to one daemon, get its answer
    ├── ControlAgentTransport   the Kea Control Agent over HTTP with basic auth (Kea 2.2);
    │                           from Kea 2.7 the daemons listen on HTTP themselves: the same
    │                           transport pointed at a daemon's address, without ``service``
    ├── ControlSocketTransport  the daemons' own unix control sockets (what the Control Agent
    │                           forwards to); much faster for large configurations
    └── services.dhcp.memory.MemoryKea   an in-memory Kea for unit tests

Which one the dhcp-agent uses is a setting (``services.dhcp.__main__``). Requests and answers
are bytes at the interface: ``ConfigEditor`` serialises a configuration once for config-test
and config-set, and recognises an unchanged configuration by the bytes of config-get.

Errors (all ``services.common.errors.DaemonError``):

    KeaError              Kea could not be reached or answered something unreadable
    └── KeaCommandError   Kea answered result 1 (error) or 2 (unsupported)
"""

from __future__ import annotations

import errno
import logging
import socket
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

import httpx
import orjson

from services.common.dhcp.options import Family
from services.common.errors import DaemonError
from services.dhcp.refusals import plain

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
        what = "does not support" if answer.result == Result.UNSUPPORTED else "refused"
        super().__init__(f"The DHCP server (Kea) {what} {command}: {plain(answer.text)}.")
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
    """Sends one command to one Kea daemon and returns its answer.

    ``exchange`` carries bytes both ways: the arguments already serialised (a large
    configuration is serialised once for config-test and config-set) and the answer as Kea
    sent it (so an unchanged configuration can be recognised without parsing it); ``decode``
    takes the one daemon's answer object out of it.
    """

    def exchange(self, command: str, service: str, arguments: bytes | None) -> bytes: ...

    def decode(self, command: str, raw: bytes) -> Json: ...

    def close(self) -> None: ...


def encode(value: Any) -> bytes:
    """Compact JSON (orjson: several times faster than ``json`` on a large configuration)."""
    return orjson.dumps(value)


def request_body(command: str, arguments: bytes | None, service: str | None = None) -> bytes:
    """A command as Kea reads it, around arguments that are already JSON."""
    body = b'{"command":' + encode(command)
    if service is not None:
        body += b',"service":' + encode([service])
    if arguments is not None:
        body += b',"arguments":' + arguments
    return body + b"}"


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
        # The Control Agent parses and re-writes the command before a daemon reads it: the
        # positions in a daemon's errors then count in text Burrow never saw.
        self.exact_positions = not via_control_agent
        self._http = httpx.Client(auth=(user, password), timeout=timeout)

    def exchange(self, command: str, service: str, arguments: bytes | None) -> bytes:
        body = request_body(command, arguments, service if self.via_control_agent else None)
        try:
            response = self._http.post(
                self.url, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TimeoutException as exc:
            why = f"the Kea Control Agent did not answer within {self._http.timeout.read} s"
            raise unreachable(service, why, "kea-ctrl-agent") from exc
        except httpx.HTTPError as exc:
            raise unreachable(
                service, f"the Kea Control Agent at {self.url} does not answer ({_why(exc)})",
                "kea-ctrl-agent",
            ) from exc  # fmt: skip
        if response.status_code == 401:
            raise KeaError(
                "The Kea Control Agent refused Burrow's credentials.",
                hint="the password in var/lib/burrow/secrets/kea-api-password and the Control "
                "Agent's configuration differ; restart the appliance's services",
            )
        return response.content

    def decode(self, command: str, raw: bytes) -> Json:
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise KeaError(f"Kea answered {command} without JSON") from exc
        # A failed login is one object with result 401 rather than a list (FIELD-NOTES).
        if isinstance(decoded, dict):
            if decoded.get("result") == 401:
                raise KeaError("The Kea Control Agent refused Burrow's credentials.")
            return decoded
        if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], dict):
            raise KeaError(f"Kea answered {command} with something other than a result.")
        return dict(decoded[0])

    def close(self) -> None:
        self._http.close()


class ControlSocketTransport:
    """The unix control socket of each daemon (Kea manual 8.8, "Management API").

    Kea answers one command per connection with one JSON object and closes the connection:
    the answer is read to the end of the stream.
    """

    #: Kea reads the command as it is sent: positions in its errors count in these bytes.
    exact_positions = True

    def __init__(self, sockets: dict[str, str], *, timeout: float = 30.0) -> None:
        self.sockets = sockets  # "dhcp4" / "dhcp6" -> socket path
        self.timeout = timeout

    def exchange(self, command: str, service: str, arguments: bytes | None) -> bytes:
        path = self.sockets[service]
        chunks: list[bytes] = []
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout)
                conn.connect(path)
                conn.sendall(request_body(command, arguments))
                while data := conn.recv(1 << 20):
                    chunks.append(data)
        except TimeoutError as exc:
            raise unreachable(service, f"it did not answer within {self.timeout} s") from exc
        except OSError as exc:
            raise unreachable(service, f"{_why(exc)} (its control socket {path})") from exc
        return b"".join(chunks)

    def decode(self, command: str, raw: bytes) -> Json:
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if not raw:
                raise KeaError(f"Kea closed the connection without answering {command}.") from exc
            raise KeaError(f"Kea answered {command} with something other than JSON.") from exc
        if not isinstance(decoded, dict):
            raise KeaError(f"Kea answered {command} with something other than a result.")
        return decoded

    def close(self) -> None:
        return None


#: The daemons by their control service name, for messages.
DAEMONS = {"dhcp4": ("DHCPv4", "kea-dhcp4"), "dhcp6": ("DHCPv6", "kea-dhcp6")}

_ERRNO_WORDS = {
    errno.ECONNREFUSED: "nothing listens there: the server is not running",
    errno.ENOENT: "its control socket does not exist: the server is not running",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ECONNRESET: "it closed the connection",
    errno.EPIPE: "it closed the connection",
}


def _why(exc: BaseException) -> str:
    """An OS or HTTP error in plain words (``[Errno 111] Connection refused`` -> "nothing
    listens there: the server is not running")."""
    number = getattr(exc, "errno", None)
    cause = exc.__cause__ or exc.__context__
    if number is None and cause is not None:
        number = getattr(cause, "errno", None)
    if number in _ERRNO_WORDS:
        return _ERRNO_WORDS[number]
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return str(reason).lower()


def unreachable(service: str, why: str, program: str | None = None) -> KeaError:
    """Kea's ``service`` daemon cannot be reached, said in plain words with what to check."""
    label, daemon = DAEMONS.get(service, (service, f"kea-{service}"))
    return KeaError(
        f"The {label} server (Kea) cannot be reached: {why}.",
        hint=f"check that {program or daemon} is running (supervisorctl status); "
        "supervisord restarts it if it stopped",
    )


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
        arguments: Json | bytes | None = None,
        *,
        allow: tuple[Result, ...] = (Result.OK, Result.EMPTY),
    ) -> Answer:
        """Send ``command``; ``arguments`` as a dict or already serialised JSON."""
        raw = self.exchange(command, family, arguments)
        return self.answer(command, family, raw, allow=allow)

    def arguments_offset(self, command: str) -> int | None:
        """Where the arguments start in the command as Kea reads it (for the positions in its
        errors), or None when the transport re-writes the command (the Control Agent)."""
        if not getattr(self.transport, "exact_positions", False):
            return None
        return len(request_body(command, b"")) - 1

    def exchange(self, command: str, family: Family, arguments: Json | bytes | None) -> bytes:
        """The raw answer to ``command`` (see ``answer`` to read it)."""
        if arguments is not None and not isinstance(arguments, bytes):
            arguments = encode(arguments)
        return self.transport.exchange(command, service_of(family), arguments)

    def answer(
        self,
        command: str,
        family: Family,
        raw: bytes,
        *,
        allow: tuple[Result, ...] = (Result.OK, Result.EMPTY),
    ) -> Answer:
        """Read a raw answer; a result outside ``allow`` raises KeaCommandError."""
        decoded = self.transport.decode(command, raw)
        try:
            result = Result(int(decoded.get("result", -1)))
        except ValueError as exc:
            raise KeaError(f"Kea answered {command} with result {decoded.get('result')!r}") from exc
        arguments = decoded.get("arguments") or {}
        if not isinstance(arguments, dict):  # e.g. list-commands: a list
            arguments = {"items": arguments}
        answer = Answer(result, str(decoded.get("text", "")), arguments)
        log.debug("kea %s %s -> %s", service_of(family), command, result.name)
        if result not in allow:
            raise KeaCommandError(command, answer)
        return answer

    # --- configuration ---------------------------------------------------------
    def config_get(self, family: Family) -> Json:
        """The daemon's in-memory configuration, ``{"Dhcp4": {...}}``."""
        return self.config_from(family, self.config_get_raw(family))

    def config_get_raw(self, family: Family) -> bytes:
        """Kea's answer to config-get as it came: equal bytes, equal configuration."""
        return self.exchange("config-get", family, None)

    def config_from(self, family: Family, raw: bytes) -> Json:
        """The configuration in a raw config-get answer."""
        arguments = self.answer("config-get", family, raw).arguments
        arguments.pop("hash", None)  # Kea >= 2.4 adds it; Burrow computes its own
        return arguments

    def config_test(self, family: Family, config: Json | bytes) -> Answer:
        return self.command("config-test", family, config, allow=(Result.OK, Result.ERROR))

    def config_set(self, family: Family, config: Json | bytes) -> Answer:
        return self.command("config-set", family, config, allow=(Result.OK, Result.ERROR))

    def config_write(self, family: Family) -> Answer:
        return self.command("config-write", family, allow=(Result.OK, Result.ERROR))

    def config_reload(self, family: Family) -> Answer:
        return self.command("config-reload", family)

    def status(self, family: Family) -> Json:
        return self.command("status-get", family).arguments

    def close(self) -> None:
        self.transport.close()
