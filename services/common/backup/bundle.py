"""The bundle: one snapshot as one file, for export, the restore push and ``burrow-restore``.

Layout::

    BURROW-BACKUP 1\\n
    {"root": ..., "kind": ..., "created_at": ..., "appliance_id": ..., "hostname": ...,
     "address": ...}\\n                                    (one line of canonical JSON)
    then every chunk the snapshot references, each as
    <64 hex characters> <8-byte big-endian length> <that many bytes>

``read_bundle`` checks every chunk against its name, that the manifest is the header's root
and that the tree from the root is complete; anything else is refused with one sentence that
names the bad chunk or file. Chunks go to a ``ChunkStore`` (memory or a directory) so that a
large bundle need not be held in memory.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from services.common.backup.format import (
    BackupFormatError,
    GetChunk,
    canonical_json,
    chunk_hash,
    decode_manifest,
    file_chunks,
    is_chunk_name,
    walk,
)

MAGIC = b"BURROW-BACKUP 1\n"
HEADER_KEYS = ("root", "kind", "created_at", "appliance_id", "hostname", "address")
MAX_HEADER = 64 * 1024
MAX_CHUNK_IN_BUNDLE = 64 * 1024 * 1024


class ChunkStore(Protocol):
    """Where a reader puts the chunks of a bundle."""

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def __contains__(self, name: object) -> bool: ...


class MemoryChunkStore:
    """Chunks in a dictionary."""

    def __init__(self) -> None:
        self.chunks: dict[str, bytes] = {}

    def put(self, name: str, data: bytes) -> None:
        self.chunks[name] = data

    def get(self, name: str) -> bytes | None:
        return self.chunks.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.chunks


class DirectoryChunkStore:
    """Chunks as files in a directory (``ab/abcdef…``); ``close`` removes a temporary one."""

    def __init__(self, directory: Path | None = None) -> None:
        self._temporary = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="burrow-chunks-")) if directory is None else directory
        )
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.directory / name[:2] / name

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)

    def get(self, name: str) -> bytes | None:
        if not is_chunk_name(name):
            return None
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_chunk_name(name) and self._path(name).exists()

    def close(self) -> None:
        if self._temporary:
            shutil.rmtree(self.directory, ignore_errors=True)


class PackChunkStore:
    """Chunks appended to one file, found by an index of offsets kept in memory.

    A restore puts a few thousand chunks once and reads each back once: one file and no
    directory entries per chunk cost far less than ``DirectoryChunkStore`` (a file each).
    The file is made 0600 in ``directory`` and removed by ``close``.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="chunks-", suffix=".pack", dir=directory)
        os.fchmod(fd, 0o600)
        self.path = Path(name)
        self._file = os.fdopen(fd, "w+b")
        self._index: dict[str, tuple[int, int]] = {}
        self._end = 0
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> None:
        with self._lock:
            if name in self._index:
                return
            self._file.seek(self._end)
            self._file.write(data)
            self._index[name] = (self._end, len(data))
            self._end += len(data)

    def get(self, name: str) -> bytes | None:
        with self._lock:
            where = self._index.get(name)
            if where is None:
                return None
            self._file.flush()
            return os.pread(self._file.fileno(), where[1], where[0])

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._index

    def close(self) -> None:
        with self._lock:
            self._file.close()
            self.path.unlink(missing_ok=True)


class ByteStream(Protocol):
    """What ``read_bundle`` reads: ``read(n)`` gives n bytes, fewer only at the end."""

    def read(self, size: int, /) -> bytes: ...


