"""What a backup holds, read into content-addressed chunks.

A snapshot holds, below the state root (issue 7's design, "What a backup holds"):

- Central's SQLite database ``var/lib/burrow/central.db``, as a consistent copy made with
  SQLite's online backup API (a PostgreSQL database is not backed up: out of scope);
- ``etc/burrow`` (settings) and ``var/lib/burrow`` (PKI with the CA and keys, secrets,
  appliance-state.json, peer.json, the diag-shell's SSH host key), but not the producer's
  own outbox, cache and status;
- ``etc/bind`` and ``var/lib/bind`` after ``rndc sync`` (journals written into zone files;
  named's temporary ``tmp-*`` dump files are left out);
- ``etc/kea`` and ``var/lib/kea`` (configurations and lease files);
- the network capture of ``services.appliance.network.capture`` when that module exists
  (another part of issue 7); until then ``{}``.

Files whose size, mtime, ctime and inode are those of the last collection are not read
again (the stat cache); a file changed less than two seconds before it was looked at is read
every time, since a second change in the same clock tick would not show in its mtime.

Every chunk goes into the producer's chunk cache (``backup/cache``). Each new chunk gets a
**delta base**: the chunk of the previous version of the same file at the same byte offset
(for pages: the page at the same index; for top lists and the manifest: their previous
version), so that the sender can send it as a zlib delta the peer can inflate.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import grp
import logging
import os
import pwd
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.appliance.backup import paths
from services.common.backup.bundle import DirectoryChunkStore
from services.common.backup.chunking import split
from services.common.backup.format import (
    chunk_hash,
    decode_manifest,
    encode_manifest,
    file_list,
)
from services.common.files import read_json, write_json
from services.common.paths import StateRoot
from services.common.proc import CommandError, run

log = logging.getLogger(__name__)

#: Directories (relative to the root) whose files a backup holds.
INCLUDED = ("etc/burrow", "var/lib/burrow", "etc/bind", "var/lib/bind", "etc/kea", "var/lib/kea")
DATABASE = "var/lib/burrow/central.db"
RACY_SECONDS = 2.0
SYNC_WAIT = 3.0
#: named's temporary files while it dumps a zone (renamed over the zone file when done).
NAMED_TEMPORARY = "tmp-*"


@dataclass
class Collected:
    """One collected snapshot: its root and the delta base of each new chunk."""

    root: str
    manifest: dict[str, Any]
    bases: dict[str, str]
    new_chunks: int
    new_bytes: int
    seconds: float
    size: int
    files: int
    read_files: int = 0
    fresh: list[str] = field(default_factory=list)  # chunks first made by this collection
    stats: dict[str, float] = field(default_factory=dict)


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def network_capture(root: StateRoot) -> dict[str, Any]:
    """The live network (interfaces, addresses, routes, resolvers, hostname), or ``{}``.

    The capture itself belongs to ``services.appliance.network`` (another part of issue 7);
    while that module is not there, backups hold no network capture.
    """
    try:
        from services.appliance import network  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return {}
    capture = getattr(network, "capture", None)
    if capture is None:
        return {}
    try:
        value = capture(root)
    except TypeError:
        value = capture()
    except Exception as exc:  # a backup without the network is better than none
        log.warning("network capture failed: %s", exc)
        return {}
    return dict(value) if isinstance(value, dict) else {"capture": value}


def _named_dumping(root: StateRoot) -> bool:
    return any(root.bind_lib.glob(NAMED_TEMPORARY))


def sync_zones(root: StateRoot, wait: float = SYNC_WAIT) -> None:
    """``rndc sync``: write every zone's journal into its zone file (BIND ARM, rndc).

    named answers before it has written the files: it dumps each zone to a temporary
    ``tmp-XXXXXXXXXX`` file and renames it. Wait (at most ``wait`` seconds) until no such file
    is left. Either way the backup is consistent: a zone file that lags holds its journal.
    """
    if not root.rndc_conf.exists():
        return
    try:
        run(["rndc", "-c", str(root.rndc_conf), "sync"], timeout=30)
    except (CommandError, OSError) as exc:  # named down: take the files as they are
        log.warning("rndc sync failed, zone files may lag their journals: %s", exc)
        return
    deadline = time.monotonic() + wait
    while _named_dumping(root) and time.monotonic() < deadline:
        time.sleep(0.01)


def snapshot_database(root: StateRoot, target: Path) -> bool:
    """A consistent copy of Central's SQLite database at ``target`` (False: there is none)."""
    source_path = root.root / DATABASE
    if not source_path.exists():
        return False
    target.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=10)
    try:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()
    return True


