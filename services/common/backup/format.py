"""Chunks, hash lists, the manifest and deltas: how a snapshot is laid out as named chunks.

A **chunk** is a byte string named by the sha256 hex of its content. A snapshot is a tree:

- the **manifest** (canonical JSON, one chunk; its name is the snapshot's *root*) lists every
  file with its path (relative to the appliance's state root), mode, owner, group, size,
  sha256 and ``list``: the name of the file's **top list**;
- a top list (``burrow-top 1``) names the file's **pages** in order;
- a page (``burrow-page 1``) names at most ``PAGE_SIZE`` (256) data chunks in order;
- data chunks are the file's content cut by ``chunking.split``.

A one-chunk change in a large file therefore changes one data chunk, one page, the top list
and the manifest, and each can be sent as a zlib **delta** against its previous version
(``delta_encode``: a zlib stream compressed with the base chunk as preset dictionary).

Pages and top lists are text: a header line, then one hex name a line. A top list has no
upper size (a file of more than 256 pages, about 512 MB, has a top list above 16 KB).

Manifest keys (``format`` 1): ``format``, ``appliance_id``, ``hostname``, ``address``,
``kind`` (``full`` | ``incremental``), ``created_at`` (ISO 8601 UTC), ``sequence`` (int),
``files`` (sorted by path), ``network`` (the network capture, ``{}`` when none) and, an
addition of this module, ``dirs``: directories to create before the files
(``path``, ``mode``, ``owner``, ``group``), so that a restore recreates directories that
daemons own.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import ValidationError

FORMAT = 1
PAGE_SIZE = 256
PAGE_MAGIC = b"burrow-page 1\n"
TOP_MAGIC = b"burrow-top 1\n"
KINDS = ("full", "incremental")
FILE_KEYS = ("path", "mode", "owner", "group", "size", "sha256", "list")
MANIFEST_KEYS = (
    "format",
    "appliance_id",
    "hostname",
    "address",
    "kind",
    "created_at",
    "sequence",
    "files",
    "network",
)

_HEX64 = re.compile(r"[0-9a-f]{64}")

#: Returns a chunk's bytes by name, or None when it is not there.
GetChunk = Callable[[str], bytes | None]


class BackupFormatError(ValidationError):
    """A chunk, list, manifest or bundle that is not what the format says; one sentence."""

    code = "backup-format"


def chunk_hash(data: bytes | memoryview) -> str:
    """The name of a chunk: the sha256 hex of its content."""
    return hashlib.sha256(data).hexdigest()


def is_chunk_name(value: object) -> bool:
    """Whether ``value`` is a 64-character lower-case hex name."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _check_names(names: Sequence[str], what: str) -> None:
    for name in names:
        if not is_chunk_name(name):
            raise BackupFormatError(f"{what} holds {name!r}, which is not a sha256 hex name")


# --- hash lists ----------------------------------------------------------------------------
def encode_page(hashes: Sequence[str]) -> bytes:
    """A page chunk naming at most ``PAGE_SIZE`` chunks."""
    if len(hashes) > PAGE_SIZE:
        raise BackupFormatError(f"a page names at most {PAGE_SIZE} chunks, not {len(hashes)}")
    _check_names(hashes, "a page")
    return PAGE_MAGIC + "".join(f"{h}\n" for h in hashes).encode()


def encode_top(pages: Sequence[str]) -> bytes:
    """A top-list chunk naming a file's pages."""
    _check_names(pages, "a top list")
    return TOP_MAGIC + "".join(f"{h}\n" for h in pages).encode()


def _decode_list(data: bytes, magic: bytes, what: str) -> list[str]:
    if not data.startswith(magic):
        raise BackupFormatError(f"a chunk expected to be a {what} does not start like one")
    names = data[len(magic) :].decode("ascii", "replace").split("\n")
    if names[-1] != "":
        raise BackupFormatError(f"a {what} does not end with a new line")
    names.pop()
    _check_names(names, f"a {what}")
    return names


def decode_page(data: bytes) -> list[str]:
    """The chunk names of a page."""
    names = _decode_list(data, PAGE_MAGIC, "page")
    if len(names) > PAGE_SIZE:
        raise BackupFormatError(f"a page names {len(names)} chunks, more than {PAGE_SIZE}")
    return names


def decode_top(data: bytes) -> list[str]:
    """The page names of a top list."""
    return _decode_list(data, TOP_MAGIC, "top list")


@dataclass
class FileList:
    """The chunks that describe one file's content: its pages, then its top list."""

    top: str
    pages: list[str]
    chunks: dict[str, bytes] = field(default_factory=dict)  # name -> bytes, pages and top


def file_list(data_hashes: Sequence[str]) -> FileList:
    """Pages and top list for a file made of the chunks ``data_hashes`` (in order)."""
    chunks: dict[str, bytes] = {}
    pages: list[str] = []
    for start in range(0, len(data_hashes), PAGE_SIZE):
        page = encode_page(data_hashes[start : start + PAGE_SIZE])
        name = chunk_hash(page)
        chunks[name] = page
        pages.append(name)
    top = encode_top(pages)
    top_name = chunk_hash(top)
    chunks[top_name] = top
    return FileList(top=top_name, pages=pages, chunks=chunks)


def _get_checked(name: str, get_chunk: GetChunk, what: str) -> bytes:
    data = get_chunk(name)
    if data is None:
        raise BackupFormatError(f"chunk {name} ({what}) is missing")
    if chunk_hash(data) != name:
        raise BackupFormatError(f"chunk {name} ({what}) does not match its content")
    return data