class StreamReader:
    """A blocking, readable stream fed with pieces by another thread (or an event loop):
    ``read_bundle`` checks a bundle while it is still arriving.

    ``feed`` never blocks; ``full`` says when the feeder should wait (``wait_room``) so that
    no more than ``limit`` bytes wait unread. ``finish`` marks the end; ``abort`` makes the
    reader fail (the upload broke off).
    """

    def __init__(self, limit: int = 8 * 1024 * 1024) -> None:
        self.limit = limit
        self._pieces: collections.deque[bytes] = collections.deque()
        self._waiting = 0
        self._ended = False
        self._failed: str | None = None
        self._cond = threading.Condition()

    def feed(self, piece: bytes) -> None:
        if piece:
            with self._cond:
                self._pieces.append(bytes(piece))
                self._waiting += len(piece)
                self._cond.notify_all()

    @property
    def full(self) -> bool:
        return self._waiting >= self.limit

    def wait_room(self, timeout: float = 60.0) -> None:
        """Block until the reader has taken enough that ``full`` is false (or it stopped)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._waiting < self.limit or self._failed is not None, timeout
            )

    def finish(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def abort(self, why: str) -> None:
        with self._cond:
            self._failed = why
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, fewer only at the end (as a buffered file reads)."""
        parts: list[bytes] = []
        wanted = size if size >= 0 else 1 << 62
        with self._cond:
            while wanted > 0:
                self._cond.wait_for(lambda: self._pieces or self._ended or self._failed)
                if self._failed is not None:
                    raise OSError(self._failed)
                if not self._pieces:
                    break  # the end
                piece = self._pieces.popleft()
                if len(piece) > wanted:
                    self._pieces.appendleft(piece[wanted:])
                    piece = piece[:wanted]
                parts.append(piece)
                wanted -= len(piece)
                self._waiting -= len(piece)
            self._cond.notify_all()
        return b"".join(parts)

    def drain(self) -> None:
        """Take and drop everything still to come (a refused bundle's remaining bytes)."""
        while self.read(1024 * 1024):
            pass


# --- writing -------------------------------------------------------------------------------
def header_line(header: dict[str, Any]) -> bytes:
    """The JSON header line of a bundle; ``header`` must carry ``HEADER_KEYS``."""
    missing = [key for key in HEADER_KEYS if key not in header]
    if missing:
        raise BackupFormatError(f"a bundle header needs {', '.join(missing)}")
    return canonical_json({key: header[key] for key in HEADER_KEYS}) + b"\n"


