"""The one way to call an agent: a transport under a client that maps every answer the same way.

Every agent client (``DnsAgentClient``, ``DhcpAgentClient``, ``ApplianceAgentClient``) derives
from ``AgentClient`` and sends typed models through a ``Transport``. Central's transport is
pinned mutual TLS (``central.registry.agent_client.PinnedTransport``); tests and tools may use
``HttpxTransport``. Answers map the same way for every agent:

- 2xx: the decoded body (validated into the route's response model by the typed method);
- 4xx: the same status, detail and every problem the agent found (``error_from_answer``);
- 5xx: ``DaemonError`` (502) saying which agent failed, with its problems;
- no connection (refused, timed out before sending, a certificate other than the pinned
  one): ``UnavailableError`` (503, ``Retry-After``): nothing was changed;
- the connection lost after the request was sent: a read becomes ``UnavailableError``; a
  change becomes ``OutcomeUnknownError`` (504): the agent may have applied it. A caller that
  changes something settles it by reading the daemon's state back (``settle``) before it
  answers, so that its answer and its history say what really happened.

What a transport raises:

TransportError          base
├── ConnectFailedError  the request was not sent: nothing happened
└── AnswerLostError     the request was sent and the answer lost
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import httpx
import orjson
from pydantic import BaseModel, TypeAdapter

from services.common.agent_contract import CRL_MEDIA_TYPE, AgentHealth
from services.common.errors import BurrowError, UnavailableError
from services.common.problems import error_from_answer

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
C = TypeVar("C", bound="AgentClient")

#: Seconds a caller is told to wait before trying an unreachable agent again.
RETRY_AFTER = 5


class TransportError(Exception):
    """The agent's answer could not be had."""


class ConnectFailedError(TransportError):
    """The request was never sent (refused, unreachable, TLS or pin failure)."""


class AnswerLostError(TransportError):
    """The request was sent and the connection lost before the answer: it may have applied."""


class OutcomeUnknownError(BurrowError):
    """A change was sent and its answer lost: it may or may not have been applied."""

    code = "outcome-unknown"
    status = 504
    title = "Outcome unknown"


def plain_reason(exc: BaseException) -> str:
    """Why a connection failed, in words rather than errno numbers."""
    import errno
    import socket
    import ssl

    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused: nothing listens on that port"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer in time"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "the connection was closed by the other side"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"the TLS handshake failed ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "the address cannot be reached (no route)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc) or type(exc).__name__


class Transport(Protocol):
    """Sends one request to an agent; returns the status and the body's bytes."""

    def request(
        self, method: str, path: str, body: bytes | None, *, content_type: str, timeout: float
    ) -> tuple[int, bytes]: ...

    @property
    def where(self) -> str:
        """The agent's address, for messages (``198.51.100.2:1337``)."""
        ...


class HttpxTransport:
    """A transport over httpx with a TLS context (a tool's or a test's)."""

    def __init__(self, base_url: str, tls: ssl.SSLContext | bool = True) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, verify=tls)

    @property
    def where(self) -> str:
        return self.base_url

    def request(
        self, method: str, path: str, body: bytes | None, *, content_type: str, timeout: float
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type} if body is not None else {}
        try:
            answer = self.http.request(method, path, content=body, headers=headers, timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ConnectFailedError(plain_reason(exc.__cause__ or exc)) from exc
        except httpx.TransportError as exc:
            raise AnswerLostError(plain_reason(exc.__cause__ or exc)) from exc
        return answer.status_code, answer.content

    def close(self) -> None:
        self.http.close()


def decode(data: bytes) -> Any:
    """An answer's body: JSON decoded, other text as it is, nothing as None."""
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data.decode(errors="replace")


class AgentClient:
    """Base of the typed agent clients: one ``call`` that maps answers as the module says."""

    #: The program's name in messages (``dns-agent``).
    agent = "agent"
    #: Seconds a call may take unless the method says otherwise.
    timeout = 30.0

    def __init__(self, transport: Transport, *, timeout: float | None = None) -> None:
        self.transport = transport
        if timeout is not None:
            self.timeout = timeout

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def who(self) -> str:
        return f"The {self.agent} at {self.transport.where}"

    def call(
        self,
        method: str,
        path: str,
        body: BaseModel | Any = None,
        *,
        timeout: float | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request and return the decoded answer, or raise as the module says."""
        return decode(
            self.exchange(method, path, body, timeout=timeout, raw=raw, content_type=content_type)
        )

    def exchange(
        self,
        method: str,
        path: str,
        body: BaseModel | Any = None,
        *,
        timeout: float | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        """``call`` with the answer's body as bytes, not decoded (errors raised the same)."""
        data = raw
        if data is None and body is not None:
            if isinstance(body, BaseModel):
                data = orjson.dumps(body.model_dump(mode="json", exclude_unset=True))
            else:
                data = orjson.dumps(body)
        try:
            status, answer = self.transport.request(
                method, path, data, content_type=content_type, timeout=timeout or self.timeout
            )
        except ConnectFailedError as exc:
            raise UnavailableError(
                f"{self.who} cannot be reached; nothing was changed.",
                hint=f"check that the {self.agent} is running: {exc}",
                retry_after=RETRY_AFTER,
            ) from exc
        except AnswerLostError as exc:
            if method in ("GET", "HEAD"):
                raise UnavailableError(
                    f"{self.who} stopped answering.", retry_after=RETRY_AFTER
                ) from exc
            raise OutcomeUnknownError(
                f"{self.who} stopped answering after the change was sent; it may or may not "
                "have been applied.",
                hint="read the object again to see",
            ) from exc
        if status < 400:
            return answer
        raise error_from_answer(status, decode(answer), who=self.who)

    def model(
        self, model: type[M], method: str, path: str, body: BaseModel | Any = None, **kw: Any
    ) -> M:
        """``call`` with the answer validated into ``model`` (straight from the JSON text:
        quicker than decoding it first, for a zone's 60,000 records)."""
        return model.model_validate_json(self.exchange(method, path, body, **kw))

    def adapted(
        self, adapter: TypeAdapter[T], method: str, path: str, body: Any = None, **kw: Any
    ) -> T:
        """``call`` with the answer validated by ``adapter`` (for lists)."""
        return adapter.validate_python(self.call(method, path, body, **kw))

    # --- what every agent serves (services.common.agent_contract) ---------------------------
    def health(self, *, timeout: float | None = None) -> AgentHealth:
        """``GET /health``: the agent is up; what it sees of its daemon."""
        return self.model(AgentHealth, "GET", "/health", timeout=timeout)

    def replace_crl(self, pem: bytes, *, timeout: float | None = None) -> None:
        """``PUT /pki/crl``: a newer revocation list of the appliance CA."""
        self.call("PUT", "/pki/crl", raw=pem, content_type=CRL_MEDIA_TYPE, timeout=timeout)


def settle(change: Callable[[], T], read_back: Callable[[], T], *, what: str) -> T:
    """Run ``change``; if its answer was lost after sending, answer what ``read_back`` finds.

    ``read_back`` reads the daemon's state again (and may raise ``UnavailableError`` if the
    agent is still gone: then the outcome stays unknown and the caller is told so).
    """
    try:
        return change()
    except OutcomeUnknownError as lost:
        log.warning("%s: the answer was lost (%s); reading the state back", what, lost)
        try:
            return read_back()
        except BurrowError as exc:
            raise OutcomeUnknownError(
                f"{what}: the agent stopped answering after the change was sent, and its "
                "state cannot be read back yet; the change may or may not have been applied.",
                hint="read the object again in a few seconds",
            ) from exc
