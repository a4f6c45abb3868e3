"""The encrypted chunk store of the peers' backups, under ``var/lib/burrow/backup-store/``.

Layout (one folder per paired peer)::

    backup-store/<peer_id>/chunks/<first two hex>/<sha256 hex>   one encrypted chunk
    backup-store/<peer_id>/refs/<snapshot_id>                    hashes a snapshot references
    backup-store/tmp/                                            bundles being built

A stored chunk is ``BWC1`` + a random 96-bit nonce + AES-256-GCM(chunk) with the additional
authenticated data ``"<peer_id>:<sha256 hex>"``, so a chunk cannot be swapped for another
chunk or moved to another peer without the tag check failing. The key is 32 random bytes in
``var/lib/burrow/secrets/backup-store.key`` (0600), made at the first use. Every read checks
the tag and then the sha256 of the plaintext against the chunk's name.

Uploads arrive as zlib streams, optionally compressed against a *delta base* (another chunk of
the same peer given as ``zdict``); they are inflated with a size cap (``MAX_CHUNK``) so that a
compression bomb is refused, and the hash of the result must equal the chunk's name.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.errors import BurrowError, ConflictError, FieldProblem, ValidationError
from services.common.paths import StateRoot

log = logging.getLogger(__name__)

MAGIC = b"BWC1"
NONCE = 12
#: The largest chunk (after inflating) the store accepts: manifests and lists are chunks too.
MAX_CHUNK = 64 * 1024 * 1024
#: Chunks no kept snapshot references are removed only when older than this: a snapshot's
#: chunks arrive before the snapshot itself.
GC_GRACE_SECONDS = 6 * 3600
HASH = re.compile(r"^[0-9a-f]{64}$")


class StoredChunkError(ConflictError):
    """A stored chunk failed its check: damaged or tampered with at rest (409, the problem
    names the chunk: ``{"field": "chunk", "chunk": DIGEST, ...}``)."""

    code = "backup-damaged"
    title = "Backup damaged"

    def __init__(self, message: str, *, digest: str | None = None, **kwargs: Any) -> None:
        if digest is not None and "problems" not in kwargs:
            kwargs["problems"] = [FieldProblem("chunk", message, {"chunk": digest})]
        super().__init__(message, hint="restore from another snapshot", **kwargs)


class MissingChunkError(BurrowError):
    """A chunk a snapshot needs is not in the store."""

    code = "backup-incomplete"
    status = 409

    def __init__(self, digest: str) -> None:
        super().__init__(f"The chunk {digest} is not stored.")
        self.digest = digest


def check_hash(value: str, field: str = "hash") -> str:
    if not HASH.match(value):
        raise ValidationError(f"{value[:80]!r} is not a sha256 hex digest.", field=field)
    return value


class ChunkStore:
    """The chunks of every peer, encrypted at rest."""

    def __init__(self, root: StateRoot) -> None:
        self.directory = root.lib / "backup-store"
        self.key_file = root.secrets / "backup-store.key"
        self._lock = threading.Lock()
        self._aead: AESGCM | None = None
        self._dirty: set[Path] = set()

    # --- the key ----------------------------------------------------------------------
    def _cipher(self) -> AESGCM:
        with self._lock:
            if self._aead is None:
                self._aead = AESGCM(self._load_or_make_key())
            return self._aead

    def _load_or_make_key(self) -> bytes:
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = self.key_file.read_bytes()
            if len(key) != 32:
                raise StoredChunkError(
                    f"{self.key_file} does not hold a 32-byte key; the store cannot be read."
                ) from None
            return key
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        log.info("made the backup store key %s", self.key_file)
        return key

    # --- paths ------------------------------------------------------------------------
    def peer_dir(self, peer_id: int) -> Path:
        return self.directory / str(peer_id)

    def chunk_path(self, peer_id: int, digest: str) -> Path:
        return self.peer_dir(peer_id) / "chunks" / digest[:2] / digest

    def refs_path(self, peer_id: int, snapshot_id: int) -> Path:
        return self.peer_dir(peer_id) / "refs" / str(snapshot_id)

    @property
    def tmp_dir(self) -> Path:
        return self.directory / "tmp"

    # --- chunks -----------------------------------------------------------------------
    def has(self, peer_id: int, digest: str) -> bool:
        return self.chunk_path(peer_id, digest).exists()

    def missing(self, peer_id: int, hashes: Iterable[str]) -> list[str]:
        return [h for h in dict.fromkeys(hashes) if not self.has(peer_id, h)]

    def get(self, peer_id: int, digest: str) -> bytes:
        """The plaintext of a chunk, checked by its tag and its hash."""
        path = self.chunk_path(peer_id, digest)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise MissingChunkError(digest) from None
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE + 16:
            raise StoredChunkError(
                f"The stored chunk {digest} of peer {peer_id} is damaged (not a stored chunk).",
                digest=digest,
            )
        nonce = blob[len(MAGIC) : len(MAGIC) + NONCE]
        try:
            data = self._cipher().decrypt(nonce, blob[len(MAGIC) + NONCE :], _aad(peer_id, digest))
        except InvalidTag:
            raise StoredChunkError(
                f"The stored chunk {digest} of peer {peer_id} fails its authentication check: "
                "it was damaged or tampered with at rest.",
                digest=digest,
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise StoredChunkError(
                f"The stored chunk {digest} of peer {peer_id} does not match its hash.",
                digest=digest,
            )
        return data

    def put(self, peer_id: int, digest: str, body: bytes, delta_base: str | None = None) -> bool:
        """Inflate, check and store one uploaded chunk; False when it was already stored."""
        check_hash(digest)
        if self.has(peer_id, digest):
            return False
        zdict = b""
        if delta_base is not None:
            check_hash(delta_base, "X-Burrow-Delta-Base")
            try:
                zdict = self.get(peer_id, delta_base)
            except MissingChunkError:
                raise ValidationError(
                    f"The delta base {delta_base} is not stored for this peer: send the chunk "
                    "without a delta base.",
                    field="X-Burrow-Delta-Base",
                ) from None
        data = inflate(body, zdict)
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise ValidationError(
                f"The chunk's content has sha256 {actual}, not {digest}: nothing was stored.",
                field="hash",
            )
        self._write(peer_id, digest, data)
        return True

    def _write(self, peer_id: int, digest: str, data: bytes) -> None:
        path = self.chunk_path(peer_id, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        nonce = secrets.token_bytes(NONCE)
        blob = MAGIC + nonce + self._cipher().encrypt(nonce, data, _aad(peer_id, digest))
        fd, tmp = tempfile.mkstemp(prefix=".up.", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        with self._lock:
            self._dirty.add(path.parent)

    def sync(self) -> None:
        """Make the renames of the chunks written so far durable (before a snapshot counts)."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        for directory in dirty:
            with contextlib.suppress(FileNotFoundError):
                fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    # --- snapshots' references and garbage --------------------------------------------
    def save_refs(self, peer_id: int, snapshot_id: int, hashes: Iterable[str]) -> None:
        path = self.refs_path(peer_id, snapshot_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = b"".join(bytes.fromhex(h) for h in sorted(set(hashes)))
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(zlib.compress(raw))
        os.replace(tmp, path)

    def load_refs(self, peer_id: int, snapshot_id: int) -> set[str]:
        try:
            raw = zlib.decompress(self.refs_path(peer_id, snapshot_id).read_bytes())
        except FileNotFoundError:
            return set()
        return {raw[i : i + 32].hex() for i in range(0, len(raw), 32)}

    def forget_refs(self, peer_id: int, snapshot_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.refs_path(peer_id, snapshot_id).unlink()

    def collect_garbage(self, peer_id: int, keep: set[str], grace: float = GC_GRACE_SECONDS) -> int:
        """Remove chunks of ``peer_id`` outside ``keep`` older than ``grace``; how many."""
        removed = 0
        horizon = time.time() - grace
        chunks = self.peer_dir(peer_id) / "chunks"
        if not chunks.is_dir():
            return 0
        for sub in chunks.iterdir():
            for path in sub.iterdir():
                if path.name in keep or path.name.startswith("."):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < horizon:
                        path.unlink()
                        removed += 1
        return removed

    def remove_peer(self, peer_id: int) -> None:
        shutil.rmtree(self.peer_dir(peer_id), ignore_errors=True)

    def stored_bytes(self, peer_id: int) -> int:
        chunks = self.peer_dir(peer_id) / "chunks"
        if not chunks.is_dir():
            return 0
        return sum(p.stat().st_size for p in chunks.glob("*/*"))


def _aad(peer_id: int, digest: str) -> bytes:
    return f"{peer_id}:{digest}".encode()


def inflate(body: bytes, zdict: bytes = b"") -> bytes:
    """Inflate a zlib stream (with ``zdict`` for a delta), refusing more than ``MAX_CHUNK``."""
    inflater = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
    try:
        data = inflater.decompress(body, MAX_CHUNK + 1)
    except zlib.error as exc:
        raise ValidationError(
            f"The body is not a zlib stream (of this delta base): {exc}.", field="body"
        ) from None
    if len(data) > MAX_CHUNK or inflater.unconsumed_tail:
        raise ValidationError(
            f"The chunk is larger than {MAX_CHUNK} bytes inflated: refused.", field="body"
        )
    if not inflater.eof:
        raise ValidationError("The zlib stream is truncated.", field="body")
    return data


_stores: dict[Path, ChunkStore] = {}
_stores_lock = threading.Lock()


def store_for(root: StateRoot) -> ChunkStore:
    """The one ``ChunkStore`` of a state root in this process."""
    with _stores_lock:
        store = _stores.get(root.root)
        if store is None:
            store = _stores[root.root] = ChunkStore(root)
        return store