class Collector:
    """Collects snapshots of one state root into its chunk cache."""

    def __init__(self, root: StateRoot, store: DirectoryChunkStore | None = None) -> None:
        self.root = root
        self.store = store if store is not None else DirectoryChunkStore(paths.cache_dir(root))
        self.cache_path = paths.stat_cache_file(root)
        self._cache: dict[str, Any] | None = None

    # --- the stat cache -------------------------------------------------------------------
    def _load_cache(self) -> dict[str, Any]:
        if self._cache is None:
            try:
                self._cache = read_json(self.cache_path)
            except (OSError, ValueError):
                self._cache = {}
            if not isinstance(self._cache, dict) or "files" not in self._cache:
                self._cache = {"files": {}, "manifest": None}
        return self._cache

    def previous_root(self) -> str | None:
        value = self._load_cache().get("manifest")
        return str(value) if value else None

    # --- reading files --------------------------------------------------------------------
    def _paths(self) -> tuple[list[str], list[str]]:
        files: list[str] = []
        dirs: list[str] = []
        for top in INCLUDED:
            base = self.root.root / top
            if not base.is_dir():
                continue
            for current, subdirs, names in os.walk(base):
                rel_dir = os.path.relpath(current, self.root.root)
                subdirs[:] = sorted(d for d in subdirs if not _excluded(f"{rel_dir}/{d}"))
                dirs.append(rel_dir)
                for name in sorted(names):
                    rel = f"{rel_dir}/{name}"
                    if _excluded(rel) or (
                        rel_dir == "var/lib/bind" and fnmatch.fnmatch(name, NAMED_TEMPORARY)
                    ):
                        continue
                    files.append(rel)
        return files, dirs

    def _chunk_file(
        self, rel: str, data: bytes, previous: dict[str, Any] | None, bases: dict[str, str]
    ) -> dict[str, Any]:
        pieces = split(data)
        hashes: list[str] = []
        sizes: list[int] = []
        old_hashes: list[str] = previous.get("chunks", []) if previous else []
        old_sizes: list[int] = previous.get("sizes", []) if previous else []
        old_index = 0
        old_start = 0
        offset = 0
        for piece in pieces:
            name = chunk_hash(piece)
            hashes.append(name)
            sizes.append(len(piece))
            if name not in self.store:
                self.store.put(name, piece)
                self.fresh.append(name)
                self.new_chunks += 1
                self.new_bytes += len(piece)
                # The base: the old chunk that covered this offset in the previous version.
                while old_index < len(old_sizes) and old_start + old_sizes[old_index] <= offset:
                    old_start += old_sizes[old_index]
                    old_index += 1
                if old_index < len(old_hashes):
                    bases[name] = old_hashes[old_index]
                elif old_hashes:
                    bases[name] = old_hashes[-1]
            offset += len(piece)
        listing = file_list(hashes)
        old_pages: list[str] = previous.get("pages", []) if previous else []
        for index, page in enumerate(listing.pages):
            if page not in self.store:
                self.store.put(page, listing.chunks[page])
                self.fresh.append(page)
                if index < len(old_pages):
                    bases[page] = old_pages[index]
        if listing.top not in self.store:
            self.store.put(listing.top, listing.chunks[listing.top])
            self.fresh.append(listing.top)
            if previous and previous.get("list"):
                bases[listing.top] = previous["list"]
        return {
            "sha256": chunk_hash(data),
            "size": len(data),
            "list": listing.top,
            "pages": listing.pages,
            "chunks": hashes,
            "sizes": sizes,
        }

    def _entry(self, rel: str, info: os.stat_result, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "path": rel,
            "mode": stat.S_IMODE(info.st_mode),
            "owner": _owner(info.st_uid),
            "group": _group(info.st_gid),
            "size": content["size"],
            "sha256": content["sha256"],
            "list": content["list"],
        }

    # --- one snapshot ---------------------------------------------------------------------
    def collect(
        self, *, kind: str, identity: dict[str, str], sequence: int, reread: bool = False
    ) -> Collected:
        """Collect one snapshot; ``identity`` has appliance_id, hostname and address.

        ``reread``: read every file again (a full backup), still with delta bases.
        """
        started = time.perf_counter()
        self.new_chunks = 0
        self.fresh: list[str] = []
        self.new_bytes = 0
        cache = self._load_cache()
        old_files: dict[str, Any] = cache["files"]
        new_files: dict[str, Any] = {}
        bases: dict[str, str] = {}
        sync_zones(self.root)
        synced = time.perf_counter()
        tmp_db = paths.backup_dir(self.root) / "central.db.snapshot"
        tmp_db.parent.mkdir(parents=True, exist_ok=True)
        has_db = snapshot_database(self.root, tmp_db)
        snap = time.perf_counter()
        files, dirs = self._paths()
        entries: list[dict[str, Any]] = []
        read_files = 0
        now = time.time()
        for rel in [*files, *([DATABASE] if has_db else [])]:
            full = tmp_db if rel == DATABASE else self.root.root / rel
            try:
                info = full.lstat()
            except FileNotFoundError:
                continue  # removed while we walked
            if not stat.S_ISREG(info.st_mode):
                continue
            key = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
            previous = old_files.get(rel)
            if (
                not reread
                and rel != DATABASE
                and previous is not None
                and previous.get("key") == key
                and all(h in self.store for h in (previous["list"], *previous["pages"]))
            ):
                content = previous
            else:
                data = full.read_bytes()
                read_files += 1
                content = self._chunk_file(rel, data, previous, bases)
                if rel != DATABASE and now - info.st_mtime > RACY_SECONDS:
                    content["key"] = key
            if rel == DATABASE:
                info = (self.root.root / DATABASE).stat()
            new_files[rel] = content
            entries.append(self._entry(rel, info, content))
        dir_entries = []
        for rel in dirs:
            info = (self.root.root / rel).stat()
            dir_entries.append(
                {
                    "path": rel,
                    "mode": stat.S_IMODE(info.st_mode),
                    "owner": _owner(info.st_uid),
                    "group": _group(info.st_gid),
                }
            )
        tmp_db.unlink(missing_ok=True)
        manifest = {
            "format": 1,
            "appliance_id": identity["appliance_id"],
            "hostname": identity["hostname"],
            "address": identity["address"],
            "kind": kind,
            "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "sequence": sequence,
            "files": entries,
            "dirs": dir_entries,
            "network": network_capture(self.root),
        }
        data = encode_manifest(manifest)
        root_hash = chunk_hash(data)
        if root_hash not in self.store:
            self.store.put(root_hash, data)
            self.fresh.append(root_hash)
        previous_root = cache.get("manifest")
        if previous_root and previous_root != root_hash:
            bases[root_hash] = previous_root
        self._cache = {"files": new_files, "manifest": root_hash}
        write_json(self.cache_path, self._cache, mode=0o600)
        size = sum(e["size"] for e in entries)
        finished = time.perf_counter()
        return Collected(
            root=root_hash,
            manifest=decode_manifest(data),
            bases=bases,
            new_chunks=self.new_chunks,
            fresh=list(self.fresh),
            new_bytes=self.new_bytes,
            seconds=finished - started,
            size=size,
            files=len(entries),
            read_files=read_files,
            stats={
                "rndc_sync": synced - started,
                "database": snap - synced,
                "files": finished - snap,
            },
        )


def _excluded(rel: str) -> bool:
    return any(rel == item or rel.startswith(item + "/") for item in paths.EXCLUDED)
