"""Detection of replacements: every ``backup_detect_interval_seconds`` (default 30) Central
asks the appliance at each paired peer's address who it is (``GET https://ADDRESS:4604/
identity``) and records whether it answered.

An appliance there that is ``uninitialized`` and has another appliance id than the paired
one is a replacement: Central makes an offer (``replace.offer``). Nothing is ever offered
for an address no paired peer has, because only paired peers' addresses are asked.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.backups import pinned, replace
from central.backups.models import BackupPeer
from central.core.config import CentralConfig
from central.core.db import now
from central.core.periodic import run_every
from central.settings import service as settings_service

log = logging.getLogger(__name__)

IDENTITY_TIMEOUT = 5.0


def check_peer(db: Session, config: CentralConfig, peer: BackupPeer) -> dict[str, Any] | None:
    """Ask the appliance at ``peer``'s address for its identity; record it; offer if due."""
    peer.last_check_at = now()
    try:
        answer = pinned.request(
            peer.address, "GET", "/identity", fingerprint=None, timeout=IDENTITY_TIMEOUT
        )
        identity = answer.json() if answer.status == 200 else None
        if not isinstance(identity, dict):
            raise pinned.PinnedError(
                f"{peer.address} answered /identity with HTTP {answer.status}, not an identity"
            )
    except (pinned.PinnedError, ValueError) as exc:
        peer.reachable = False
        peer.last_check_error = str(exc)
        db.commit()
        return None
    peer.reachable = True
    peer.last_check_error = ""
    peer.last_identity = identity
    if identity.get("state") == "uninitialized" and identity.get("appliance_id") != (
        peer.appliance_id
    ):
        replace.offer(db, config, peer, identity, answer.fingerprint)
    db.commit()
    return identity


def detect_round(sessions: Any, config: CentralConfig) -> None:
    """One round over every paired peer."""
    with sessions() as db:
        peers = db.scalars(select(BackupPeer).order_by(BackupPeer.id)).all()
        for peer in peers:
            try:
                check_peer(db, config, peer)
            except Exception:
                db.rollback()
                log.exception("checking the appliance of backup peer %s failed", peer.id)


def interval(sessions: Any) -> float:
    with sessions() as db:
        return float(settings_service.load(db).backup_detect_interval_seconds)


async def detect_forever(sessions: Any, config: CentralConfig, first_delay: float = 2.0) -> None:
    with sessions() as db:
        replace.fail_interrupted(db)
    await run_every(
        "detecting replacements",
        lambda: detect_round(sessions, config),
        lambda: interval(sessions),
        first_delay=first_delay,
    )
