"""What the backup endpoints take and give: pairing, peers, snapshots, replacements.

Request bodies derive from ``services.common.model.Input`` (unknown fields refused, nothing
coerced); the ``*Public`` models are the answers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.model import Input

MAX_HASHES = 10_000

ReplacementState = Literal["offered", "approved", "restoring", "restored", "failed", "dismissed"]


# --- requests --------------------------------------------------------------------------------
class PairingTokenRequest(Input):
    """Ask for a pairing token for the appliance at ``address``."""

    address: str = Field(max_length=64, description="the IPv4 address of the appliance S")
    comment: str = Field(default="", max_length=1000)


class PairRequest(Input):
    """What S's appliance-agent sends to pair."""

    token: str = Field(min_length=1, max_length=200)
    appliance_id: str = Field(min_length=1, max_length=64)
    hostname: str = Field(default="", max_length=255)
    address: str = Field(max_length=64)
    agent_certificate: str = Field(min_length=1, max_length=20000)


class MissingRequest(Input):
    """Which of these chunks does the store lack?"""

    hashes: list[str] = Field(max_length=MAX_HASHES)


class SnapshotCreate(Input):
    """A snapshot whose chunks have all been sent."""

    root: str = Field(min_length=64, max_length=64)
    kind: str = Field(pattern=r"^(full|incremental)$")
    created_at: str = Field(max_length=40)
    sequence: int = Field(default=0, ge=0, le=2**62)
    size: int = Field(default=0, ge=0, le=2**62)


class ApproveRequest(Input):
    """Restore onto the replacement: its fingerprint as read on its console, its code."""

    fingerprint: str = Field(max_length=120)
    restore_code: str | None = Field(default=None, max_length=32)
    snapshot_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    comment: str = Field(default="", max_length=1000)


class DismissRequest(Input):
    """Do not restore; with the code the replacement is told to become a new appliance."""

    restore_code: str | None = Field(default=None, max_length=32)
    comment: str = Field(default="", max_length=1000)


# --- answers ---------------------------------------------------------------------------------
class PairingTokenIssued(BaseModel):
    """A one-time pairing token (shown once) and the fingerprint the peer is to pin."""

    id: int
    token: str = Field(description="the secret; shown in this answer only")
    address: str
    expires_at: dt.datetime
    central_fingerprint: str = Field(description="sha256:<hex> of this Central's certificate")


class Paired(BaseModel):
    """The store credential of a newly paired peer (shown once)."""

    peer_id: int
    credential: str = Field(description="for Authorization: Backup <credential>")
    central_fingerprint: str


class SnapshotPublic(BaseModel):
    """One stored snapshot of a peer."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    peer_id: int
    root: str = Field(description="sha256 of the snapshot's manifest chunk")
    kind: Literal["full", "incremental"]
    created_at: str = Field(description="when the peer made it, as it said")
    sequence: int
    size: int
    chunks: int
    received_at: dt.datetime


class BackupPeerPublic(BaseModel):
    """A paired appliance: its identity, pinned certificate and reachability."""

    id: int
    appliance_id: str
    hostname: str
    address: str
    agent_fingerprint: str
    comment: str
    paired_at: dt.datetime
    last_upload_at: dt.datetime | None
    reachable: bool | None = Field(description="none until first checked")
    last_check_at: dt.datetime | None
    last_check_error: str
    identity: dict[str, Any] | None = Field(description="what it last said of itself")


class BackupPeerListed(BackupPeerPublic):
    """A paired appliance in the list, with its snapshot count and latest snapshot."""

    snapshots: int
    latest_snapshot: SnapshotPublic | None


class BackupPeerDetail(BackupPeerPublic):
    """A paired appliance with its snapshot count and the bytes its chunks take."""

    snapshots: int
    stored_bytes: int


class MissingChunks(BaseModel):
    """The asked-for chunks the store does not have."""

    missing: list[str]


class ReplacementPublic(BaseModel):
    """An offer to restore a peer onto the uninitialized appliance found at its address."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    address: str
    peer_id: int
    fingerprint: str = Field(description="of the certificate the replacement presents")
    appliance_id: str
    hostname: str
    state: ReplacementState
    step: str
    error: str
    snapshot_id: int | None
    approved_by: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    approved_at: dt.datetime | None
    finished_at: dt.datetime | None
