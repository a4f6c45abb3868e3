"""The wire contract of the appliance-agent (4603) and of the restore receiver (4604, 4605).

Request and response models shared by both sides: the agent and the receiver declare their
routes with them, ``ApplianceAgentClient`` (services.common.appliance.client) sends and
reads them for Central. Every error is problem JSON of ``services.common.problems``.

The appliance-agent (mutual TLS with a certificate of the appliance CA; Central's own)::

    GET    /health                              -> AgentHealth
    PUT    /pki/crl         (PEM)               -> 204
    GET    /network                             -> NetworkSettings
    PUT    /network         NetworkChange       -> NetworkSettings
    GET    /diag-shell                          -> DiagShellView
    PUT    /diag-shell      DiagShellChange     -> DiagShellView
    GET    /backup/peer                         -> PeerView
    PUT    /backup/peer     PeerRequest         -> PeerView
    DELETE /backup/peer                         -> Unpaired
    GET    /backup/status                       -> BackupStatus
    POST   /backup/now      BackupRequest       -> BackupResult
    GET    /backup/snapshots                    -> SnapshotList
    GET    /backup/snapshots/{id}/bundle        -> the bundle (application/octet-stream)
    POST   /backup/initialize                   -> ApplianceState

The restore receiver (4604: TLS, the restore code in ``X-Burrow-Restore-Code``; 4605: mutual
TLS with the one Central of ``restore_from``, no code)::

    GET    /identity                            -> Identity
    POST   /restore         (the bundle)        -> 202 RestoreAccepted
    GET    /restore  ?after=AT&wait=S           -> RestoreProgress (S: wait for a change)
    POST   /initialize                          -> ApplianceState
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.common.agent_contract import AgentHealth
from services.common.model import Input
from services.common.network import NetworkChange, NetworkSettings

__all__ = [
    "RESTORE_CODE_HEADER",
    "AgentHealth",
    "ApplianceState",
    "BackupRequest",
    "BackupResult",
    "BackupStatus",
    "DiagShellChange",
    "DiagShellView",
    "Identity",
    "NetworkChange",
    "NetworkSettings",
    "PeerRequest",
    "PeerView",
    "RestoreAccepted",
    "RestoreProgress",
    "Snapshot",
    "SnapshotList",
    "Unpaired",
]

#: The header that carries the restore code shown on the appliance's console (port 4604).
RESTORE_CODE_HEADER = "X-Burrow-Restore-Code"

StateName = Literal["uninitialized", "active", "restoring"]
BackupKind = Literal["full", "incremental"]


# --- the diagnostic shell --------------------------------------------------------------------
PublicKey = Annotated[str, Field(min_length=16, max_length=16384)]


class DiagShellChange(Input):
    """A new password and/or a new list of authorized keys for ``diag`` (``null`` or left
    out: leave as it is)."""

    password: str | None = Field(
        default=None, min_length=12, max_length=256, description="at least 12 characters"
    )
    authorized_keys: list[PublicKey] | None = Field(
        default=None, max_length=100, description="OpenSSH public keys (replaces the list)"
    )


class DiagShellView(BaseModel):
    """What may be shown of the shell's credentials: never the password or its hash."""

    user: str = Field(description="always diag")
    password_set: bool
    authorized_keys: list[str]
    idle_timeout: int = Field(description="seconds without input before a session is closed")


# --- backups ----------------------------------------------------------------------------------
class PeerRequest(Input):
    """What pairing needs: the peer Central's address and port, its one-time token and the
    fingerprint of its certificate."""

    address: str = Field(max_length=64, description="the peer's IPv4 address")
    port: int = Field(default=1231, ge=1, le=65535)
    token: str = Field(min_length=1, max_length=256)
    fingerprint: str = Field(min_length=64, max_length=200, description="sha256:<hex>")

    @field_validator("address")
    @classmethod
    def _ipv4(cls, value: str) -> str:
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise ValueError("not an IPv4 address") from None


