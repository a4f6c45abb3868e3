"""Steps of the backup and restore flow in a lab, shared by the end-to-end tests and the
benchmark: pairing S with P, waiting for S's changes to be stored at P, finding and approving
the replacement offer, following it to the end.

S is paired through its own Central (``PUT /api/v1/appliance/peer``), which asks its
appliance-agent to call P.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from services.sandbox.sandbox import Sandbox
from tests.backups.appliance import CentralApi
from tests.harness.wait import wait_for


def pair(s: Sandbox, p: Sandbox, on_p: CentralApi, on_s: CentralApi | None = None) -> int:
    """Pair S with P's Central through S's Central (``PUT /api/v1/appliance/peer``), as
    administrators of both do; P's peer id."""
    on_s = on_s or CentralApi(s)
    token = on_p.post(
        "/api/v1/backup-peers/pairing-tokens", {"address": s.address, "comment": "lab"}
    )
    answer = on_s.call(
        "PUT",
        "/api/v1/appliance/peer",
        {"address": p.address, "port": 1231, "token": token["token"],
         "fingerprint": token["central_fingerprint"], "comment": "backups go to P"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    return int(answer.json()["peer_id"])


def snapshots(on_p: CentralApi, peer_id: int) -> list[dict[str, Any]]:
    return list(on_p.get(f"/api/v1/backup-peers/{peer_id}/snapshots")["items"])


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def wait_stored_after(
    on_p: CentralApi, peer_id: int, moment: dt.datetime, timeout: float = 30.0
) -> dict[str, Any]:
    """The first snapshot at P that S made after ``moment`` (so it holds what S had then)."""

    def found() -> dict[str, Any] | None:
        later = [s for s in snapshots(on_p, peer_id) if parse_time(s["created_at"]) > moment]
        return min(later, key=lambda s: s["id"]) if later else None

    return dict(wait_for(found, timeout=timeout, interval=0.05, what="a snapshot stored at P"))


def last_change_at(api: CentralApi) -> dt.datetime:
    """When the newest history entry of S's Central was committed."""
    items = api.get("/api/v1/history?limit=1&sort=-id")["items"]
    return parse_time(items[0]["at"])


def agent_fingerprint(box: Sandbox) -> str:
    """The fingerprint the appliance shows on its console (its appliance-agent's certificate)."""
    pem = (box.root.pki / "appliance-agent.crt").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def appliance_state(box: Sandbox) -> dict[str, Any]:
    return dict(json.loads((box.root.lib / "appliance-state.json").read_text()))


def wait_offer(on_p: CentralApi, address: str, timeout: float = 30.0) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        items = [o for o in on_p.get("/api/v1/replacements")["items"] if o["address"] == address]
        return items[0] if items else None

    return dict(wait_for(found, timeout=timeout, interval=0.2, what=f"an offer for {address}"))


def wait_finished(on_p: CentralApi, offer_id: int, timeout: float = 300.0) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        offer = next(o for o in on_p.get("/api/v1/replacements")["items"] if o["id"] == offer_id)
        return offer if offer["state"] in ("restored", "failed") else None

    return dict(wait_for(finished, timeout=timeout, interval=0.2, what="the restore to finish"))


def approve(on_p: CentralApi, offer: dict[str, Any], r: Sandbox, **extra: Any) -> Any:
    body = {
        "fingerprint": agent_fingerprint(r),
        "restore_code": appliance_state(r)["restore_code"],
        "comment": "A is gone; C replaces it",
        **extra,
    }
    return on_p.call("POST", f"/api/v1/replacements/{offer['id']}/approve", body)


def set_detect_interval(on_p: CentralApi, seconds: int) -> None:
    on_p.ok(on_p.call("PATCH", "/api/v1/settings", {"backup_detect_interval_seconds": seconds}))


def wait_ready(box: Sandbox, timeout: float = 120.0) -> None:
    start = time.monotonic()
    box.wait_ready(timeout=timeout)
    assert time.monotonic() - start <= timeout
