"""A client of a peer Central's backup store as an appliance uses it: pairing, uploads of
snapshots made with the shared format (``services.common.backup``), bundles.

Used by the store tests (against a real Central process) and the benchmark; the appliance's
own producer (services/appliance/backup) is tested in tests/backup_appliance.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.common.backup import chunking
from services.common.backup.format import (
    chunk_hash,
    delta_encode,
    encode_manifest,
    file_list,
)


@dataclass
class Snapshot:
    """The chunks of one snapshot made from ``files`` (path -> content)."""

    root: str
    chunks: dict[str, bytes]
    size: int


def make_snapshot(
    files: dict[str, bytes],
    *,
    appliance_id: str = "00000000-0000-4000-8000-000000000001",
    kind: str = "full",
    sequence: int = 1,
    hostname: str = "s",
    address: str = "127.0.0.1",
) -> Snapshot:
    chunks: dict[str, bytes] = {}
    entries = []
    size = 0
    for path, content in sorted(files.items()):
        pieces = chunking.split(content)
        names = []
        for piece in pieces:
            name = chunk_hash(piece)
            chunks[name] = piece
            names.append(name)
        listing = file_list(names)
        chunks.update(listing.chunks)
        size += len(content)
        entries.append(
            {
                "path": path,
                "mode": 0o644,
                "owner": "root",
                "group": "root",
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "list": listing.top,
            }
        )
    manifest = encode_manifest(
        {
            "format": 1,
            "appliance_id": appliance_id,
            "hostname": hostname,
            "address": address,
            "kind": kind,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "sequence": sequence,
            "files": entries,
            "network": {},
        }
    )
    root = chunk_hash(manifest)
    chunks[root] = manifest
    return Snapshot(root, chunks, size)


@dataclass
class StoreClient:
    """An appliance's view of its peer's store: ``Authorization: Backup <credential>``."""

    url: str
    verify: Any
    peer_id: int
    credential: str
    sent_bytes: int = 0
    previous: dict[str, bytes] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            verify=self.verify,
            headers={"Authorization": f"Backup {self.credential}"},
            timeout=60,
        )

    @property
    def base(self) -> str:
        return f"/api/v1/backup-store/{self.peer_id}"

    def upload(self, snap: Snapshot, kind: str = "full", sequence: int = 1) -> httpx.Response:
        """Send what the store lacks (as deltas against the last snapshot's same-kind chunk
        where one exists), then the snapshot."""
        with self.client() as client:
            names = list(snap.chunks)
            missing: list[str] = []
            for start in range(0, len(names), 10_000):
                answer = client.post(
                    f"{self.base}/chunks/missing", json={"hashes": names[start : start + 10_000]}
                )
                answer.raise_for_status()
                missing += answer.json()["missing"]
            for name in missing:
                self.put_chunk(client, name, snap.chunks[name])
            response = client.post(
                f"{self.base}/snapshots",
                json={
                    "root": snap.root,
                    "kind": kind,
                    "created_at": dt.datetime.now(dt.UTC).isoformat(),
                    "sequence": sequence,
                    "size": snap.size,
                },
            )
        return response

    def put_chunk(
        self, client: httpx.Client, name: str, data: bytes, base: str | None = None
    ) -> httpx.Response:
        headers = {}
        base_data = None
        if base is not None:
            base_data = self.previous.get(base)
            headers["X-Burrow-Delta-Base"] = base
        body = delta_encode(data, base_data)
        self.sent_bytes += len(body)
        response = client.put(f"{self.base}/chunks/{name}", content=body, headers=headers)
        assert response.status_code == 204, response.text
        self.previous[name] = data
        return response


def pair(
    url: str,
    verify: Any,
    admin_token: str,
    *,
    address: str,
    appliance_id: str,
    certificate_pem: str,
    hostname: str = "s",
) -> tuple[StoreClient, dict[str, Any]]:
    """Ask for a token as the peer's administrator and pair with it (as S's agent would)."""
    with httpx.Client(base_url=url, verify=verify, timeout=30) as client:
        token = client.post(
            "/api/v1/backup-peers/pairing-tokens",
            json={"address": address, "comment": "test"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert token.status_code == 201, token.text
        answer = client.post(
            "/api/v1/backup-peers/pair",
            json={
                "token": token.json()["token"],
                "appliance_id": appliance_id,
                "hostname": hostname,
                "address": address,
                "agent_certificate": certificate_pem,
            },
        )
        assert answer.status_code == 200, answer.text
    body = answer.json()
    return StoreClient(url, verify, body["peer_id"], body["credential"]), token.json()