class PeerView(BaseModel):
    """The peer Central this appliance sends its backups to (``paired: false`` if none)."""

    paired: bool
    address: str | None = None
    port: int | None = None
    fingerprint: str | None = None
    peer_id: int | str | None = Field(default=None, description="this appliance's id there")
    paired_at: str | None = None


class Unpaired(BaseModel):
    """The answer of unpairing: the peer that was there, if any."""

    paired: Literal[False] = False
    was: PeerView | None = None


class BackupRequest(Input):
    """Back up now."""

    kind: BackupKind = "incremental"


class BackupResult(BaseModel):
    """A snapshot collected now; ``sent`` counts the snapshots the peer recorded, ``error``
    says why the rest wait in the outbox."""

    root: str
    kind: BackupKind
    sequence: int
    created_at: str
    size: int
    collect_seconds: float
    sent: int
    sent_bytes: int
    outbox: int
    error: str | None = None


class BackupStatus(BaseModel):
    """``backup-status.json``: the appliance's state, its peer, the last backups, the outbox."""

    model_config = ConfigDict(extra="allow")
    state: str = Field(description="uninitialized, active, restoring (unknown before the "
                       "appliance-agent wrote it)")  # fmt: skip
    peer: dict[str, Any] | None = None
    last_full: dict[str, Any] | None = None
    last_incremental: dict[str, Any] | None = None
    outbox: int = 0
    last_error: str | None = None
    appliance_id: str | None = None
    restore: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str | None = None
    restore_code: str | None = Field(default=None, description="shown while uninitialized")
    last_collected: dict[str, Any] | None = None
    last_sent_bytes: int = 0
    central_database: str | None = Field(default=None, description="sqlite or external")
    changes: int = Field(default=0, description="Central's changes counted so far")
    changes_stored: int = Field(
        default=0, description="how many of them a snapshot stored at the peer holds"
    )
    changes_not_at_peer: int = Field(default=0, description="changes not at the peer yet")


class Snapshot(BaseModel):
    """One snapshot of this appliance as the peer stores it."""

    model_config = ConfigDict(extra="allow")
    id: int
    root: str
    kind: BackupKind
    sequence: int
    created_at: str
    size: int


class SnapshotList(BaseModel):
    """This appliance's snapshots on its peer (none when it is not paired)."""

    paired: bool
    items: list[Snapshot]


class ApplianceState(BaseModel):
    """The appliance's state after "use as a new appliance" (or a restore's end)."""

    state: StateName
    appliance_id: str


# --- the restore receiver --------------------------------------------------------------------
class Identity(BaseModel):
    """Who answers on 4604: asked before a restore, sends nothing secret."""

    state: StateName
    appliance_id: str
    fingerprint: str | None = Field(
        description="sha256:<hex> of the certificate this listener shows"
    )
    hostname: str
    address: str
    version: str


class RestoreAccepted(BaseModel):
    """The bundle was received and checked; it is being applied."""

    state: Literal["applying"] = "applying"


class RestoreTiming(BaseModel):
    """One step of a restore and its time (services.appliance.backup.timeline)."""

    step: str = Field(description="receive, check, stop, write, network, start, named, kea, "
                      "central or healthy")  # fmt: skip
    at: float = Field(description="its start, in seconds from the restore's start")
    seconds: float = Field(description="how long it took")


class RestoreProgress(BaseModel):
    """Where a restore is (kept in a file, so it survives the agent's restart)."""

    state: Literal["idle", "receiving", "applying", "restarting", "done", "failed"]
    step: str = ""
    error: str | None = None
    at: float | None = Field(
        default=None, description="when this was reported (Unix time); give it as ?after="
    )
    seconds: float | None = Field(
        default=None, description="seconds since the bundle began to arrive"
    )
    timings: list[RestoreTiming] = Field(
        default_factory=list, description="every step that has ended, with its duration"
    )