def header_from_manifest(root: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """The bundle header of the snapshot whose manifest (named ``root``) is ``manifest``."""
    return {
        "root": root,
        "kind": manifest["kind"],
        "created_at": manifest["created_at"],
        "appliance_id": manifest["appliance_id"],
        "hostname": manifest["hostname"],
        "address": manifest["address"],
    }


def iter_bundle(root: str, get_chunk: GetChunk) -> Iterator[bytes]:
    """The bundle of the snapshot ``root`` as pieces of bytes (for a streamed answer).

    Raises ``BackupFormatError`` when a referenced chunk is missing.
    """
    manifest_data = get_chunk(root)
    if manifest_data is None:
        raise BackupFormatError(f"chunk {root} (the manifest) is missing")
    manifest = decode_manifest(manifest_data)
    yield MAGIC + header_line(header_from_manifest(root, manifest))
    for name in walk(root, get_chunk):
        data = get_chunk(name)
        if data is None:
            raise BackupFormatError(f"chunk {name} of snapshot {root} is missing")
        yield name.encode() + len(data).to_bytes(8, "big") + data


def write_bundle(out: BinaryIO, root: str, get_chunk: GetChunk) -> int:
    """Write the bundle of snapshot ``root`` to ``out``; returns the bytes written."""
    written = 0
    for piece in iter_bundle(root, get_chunk):
        out.write(piece)
        written += len(piece)
    return written


# --- reading -------------------------------------------------------------------------------
class Bundle:
    """A bundle that has been read and checked: its header, manifest and chunks."""

    def __init__(self, header: dict[str, Any], manifest: dict[str, Any], store: ChunkStore) -> None:
        self.header = header
        self.manifest = manifest
        self.store = store

    @property
    def root(self) -> str:
        return str(self.header["root"])

    def file_content(self, entry: dict[str, Any]) -> Iterator[bytes]:
        """The content of one manifest file entry, chunk by chunk, checked against its sha256."""
        digest = hashlib.sha256()
        size = 0
        for name in file_chunks(entry["list"], self.store.get, path=entry["path"]):
            data = self.store.get(name)
            if data is None:
                raise BackupFormatError(f"chunk {name} of {entry['path']} is missing")
            digest.update(data)
            size += len(data)
            yield data
        if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
            raise BackupFormatError(f"the content of {entry['path']} does not match its sha256")


def _read_exact(stream: ByteStream, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        piece = stream.read(remaining)
        if not piece:
            break
        parts.append(piece)
        remaining -= len(piece)
    return b"".join(parts)


def _read_header(stream: ByteStream) -> dict[str, Any]:
    if _read_exact(stream, len(MAGIC)) != MAGIC:
        raise BackupFormatError("this is not a Burrow backup bundle (its first line is wrong)")
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = stream.read(1)
        if not byte or len(line) > MAX_HEADER:
            raise BackupFormatError("the bundle's header line is cut short or too long")
        line += byte
    try:
        header = json.loads(bytes(line))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BackupFormatError("the bundle's header line is not JSON") from None
    if not isinstance(header, dict) or any(key not in header for key in HEADER_KEYS):
        raise BackupFormatError(f"the bundle's header lacks one of {', '.join(HEADER_KEYS)}")
    if not is_chunk_name(header["root"]):
        raise BackupFormatError("the bundle's header names no valid root")
    return header


def read_bundle(stream: ByteStream, store: ChunkStore | None = None) -> Bundle:
    """Read and check a bundle; raises ``BackupFormatError`` with one sentence if it is bad."""
    header = _read_header(stream)
    chunks: ChunkStore = MemoryChunkStore() if store is None else store
    while True:
        name_raw = stream.read(64)
        if not name_raw:
            break
        length_raw = _read_exact(stream, 8)
        name = name_raw.decode("ascii", "replace")
        if len(name_raw) != 64 or len(length_raw) != 8 or not is_chunk_name(name):
            raise BackupFormatError("the bundle is cut short or damaged between two chunks")
        length = int.from_bytes(length_raw, "big")
        if length > MAX_CHUNK_IN_BUNDLE:
            raise BackupFormatError(f"chunk {name} of the bundle claims {length} bytes")
        data = _read_exact(stream, length)
        if len(data) != length:
            raise BackupFormatError(f"the bundle is cut short inside chunk {name}")
        if chunk_hash(data) != name:
            raise BackupFormatError(
                f"the bundle has been tampered with or damaged: chunk {name} does not match "
                "its content"
            )
        chunks.put(name, data)
    root = header["root"]
    manifest_data = chunks.get(root)
    if manifest_data is None:
        raise BackupFormatError(f"the bundle lacks its manifest (chunk {root})")
    manifest = decode_manifest(manifest_data)
    for key in ("kind", "created_at", "appliance_id", "hostname", "address"):
        if manifest[key] != header[key]:
            raise BackupFormatError(f"the bundle's header and manifest disagree on {key}")
    for entry in manifest["files"]:
        for name in file_chunks(entry["list"], chunks.get, path=entry["path"]):
            if name not in chunks:
                raise BackupFormatError(
                    f"the bundle is incomplete: chunk {name} of {entry['path']} is missing"
                )
    return Bundle(header, manifest, chunks)


def read_bundle_file(path: Path, store: ChunkStore | None = None) -> Bundle:
    """``read_bundle`` of a file."""
    with open(path, "rb") as fh:
        return read_bundle(fh, store)


def bundle_size(root: str, get_chunk: GetChunk) -> int:
    """The size in bytes of the bundle of snapshot ``root``."""
    size = 0
    for piece in iter_bundle(root, get_chunk):
        size += len(piece)
    return size


__all__ = [
    "MAGIC",
    "Bundle",
    "ByteStream",
    "ChunkStore",
    "DirectoryChunkStore",
    "MemoryChunkStore",
    "PackChunkStore",
    "StreamReader",
    "header_from_manifest",
    "iter_bundle",
    "read_bundle",
    "read_bundle_file",
    "write_bundle",
]
