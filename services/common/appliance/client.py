"""A typed client of the appliance-agent's API, for Central: contract models in and out.

One method per route of ``services.common.appliance.contract``. Answers are mapped by
``services.common.agent_client``, the same way for every agent: a 4xx keeps its status and
every problem, an unreachable agent is 503 with ``Retry-After``.

A snapshot's bundle can be large: over a transport that can stream (``StreamingTransport``,
Central's ``PinnedTransport``) ``bundle`` hands it on piece by piece; over another it is
read whole.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from services.common.agent_client import (
    RETRY_AFTER,
    AgentClient,
    AnswerLostError,
    ConnectFailedError,
    HttpxTransport,
    decode,
)
from services.common.appliance.contract import (
    ApplianceState,
    BackupRequest,
    BackupResult,
    BackupStatus,
    DiagShellChange,
    DiagShellView,
    NetworkChange,
    NetworkSettings,
    PeerRequest,
    PeerView,
    SnapshotList,
    Unpaired,
)
from services.common.errors import UnavailableError
from services.common.problems import error_from_answer


@runtime_checkable
class StreamingTransport(Protocol):
    """A transport that can hand on a large answer piece by piece."""

    def stream(self, method: str, path: str, *, timeout: float) -> tuple[int, Iterator[bytes]]:
        """Send a request without a body; the status and an iterator over the answer's body
        (which closes the connection when it is exhausted or closed)."""
        ...


class ApplianceAgentClient(AgentClient):
    """The appliance-agent of one appliance, over any ``Transport``."""

    agent = "appliance-agent"
    timeout = 30.0
    #: Collecting and sending a backup, or pairing with a slow peer, takes its time.
    backup_timeout = 300.0

    @classmethod
    def over_https(cls, base_url: str, tls: ssl.SSLContext) -> ApplianceAgentClient:
        """A client of the appliance-agent at ``base_url`` (``https://ADDRESS:4603``)."""
        return cls(HttpxTransport(base_url, tls))

    # --- the network ----------------------------------------------------------------------
    def network(self) -> NetworkSettings:
        return self.model(NetworkSettings, "GET", "/network")

    def change_network(self, change: NetworkChange) -> NetworkSettings:
        return self.model(NetworkSettings, "PUT", "/network", change)

    # --- the diagnostic shell -------------------------------------------------------------
    def diag_shell(self) -> DiagShellView:
        return self.model(DiagShellView, "GET", "/diag-shell")

    def set_diag_shell(self, change: DiagShellChange) -> DiagShellView:
        return self.model(DiagShellView, "PUT", "/diag-shell", change)

    # --- backups --------------------------------------------------------------------------
    def backup_peer(self) -> PeerView:
        return self.model(PeerView, "GET", "/backup/peer")

    def pair(self, request: PeerRequest) -> PeerView:
        return self.model(PeerView, "PUT", "/backup/peer", request, timeout=60)

    def unpair(self) -> Unpaired:
        return self.model(Unpaired, "DELETE", "/backup/peer")

    def backup_status(self) -> BackupStatus:
        return self.model(BackupStatus, "GET", "/backup/status")

    def back_up_now(self, request: BackupRequest) -> BackupResult:
        return self.model(BackupResult, "POST", "/backup/now", request, timeout=self.backup_timeout)

    def snapshots(self) -> SnapshotList:
        return self.model(SnapshotList, "GET", "/backup/snapshots", timeout=60)

    def initialize(self) -> ApplianceState:
        return self.model(ApplianceState, "POST", "/backup/initialize")

    def bundle(self, snapshot_id: int) -> Iterator[bytes]:
        """The bundle of snapshot ``snapshot_id``, fetched by the agent from the peer.

        Raises (as every call) before the first byte when the agent or the peer refuses;
        the pieces follow as they arrive.
        """
        path = f"/backup/snapshots/{snapshot_id}/bundle"
        transport = self.transport
        try:
            if isinstance(transport, StreamingTransport):
                status, pieces = transport.stream("GET", path, timeout=self.backup_timeout)
            else:
                status, whole = transport.request(
                    "GET", path, None, content_type="application/json",
                    timeout=self.backup_timeout,
                )  # fmt: skip
                pieces = iter([whole])
        except (ConnectFailedError, AnswerLostError) as exc:
            raise UnavailableError(
                f"{self.who} cannot be reached; nothing was read.",
                hint=f"check that the {self.agent} is running ({exc})",
                retry_after=RETRY_AFTER,
            ) from exc
        if status >= 400:
            body = b"".join(pieces)
            raise error_from_answer(status, decode(body), who=self.who)
        return pieces
