"""Pairing this appliance (S) with a peer Central (P), and undoing it.

S's Central calls ``PUT /backup/peer`` on its appliance-agent with P's address, port, the
one-time token and P's certificate fingerprint; the agent calls
``POST https://P:port/api/v1/backup-peers/pair`` with the token, its appliance id, hostname,
address and its own certificate (PEM), trusting only a certificate with that fingerprint.
P answers the ``peer_id`` and the credential; S keeps ``backup/peer.json`` and
``secrets/backup-credential`` (0600), becomes ``active`` and starts with a full backup.

Refusals, as S's Central answers them: a certificate other than the pinned one → 422 naming
``fingerprint`` ("the peer presented sha256:X, expected sha256:Y"); P refusing the token
(bad, used, expired: P's 401) or the caller's address (P's 403) → 422 naming ``token`` with
P's reason; P unreachable → 502.

First boot: ``appliance.json`` may carry ``"backup_peer": {"address", "port", "token",
"fingerprint"}``; the producer pairs with it once at start (``pair_from_settings``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from services.appliance.backup import paths
from services.appliance.backup import state as appliance_state
from services.appliance.backup.peer import (
    PeerClient,
    PeerError,
    PinMismatchError,
    normalize_fingerprint,
    problem_text,
)
from services.appliance.backup.producer import load_peer
from services.common.agent import agent_cert
from services.common.errors import ValidationError
from services.common.files import read_json, write_atomic, write_json
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

PAIRED_MARK = "backup-peer-paired"


def pair(root: StateRoot, address: str, port: int, token: str, fingerprint: str) -> dict[str, Any]:
    """Pair with the peer; returns the public view of peer.json."""
    try:
        pinned = normalize_fingerprint(fingerprint)
    except ValueError as exc:
        raise ValidationError(f"fingerprint: {exc}", field="fingerprint") from None
    settings = ApplianceSettings.load(root.appliance_settings)
    current = appliance_state.load(root)
    body = {
        "token": token,
        "appliance_id": current.appliance_id,
        "hostname": settings.hostname,
        "address": settings.ip,
        "agent_certificate": agent_cert(root, "appliance-agent").cert.read_text(),
    }
    try:
        with PeerClient(address, port, pinned, timeout=15) as client:
            status, answer = client.json("POST", "/api/v1/backup-peers/pair", body)
    except PinMismatchError as exc:
        raise ValidationError(exc.message, field="fingerprint") from None
    if status in (401, 403):
        raise ValidationError(
            f"The peer refused the pairing (HTTP {status}): {problem_text(answer)}", field="token"
        )
    if status != 200 or not isinstance(answer, dict) or "credential" not in answer:
        raise PeerError(f"The peer answered the pairing with HTTP {status}: {problem_text(answer)}")
    peer = {
        "address": address,
        "port": port,
        "fingerprint": pinned,
        "peer_id": answer["peer_id"],
        "paired_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    write_atomic(paths.credential_file(root), str(answer["credential"]) + "\n", mode=0o600)
    write_json(paths.peer_file(root), peer, mode=0o600)
    appliance_state.set_state(root, "active")
    log.info("paired with backup peer %s:%d as %s", address, port, peer["peer_id"])
    return peer


def unpair(root: StateRoot) -> dict[str, Any] | None:
    """Forget the peer (peer.json, credential, waiting snapshots); returns what was there."""
    before = load_peer(root)
    paths.peer_file(root).unlink(missing_ok=True)
    paths.credential_file(root).unlink(missing_ok=True)
    outbox = paths.outbox_dir(root)
    if outbox.is_dir():
        for entry in outbox.glob("*.json"):
            entry.unlink()
    return before


def pair_from_settings(root: StateRoot) -> dict[str, Any] | None:
    """Pair once with ``backup_peer`` of appliance.json (first boot); None when nothing to do."""
    try:
        raw = read_json(root.appliance_settings)
    except (OSError, ValueError):
        return None
    seed = raw.get("backup_peer") if isinstance(raw, dict) else None
    mark = paths.backup_dir(root) / PAIRED_MARK
    if not seed or mark.exists() or load_peer(root) is not None:
        return None
    peer = pair(
        root,
        str(seed["address"]),
        int(seed.get("port", 1231)),
        str(seed["token"]),
        str(seed["fingerprint"]),
    )
    write_atomic(mark, "paired from appliance.json\n", mode=0o600)
    return peer