def file_chunks(top: str, get_chunk: GetChunk, *, path: str = "a file") -> list[str]:
    """The data chunk names of the file whose top list is ``top``, in order."""
    names: list[str] = []
    for page in decode_top(_get_checked(top, get_chunk, f"the top list of {path}")):
        names.extend(decode_page(_get_checked(page, get_chunk, f"a page of {path}")))
    return names


# --- the manifest --------------------------------------------------------------------------
def canonical_json(value: Any) -> bytes:
    """The one byte form of a JSON value: sorted keys, no spaces, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest chunk; files are sorted by path. Checks the manifest first."""
    value = dict(manifest)
    value["files"] = sorted(value.get("files", []), key=lambda f: f.get("path", ""))
    if "dirs" in value:
        value["dirs"] = sorted(value["dirs"], key=lambda d: d.get("path", ""))
    check_manifest(value)
    return canonical_json(value)


def decode_manifest(data: bytes) -> dict[str, Any]:
    """A manifest chunk back as a dictionary, checked."""
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupFormatError(f"the manifest is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BackupFormatError("the manifest is not a JSON object")
    check_manifest(value)
    return value


def _safe_path(path: object) -> bool:
    if not isinstance(path, str) or not path or path.startswith("/") or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def check_manifest(value: dict[str, Any]) -> None:
    """Raise ``BackupFormatError`` naming the first thing wrong with a manifest."""
    for key in MANIFEST_KEYS:
        if key not in value:
            raise BackupFormatError(f"the manifest has no {key!r}", field=key)
    if value["format"] != FORMAT:
        raise BackupFormatError(
            f"the manifest is format {value['format']!r}; this version reads format {FORMAT}",
            field="format",
        )
    if value["kind"] not in KINDS:
        raise BackupFormatError(f"the manifest's kind {value['kind']!r} is unknown", field="kind")
    if not isinstance(value["files"], list) or not isinstance(value["network"], dict):
        raise BackupFormatError("the manifest's files or network have the wrong type")
    for entry in value["files"]:
        if not isinstance(entry, dict) or any(k not in entry for k in FILE_KEYS):
            raise BackupFormatError(f"a file entry of the manifest lacks a key: {entry!r}")
        if not _safe_path(entry["path"]):
            raise BackupFormatError(f"the manifest names an unsafe path {entry['path']!r}")
        if not is_chunk_name(entry["list"]) or not is_chunk_name(entry["sha256"]):
            raise BackupFormatError(f"the manifest entry of {entry['path']} has a bad hash")
    for entry in value.get("dirs", []):
        if not isinstance(entry, dict) or not _safe_path(entry.get("path")):
            raise BackupFormatError(f"the manifest names an unsafe directory {entry!r}")


# --- walking a snapshot --------------------------------------------------------------------
def walk(root_hash: str, get_chunk: GetChunk) -> Iterator[str]:
    """Every chunk name a snapshot references, each once: the manifest, lists, data chunks.

    ``get_chunk`` is asked only for the manifest, top lists and pages. When one of those is
    missing (``None``), its name is still yielded but what it names cannot be: a caller that
    checks each yielded name for presence finds it missing. A chunk whose content does not
    match its name, or that is not what the format says, raises ``BackupFormatError``.
    """
    seen: set[str] = {root_hash}
    yield root_hash
    data = get_chunk(root_hash)
    if data is None:
        return
    if chunk_hash(data) != root_hash:
        raise BackupFormatError(f"chunk {root_hash} (the manifest) does not match its content")
    manifest = decode_manifest(data)
    for entry in manifest["files"]:
        top = entry["list"]
        if top in seen:
            continue
        seen.add(top)
        yield top
        top_data = get_chunk(top)
        if top_data is None:
            continue
        if chunk_hash(top_data) != top:
            raise BackupFormatError(
                f"chunk {top} (the top list of {entry['path']}) does not match its content"
            )
        for page in decode_top(top_data):
            if page in seen:
                continue
            seen.add(page)
            yield page
            page_data = get_chunk(page)
            if page_data is None:
                continue
            if chunk_hash(page_data) != page:
                raise BackupFormatError(
                    f"chunk {page} (a page of {entry['path']}) does not match its content"
                )
            for name in decode_page(page_data):
                if name not in seen:
                    seen.add(name)
                    yield name


def missing_chunks(
    root_hash: str, get_chunk: GetChunk, has_chunk: Callable[[str], bool]
) -> list[str]:
    """The names a snapshot references that ``has_chunk`` says are absent."""
    return [name for name in walk(root_hash, get_chunk) if not has_chunk(name)]


# --- deltas --------------------------------------------------------------------------------
def delta_encode(data: bytes, base: bytes | None = None) -> bytes:
    """A zlib stream of ``data``; with ``base``, compressed against it as preset dictionary."""
    if base is None:
        compressor = zlib.compressobj(level=9)
    else:
        compressor = zlib.compressobj(level=9, zdict=base)
    return compressor.compress(data) + compressor.flush()


def delta_decode(
    stream: bytes, base: bytes | None = None, *, limit: int = 64 * 1024 * 1024
) -> bytes:
    """Inflate a stream made by ``delta_encode`` (with the same ``base``).

    Raises ``BackupFormatError`` for a broken stream or one that inflates beyond ``limit``.
    """
    try:
        if base is None:
            decompressor = zlib.decompressobj()
        else:
            decompressor = zlib.decompressobj(zdict=base)
        data = decompressor.decompress(stream, limit)
        if decompressor.unconsumed_tail:
            raise BackupFormatError(f"a chunk inflates to more than {limit} bytes")
        data += decompressor.flush()
        if not decompressor.eof:
            raise BackupFormatError("a chunk's zlib stream is cut short")
    except zlib.error as exc:
        raise BackupFormatError(f"a chunk's zlib stream is broken ({exc})") from None
    return data
