"""Unit tests of the shared backup format: chunking, lists, manifest, walk, deltas, bundles."""

from __future__ import annotations

import io
import os
import random
import stat
import threading
import time
from pathlib import Path

import pytest

from services.common.backup import chunking
from services.common.backup.bundle import (
    MAGIC,
    ChunkStore,
    DirectoryChunkStore,
    MemoryChunkStore,
    PackChunkStore,
    StreamReader,
    read_bundle,
    write_bundle,
)
from services.common.backup.format import (
    BackupFormatError,
    chunk_hash,
    decode_manifest,
    decode_page,
    decode_top,
    delta_decode,
    delta_encode,
    encode_manifest,
    file_chunks,
    file_list,
    missing_chunks,
    walk,
)


def zone_text(records: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = [b"$ORIGIN example.test.\n", b"@ 3600 IN SOA ns1 admin 2026010101 3600 600 86400 300\n"]
    for i in range(records):
        lines.append(
            b"host%d 3600 IN A 10.%d.%d.%d\n" % (i, rng.randrange(256), i >> 8 & 255, i & 255)
        )
    return b"".join(lines)


def test_chunk_sizes_and_reassembly() -> None:
    for data in (os.urandom(3_000_000), zone_text(60_000)):
        pieces = chunking.split(data)
        assert b"".join(pieces) == data
        assert all(len(p) <= chunking.MAX_CHUNK for p in pieces)
        assert all(len(p) >= chunking.MIN_CHUNK for p in pieces[:-1])
        average = len(data) / len(pieces)
        assert 6 * 1024 < average < 11 * 1024, average


def test_small_and_empty() -> None:
    assert chunking.split(b"") == []
    assert chunking.split(b"abc") == [b"abc"]
    same = b"\0" * 100_000
    assert b"".join(chunking.split(same)) == same


def test_insertion_moves_only_nearby_cuts() -> None:
    data = zone_text(50_000)
    before = {chunk_hash(p) for p in chunking.split(data)}
    middle = len(data) // 2
    changed = data[:middle] + b"inserted 3600 IN A 192.0.2.99\n" + data[middle:]
    after = [chunk_hash(p) for p in chunking.split(changed)]
    new = [h for h in after if h not in before]
    assert 1 <= len(new) <= 3, len(new)


def test_segmented_cut_points_match_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(600_000)
    whole = chunking.cut_points(data)
    monkeypatch.setattr(chunking, "SEGMENT", 100_000)
    assert chunking.cut_points(data) == whole


def test_chunking_is_fast() -> None:
    """About 30 ms on a quiet machine; the bound leaves room for a loaded shared machine
    while still failing a byte-at-a-time Python loop (about 750 ms)."""
    data = os.urandom(5_000_000)
    best = min(_timed(lambda: chunking.cut_points(data)) for _ in range(5))
    assert best < 0.3, f"cutting 5 MB took {best:.3f} s"


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def test_pages_and_top_list() -> None:
    hashes = [chunk_hash(str(i).encode()) for i in range(600)]
    listing = file_list(hashes)
    assert len(listing.pages) == 3
    assert decode_top(listing.chunks[listing.top]) == listing.pages
    assert decode_page(listing.chunks[listing.pages[2]]) == hashes[512:]
    assert file_chunks(listing.top, listing.chunks.get) == hashes
    empty = file_list([])
    assert file_chunks(empty.top, empty.chunks.get) == []
    with pytest.raises(BackupFormatError, match="does not start like one"):
        decode_page(b"nonsense\n")


def manifest_for(files: dict[str, bytes], store: dict[str, bytes]) -> tuple[str, bytes]:
    entries = []
    for path, content in files.items():
        pieces = chunking.split(content)
        for p in pieces:
            store[chunk_hash(p)] = p
        listing = file_list([chunk_hash(p) for p in pieces])
        store.update(listing.chunks)
        entries.append(
            {
                "path": path,
                "mode": 0o640,
                "owner": "root",
                "group": "bind",
                "size": len(content),
                "sha256": chunk_hash(content),
                "list": listing.top,
            }
        )
    manifest = encode_manifest(
        {
            "format": 1,
            "appliance_id": "a1",
            "hostname": "s",
            "address": "198.51.100.10",
            "kind": "full",
            "created_at": "2026-11-22T08:00:00Z",
            "sequence": 1,
            "files": entries,
            "network": {},
        }
    )
    root = chunk_hash(manifest)
    store[root] = manifest
    return root, manifest


def test_manifest_canonical_and_walk() -> None:
    store: dict[str, bytes] = {}
    files = {"var/lib/bind/db.x": zone_text(5000), "etc/burrow/a.json": b"{}\n", "empty": b""}
    root, manifest = manifest_for(files, store)
    assert decode_manifest(manifest)["files"][0]["path"] == "empty"
    names = list(walk(root, store.get))
    assert len(names) == len(set(names))
    assert set(names) == set(store)
    del store[names[-1]]
    assert missing_chunks(root, store.get, store.__contains__) == [names[-1]]
    with pytest.raises(BackupFormatError, match="unsafe path"):
        encode_manifest(
            {
                **decode_manifest(manifest),
                "files": [{**decode_manifest(manifest)["files"][0], "path": "../x"}],
            }
        )


def test_delta_roundtrip_and_size() -> None:
    base = zone_text(300)[:8000]
    changed = base.replace(b"host150 ", b"host15x ")
    delta = delta_encode(changed, base)
    assert delta_decode(delta, base) == changed
    assert len(delta) < 100
    assert delta_decode(delta_encode(changed)) == changed
    with pytest.raises(BackupFormatError):
        delta_decode(b"garbage")
    with pytest.raises(BackupFormatError, match="more than"):
        delta_decode(delta_encode(b"\0" * 100_000), limit=1000)


@pytest.mark.parametrize("store_kind", ["memory", "directory", "pack"])
def test_bundle_roundtrip(store_kind: str, tmp_path: Path) -> None:
    store: dict[str, bytes] = {}
    files = {"var/lib/bind/db.x": zone_text(5000), "etc/burrow/a.json": b"{}\n"}
    root, _ = manifest_for(files, store)
    out = io.BytesIO()
    write_bundle(out, root, store.get)
    target: ChunkStore
    if store_kind == "memory":
        target = MemoryChunkStore()
    elif store_kind == "directory":
        target = DirectoryChunkStore()
    else:
        target = PackChunkStore(tmp_path)
    bundle = read_bundle(io.BytesIO(out.getvalue()), target)
    assert bundle.root == root
    for entry in bundle.manifest["files"]:
        assert b"".join(bundle.file_content(entry)) == files[entry["path"]]
    if isinstance(target, PackChunkStore):
        assert stat.S_IMODE(target.path.stat().st_mode) == 0o600
        assert len(list(tmp_path.iterdir())) == 1  # one file, not one per chunk
    if isinstance(target, DirectoryChunkStore | PackChunkStore):
        target.close()
    assert not list(tmp_path.iterdir())


def _feed(reader: StreamReader, data: bytes, piece: int, then: str = "finish") -> None:
    """Feed ``data`` in pieces as an upload arrives, waiting when the reader is behind."""
    for start in range(0, len(data), piece):
        reader.feed(data[start : start + piece])
        while reader.full:
            reader.wait_room(0.5)
    if then == "finish":
        reader.finish()
    else:
        reader.abort("the upload broke off")


def test_bundle_checked_while_it_arrives(tmp_path: Path) -> None:
    """read_bundle on a StreamReader fed by another thread, in pieces of every size, with
    less room than the bundle: the same bundle, the same refusals as from a file."""
    store: dict[str, bytes] = {}
    files = {"var/lib/bind/db.x": zone_text(20000), "etc/burrow/a.json": b"{}\n"}
    root, _ = manifest_for(files, store)
    out = io.BytesIO()
    write_bundle(out, root, store.get)
    raw = out.getvalue()
    for piece in (1, 7, 65536):
        reader = StreamReader(limit=100_000)
        feeder = threading.Thread(target=_feed, args=(reader, raw, piece))
        feeder.start()
        target = PackChunkStore(tmp_path)
        bundle = read_bundle(reader, target)
        feeder.join()
        assert bundle.root == root
        for entry in bundle.manifest["files"]:
            assert b"".join(bundle.file_content(entry)) == files[entry["path"]]
        target.close()
    flipped = bytearray(raw)
    flipped[len(raw) - 100] ^= 1
    reader = StreamReader(limit=100_000)
    feeder = threading.Thread(target=_feed, args=(reader, bytes(flipped), 4096))
    feeder.start()
    with pytest.raises(BackupFormatError, match="tampered with or damaged"):
        read_bundle(reader)
    reader.drain()  # what the receiver does with the rest of a refused upload
    feeder.join()
    reader = StreamReader(limit=100_000)
    feeder = threading.Thread(target=_feed, args=(reader, raw[: len(raw) // 2], 4096, "abort"))
    feeder.start()
    with pytest.raises(OSError, match="broke off"):
        read_bundle(reader)
    feeder.join()


def test_bundle_refuses_tampering() -> None:
    store: dict[str, bytes] = {}
    root, _ = manifest_for({"var/lib/bind/db.x": zone_text(5000)}, store)
    out = io.BytesIO()
    write_bundle(out, root, store.get)
    raw = bytearray(out.getvalue())
    flipped = bytearray(raw)
    flipped[len(raw) - 100] ^= 1
    with pytest.raises(BackupFormatError, match=r"tampered with or damaged: chunk [0-9a-f]{64}"):
        read_bundle(io.BytesIO(bytes(flipped)))
    with pytest.raises(BackupFormatError, match="not a Burrow backup"):
        read_bundle(io.BytesIO(b"hello\n"))
    with pytest.raises(BackupFormatError, match="cut short"):
        read_bundle(io.BytesIO(bytes(raw[:-10])))
    # Drop the last chunk entirely: the tree is incomplete and the file is named.
    names = list(walk(root, store.get))
    last = names[-1]
    start = bytes(raw).rindex(last.encode())
    with pytest.raises(BackupFormatError, match=r"incomplete: chunk .* of var/lib/bind/db.x"):
        read_bundle(io.BytesIO(bytes(raw[:start])))
    assert bytes(raw).startswith(MAGIC)
