"""Writing one snapshot of the store as a bundle file (``services.common.backup.bundle``).

Every chunk is decrypted and checked (GCM tag and sha256) while the bundle is written, into
a temporary file under ``backup-store/tmp``: a damaged or tampered stored chunk makes the
whole bundle fail with one sentence naming the chunk, before a single byte is sent anywhere.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from central.backups.models import BackupPeer, BackupSnapshot
from central.backups.store import ChunkStore, MissingChunkError, StoredChunkError
from services.common.backup import bundle
from services.common.backup.format import BackupFormatError, GetChunk


def getter(store: ChunkStore, peer_id: int) -> GetChunk:
    """``get_chunk`` of the format: a checked plaintext, None when not stored."""

    def get_chunk(digest: str) -> bytes | None:
        try:
            return store.get(peer_id, digest)
        except MissingChunkError:
            return None

    return get_chunk


def write_bundle(store: ChunkStore, peer: BackupPeer, snap: BackupSnapshot) -> Path:
    """The bundle of ``snap`` in a temporary file (the caller removes it)."""
    store.tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="bundle-", suffix=".bwb", dir=store.tmp_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            bundle.write_bundle(out, snap.root, getter(store, peer.id))
    except (StoredChunkError, BackupFormatError) as exc:
        path.unlink(missing_ok=True)
        raise StoredChunkError(
            f"Snapshot {snap.id} of peer {peer.id} cannot be read: {exc.message}",
            problems=exc.problems,
        ) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
