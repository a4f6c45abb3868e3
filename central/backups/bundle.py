"""Writing one snapshot of the store as a bundle file (the format of
``services.common.backup``): the magic line, a JSON header line, then every chunk the
snapshot references as ``<64 hex><8-byte big-endian length><bytes>``.

Every chunk is decrypted and checked (tag and hash) while the bundle is written, into a
temporary file under ``backup-store/tmp``: a damaged or tampered stored chunk makes the whole
bundle fail with one sentence naming the chunk, before a single byte is sent anywhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from central.backups.models import BackupPeer, BackupSnapshot
from central.backups.store import ChunkStore, MissingChunkError, StoredChunkError

MAGIC = b"BURROW-BACKUP 1\n"


def header_for(store: ChunkStore, peer: BackupPeer, snap: BackupSnapshot) -> dict[str, Any]:
    """The bundle's header: what the manifest says of the appliance, and the snapshot."""
    manifest: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        manifest = json.loads(store.get(peer.id, snap.root))
    return {
        "root": snap.root,
        "kind": snap.kind,
        "created_at": snap.created_at,
        "appliance_id": manifest.get("appliance_id", peer.appliance_id),
        "hostname": manifest.get("hostname", peer.hostname),
        "address": manifest.get("address", peer.address),
    }


def write_bundle(store: ChunkStore, peer: BackupPeer, snap: BackupSnapshot) -> Path:
    """The bundle of ``snap`` in a temporary file (the caller removes it)."""
    from services.common.backup.format import walk

    store.tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="bundle-", suffix=".bwb", dir=store.tmp_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC)
            header = header_for(store, peer, snap)
            out.write(json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n")
            written: set[str] = set()
            for digest in walk(snap.root, lambda d: store.get(peer.id, d)):
                if digest in written:
                    continue
                data = store.get(peer.id, digest)
                out.write(digest.encode() + len(data).to_bytes(8, "big") + data)
                written.add(digest)
    except (StoredChunkError, MissingChunkError) as exc:
        path.unlink(missing_ok=True)
        raise StoredChunkError(
            f"Snapshot {snap.id} of peer {peer.id} cannot be read: {exc.message}"
        ) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
