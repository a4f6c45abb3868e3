"""The backup producer: when to back up, the outbox, sending with deltas, and the status file.

Triggers (issue 7's design, "When"):

- Central appends a byte to ``var/lib/burrow/backup/changed`` after every committed change (a
  small hook in central/history). The producer looks at it every ``POLL`` seconds and starts
  an incremental backup once the changes have been quiet for ``QUIET`` seconds, or at the
  latest ``COALESCE`` seconds after the first one: a burst becomes one backup, and a single
  change is backed up within a second.
- The dns-agent and the dhcp-agent touch ``daemons-changed`` after every change they apply
  to named or Kea, whichever Central asked (on an appliance in a fleet the managing
  Central's changes never reach this appliance's own Central): backed up the same way.
- Kea's lease files (``var/lib/kea/kea-leases*.csv*``): Kea only appends to them (and its
  lease file cleanup rewrites them now and then), so their size and modification time tell
  a lease change; it is backed up the same way, within about a second. Unchanged chunks are
  not sent again: an append costs the chunks at the file's end.
- A safety net every ``backup_safety_interval_seconds`` (Central setting, default 900).
- A full backup daily at ``backup_full_time`` (Central setting, HH:MM UTC, default 02:30),
  after pairing, and after a restore.

Every snapshot goes to the outbox (``backup/outbox/<sequence>.json``) first; the sender sends
the oldest first and removes it only when the peer has recorded it. While the peer cannot be
reached the sender retries with a back-off from 1 s doubling up to ``MAX_BACKOFF`` s, so
nothing is lost. Sending a snapshot: ask the peer which of its chunks (and delta bases) it
lacks, leaving out those of the last snapshot it recorded (it keeps them: its retention
keeps the newest snapshot), and not at all when every other chunk was first made by this
collection (it cannot have those); upload those, each as a zlib stream, against its delta base
when the peer has that base; then record the snapshot (a 409 listing missing chunks is
answered by sending them whole and recording again).

Only an appliance paired with a peer collects backups.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from typing import Any

from services.appliance.backup import paths
from services.appliance.backup import state as appliance_state
from services.appliance.backup.collect import Collected, Collector
from services.appliance.backup.peer import PeerClient, PeerError, problem_text
from services.common.backup.files import change_count, daemons_changed_file
from services.common.backup.format import BackupFormatError, delta_encode, walk
from services.common.files import read_json, write_json
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

POLL = 0.2
QUIET = 0.3
COALESCE = 1.0
#: A change only the agents have said so far (``daemons-changed``) waits longer: this
#: appliance's Central commits its own changes a moment after its agent applied them, and the
#: two make one backup; a change only the agents see (the managing Central's, in a fleet) is
#: backed up after these.
DAEMONS_QUIET = 1.0
DAEMONS_COALESCE = 2.0
MAX_BACKOFF = 300.0
MISSING_BATCH = 10_000
DEFAULT_SAFETY_INTERVAL = 900
DEFAULT_FULL_TIME = "02:30"


_settings_cache: dict[tuple[str, str], tuple[float, Any]] = {}
SETTINGS_TTL = 5.0


def central_setting(root: StateRoot, key: str, default: Any) -> Any:
    """A Central setting read from its SQLite database (the default when absent).

    Read at most every ``SETTINGS_TTL`` seconds per setting.
    """
    cached = _settings_cache.get((str(root.root), key))
    if cached is not None and time.monotonic() - cached[0] < SETTINGS_TTL:
        return cached[1]
    value = _read_setting(root, key, default)
    _settings_cache[(str(root.root), key)] = (time.monotonic(), value)
    return value


def _read_setting(root: StateRoot, key: str, default: Any) -> Any:
    path = root.lib / "central.db"
    if not path.exists():
        return default
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
        try:
            row = conn.execute(
                "SELECT value FROM central_settings WHERE key = ?", (key,)
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return default
    if row is None:
        return default
    try:
        return json.loads(row[0])
    except (TypeError, ValueError):
        return default


def central_database(root: StateRoot) -> str:
    """``sqlite`` when Central's database is the appliance's own file (it is in every backup),
    ``external`` when Central uses a PostgreSQL server: that database stays on its server and
    is not backed up here; the backup holds its connection settings (etc/burrow/central.json),
    so a replacement connects to the same database again."""
    try:
        url = str(read_json(root.etc / "central.json").get("database_url") or "")
    except (OSError, ValueError, AttributeError):
        url = ""
    return "sqlite" if not url or url.startswith("sqlite") else "external"


def load_peer(root: StateRoot) -> dict[str, Any] | None:
    """peer.json, or None when the appliance is not paired."""
    try:
        value = read_json(paths.peer_file(root))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def load_credential(root: StateRoot) -> str | None:
    try:
        return paths.credential_file(root).read_text().strip() or None
    except OSError:
        return None


def peer_client(root: StateRoot, peer: dict[str, Any] | None = None) -> PeerClient:
    """A client of the paired peer with the stored credential."""
    peer = peer or load_peer(root)
    if peer is None:
        raise PeerError("This appliance is not paired with a backup peer.")
    return PeerClient(
        peer["address"], int(peer["port"]), peer["fingerprint"], load_credential(root)
    )


class Producer:
    """Collects snapshots and sends them to the peer, in a thread of the appliance-agent."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        self.collector = Collector(root)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._requested: str | None = None
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.last_collected: Collected | None = None
        self.last_sent_bytes = 0
        self._backoff = 0.0
        self._next_send = 0.0
        #: Set by the restore receiver while a restore is received and applied: no backup.
        self.restoring = False
        #: The last restore onto this appliance, kept across the agent's restart (its file).
        self.restore_progress: dict[str, Any] | None = self._last_restore()

    # --- bookkeeping ------------------------------------------------------------------------
    def _last_restore(self) -> dict[str, Any] | None:
        try:
            value = read_json(paths.restore_dir(self.root) / "progress.json")
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def _producer_state(self) -> dict[str, Any]:
        try:
            value = read_json(paths.producer_file(self.root))
        except (OSError, ValueError):
            value = {}
        return value if isinstance(value, dict) else {}

    def _save_producer_state(self, value: dict[str, Any]) -> None:
        write_json(paths.producer_file(self.root), value, mode=0o600)

    def identity(self) -> dict[str, str]:
        current = appliance_state.load(self.root)
        settings = ApplianceSettings.load(self.root.appliance_settings)
        return {
            "appliance_id": current.appliance_id,
            "hostname": settings.hostname,
            "address": settings.ip,
        }

    def outbox(self) -> list[dict[str, Any]]:
        """Snapshots waiting to be sent, oldest first."""
        directory = paths.outbox_dir(self.root)
        if not directory.is_dir():
            return []
        entries = []
        for path in sorted(directory.glob("*.json"), key=lambda p: int(p.stem)):
            try:
                entries.append(read_json(path))
            except (OSError, ValueError):
                log.warning("unreadable outbox entry %s set aside", path)
                path.rename(path.with_suffix(".broken"))
        return entries

    # --- collecting -------------------------------------------------------------------------
    def collect(self, kind: str) -> Collected:
        """Collect one snapshot into the outbox (a full one re-reads every file)."""
        with self._lock:
            record = self._producer_state()
            sequence = int(record.get("sequence", 0)) + 1
            # Every change Central committed up to this moment is in the snapshot (the count
            # is read before a single file is): once it is stored at the peer, those changes
            # are safe (``changes_stored`` in the status).
            covers = change_count(self.root)
            collected = self.collector.collect(
                kind=kind, identity=self.identity(), sequence=sequence, reread=kind == "full"
            )
            entry = {
                "root": collected.root,
                "kind": kind,
                "created_at": collected.manifest["created_at"],
                "sequence": sequence,
                "size": collected.size,
                "bases": collected.bases,
                "fresh": collected.fresh,
                "collect_seconds": round(collected.seconds, 4),
                "covers": covers,
            }
            write_json(paths.outbox_dir(self.root) / f"{sequence}.json", entry, mode=0o600)
            record["sequence"] = sequence
            if kind == "full":
                record["last_full_collected"] = entry["created_at"]
            self._save_producer_state(record)
            self.last_collected = collected
            self._next_send = 0.0
            self.write_status()
            log.info(
                "collected %s backup %d: %d files, %d new chunks (%d bytes) in %.3f s",
                kind, sequence, collected.files, collected.new_chunks, collected.new_bytes,
                collected.seconds,
            )  # fmt: skip
            return collected

    # --- sending ----------------------------------------------------------------------------
    def send_one(self, entry: dict[str, Any], client: PeerClient) -> dict[str, Any]:
        """Send one outbox snapshot; returns the peer's record of it."""
        peer = load_peer(self.root)
        if peer is None:
            raise PeerError("This appliance is not paired with a backup peer.")
        store = self.collector.store
        base_path = f"/api/v1/backup-store/{peer['peer_id']}"
        names = list(walk(entry["root"], store.get))
        bases: dict[str, str] = entry.get("bases", {})
        known = self._known_at_peer()
        wanted = [n for n in dict.fromkeys([*names, *bases.values()]) if n not in known]
        missing: set[str] = set()
        fresh = set(entry.get("fresh", []))
        if fresh and all(name in fresh for name in wanted):
            # Every chunk to check was first made by this collection: the peer cannot have
            # it (short of a coincidence that costs one upload), so skip the question.
            missing = set(wanted)
            wanted = []
        for start in range(0, len(wanted), MISSING_BATCH):
            status, answer = client.json(
                "POST",
                f"{base_path}/chunks/missing",
                {"hashes": wanted[start : start + MISSING_BATCH]},
            )
            if status != 200 or not isinstance(answer, dict):
                raise PeerError(f"The peer refused the missing-chunks check (HTTP {status}): "
                                f"{problem_text(answer)}")  # fmt: skip
            missing.update(answer.get("missing", []))
        for name in names:
            if name in missing:
                self._put_chunk(client, base_path, name, bases.get(name), missing)
        body = {
            "root": entry["root"],
            "kind": entry["kind"],
            "created_at": entry["created_at"],
            "sequence": entry["sequence"],
            "size": entry["size"],
        }
        status, answer = client.json("POST", f"{base_path}/snapshots", body)
        if status == 409 and isinstance(answer, dict):
            # The store's problem about the snapshot's root lists the chunks it lacks.
            for name in missing_chunks(answer):
                self._put_chunk(client, base_path, name, None, set())
            status, answer = client.json("POST", f"{base_path}/snapshots", body)
        if status not in (200, 201):
            raise PeerError(f"The peer refused snapshot {entry['sequence']} (HTTP {status}): "
                            f"{problem_text(answer)}")  # fmt: skip
        return answer if isinstance(answer, dict) else {}

    def _known_at_peer(self) -> set[str]:
        """Chunks of the last snapshot the peer recorded: it keeps them (its retention keeps
        the newest snapshot), so they need no missing-check. Empty when not known here."""
        last = self._producer_state().get("last_sent")
        store = self.collector.store
        if not last or store.get(str(last)) is None:
            return set()
        try:
            return set(walk(str(last), store.get))
        except BackupFormatError:
            return set()

    def _put_chunk(
        self, client: PeerClient, base_path: str, name: str, base: str | None, missing: set[str]
    ) -> None:
        store = self.collector.store
        data = store.get(name)
        if data is None:
            raise BackupFormatError(f"chunk {name} is not in the producer's cache")
        base_data = store.get(base) if base and base not in missing else None
        headers: dict[str, str] = {}
        if base_data is not None and base is not None:
            headers["X-Burrow-Delta-Base"] = base
            body = delta_encode(data, base_data)
        else:
            body = delta_encode(data)
        status, answer, _ = client.request("PUT", f"{base_path}/chunks/{name}", body, headers)
        if status in (200, 201, 204):
            return
        if base_data is not None and status in (404, 409, 422):
            # The peer no longer has the base (retention): send the chunk whole.
            self._put_chunk(client, base_path, name, None, missing)
            return
        raise PeerError(f"The peer refused chunk {name} (HTTP {status}): "
                        f"{answer[:200].decode(errors='replace')}")  # fmt: skip

    def send_pending(self) -> int:
        """Send every outbox snapshot, oldest first; returns how many were sent."""
        sent = 0
        with self._lock:
            entries = self.outbox()
            if not entries or load_peer(self.root) is None:
                return 0
            with peer_client(self.root) as client:
                for entry in entries:
                    before = client.sent_bytes
                    try:
                        answer = self.send_one(entry, client)
                    except BackupFormatError as exc:
                        # The cache lacks a chunk the peer needs: this snapshot can never
                        # be completed. Drop it and start again from a full backup that
                        # reads every file.
                        log.warning("snapshot %s dropped: %s", entry["sequence"], exc)
                        (paths.outbox_dir(self.root) / f"{entry['sequence']}.json").unlink()
                        paths.stat_cache_file(self.root).unlink(missing_ok=True)
                        self.collector._cache = None
                        self.request("full")
                        raise
                    sent_bytes = client.sent_bytes - before
                    self.last_sent_bytes = sent_bytes
                    record = self._producer_state()
                    summary = {
                        "id": answer.get("id"),
                        "root": entry["root"],
                        "sequence": entry["sequence"],
                        "created_at": entry["created_at"],
                        "sent_at": _now(),
                        "size": entry["size"],
                        "sent_bytes": sent_bytes,
                        "collect_seconds": entry.get("collect_seconds"),
                    }
                    record["last_" + ("full" if entry["kind"] == "full" else "incremental")] = (
                        summary
                    )
                    record["last_sent"] = entry["root"]
                    covers = int(entry.get("covers") or 0)
                    record["changes_stored"] = max(covers, int(record.get("changes_stored") or 0))
                    self._save_producer_state(record)
                    (paths.outbox_dir(self.root) / f"{entry['sequence']}.json").unlink()
                    sent += 1
            self.last_error = None
            self._backoff = 0.0
            self.prune_cache()
            self.write_status()
        return sent

    def prune_cache(self) -> None:
        """Drop cached chunks no longer needed: keep the last snapshot and the outbox's."""
        store = self.collector.store
        keep: set[str] = set()
        roots = [e["root"] for e in self.outbox()]
        last = self.collector.previous_root()
        if last:
            roots.append(last)
        try:
            for root in roots:
                keep.update(walk(root, store.get))
        except BackupFormatError as exc:
            log.warning("cache not pruned: %s", exc)
            return
        directory = store.directory
        for sub in directory.iterdir() if directory.is_dir() else []:
            if sub.is_dir():
                for path in sub.iterdir():
                    if path.name not in keep:
                        path.unlink(missing_ok=True)

    # --- status -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        record = self._producer_state()
        current = appliance_state.load(self.root)
        peer = load_peer(self.root)
        return {
            "peer": peer,
            "last_full": record.get("last_full"),
            "last_incremental": record.get("last_incremental"),
            "outbox": len(self.outbox()),
            # Central's changes counted so far, how many of them a snapshot stored at the
            # peer holds, and how many are not at the peer yet.
            "changes": change_count(self.root),
            "changes_stored": int(record.get("changes_stored") or 0),
            "changes_not_at_peer": max(
                0, change_count(self.root) - int(record.get("changes_stored") or 0)
            ),
            "last_error": self.last_error,
            "state": current.state,
            "appliance_id": current.appliance_id,
            "restore": self.restore_progress or {},
            "fingerprint": agent_fingerprint(self.root),
            "restore_code": current.restore_code,
            "last_collected": (
                None
                if self.last_collected is None
                else {
                    "root": self.last_collected.root,
                    "seconds": round(self.last_collected.seconds, 4),
                    "new_chunks": self.last_collected.new_chunks,
                    "new_bytes": self.last_collected.new_bytes,
                    "read_files": self.last_collected.read_files,
                    "stats": {k: round(v, 4) for k, v in self.last_collected.stats.items()},
                }
            ),
            "last_sent_bytes": self.last_sent_bytes,
            "central_database": central_database(self.root),
        }

    def write_status(self) -> None:
        try:
            write_json(paths.status_file(self.root), self.status(), mode=0o600)
        except OSError as exc:
            log.warning("backup-status.json not written: %s", exc)

    # --- the loop ---------------------------------------------------------------------------
    def request(self, kind: str) -> None:
        """Ask for a backup soon (``full`` wins over ``incremental``)."""
        if self._requested != "full":
            self._requested = kind
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="backup-producer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _changed_mtime(self) -> float:
        try:
            return paths.changed_file(self.root).stat().st_mtime
        except OSError:
            return 0.0

    def _change_mark(self) -> tuple[Any, ...]:
        """What changes when Central commits a change, an agent applies one (asked by this
        appliance's Central or by the Central managing its fleet) or Kea writes a lease."""
        leases = []
        for path in sorted(self.root.kea_lib.glob("kea-leases*.csv*")):
            try:
                info = path.stat()
            except OSError:
                continue
            leases.append((path.name, info.st_size, info.st_mtime_ns))
        try:
            daemons = daemons_changed_file(self.root).stat().st_mtime_ns
        except OSError:
            daemons = 0
        return (self._changed_mtime(), change_count(self.root), daemons, tuple(leases))

    def _full_due(self, now: dt.datetime) -> bool:
        record = self._producer_state()
        full_time = str(central_setting(self.root, "backup_full_time", DEFAULT_FULL_TIME))
        try:
            hour, minute = (int(x) for x in full_time.split(":"))
        except ValueError:
            hour, minute = 2, 30
        moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment > now:
            moment -= dt.timedelta(days=1)
        last = record.get("last_full_collected")
        if not last:
            return True
        try:
            last_time = dt.datetime.fromisoformat(str(last).replace("Z", "+00:00"))
        except ValueError:
            return True
        return last_time < moment

    def _run(self) -> None:
        seen = self._change_mark()
        first_change: float | None = None
        daemons_only = False
        last_change = 0.0
        last_backup = time.monotonic()
        pause_until = 0.0
        while not self._stop.is_set():
            self._wake.wait(POLL)
            self._wake.clear()
            if self._stop.is_set():
                return
            if time.monotonic() < pause_until and self._requested is None:
                continue
            try:
                if load_peer(self.root) is None or self.restore_progress_active():
                    continue
                now = time.monotonic()
                mark = self._change_mark()
                if mark != seen:
                    agents_only = mark[:2] == seen[:2] and mark[3:] == seen[3:]
                    daemons_only = agents_only and (first_change is None or daemons_only)
                    seen = mark
                    last_change = now
                    if first_change is None:
                        first_change = now
                quiet, coalesce = (
                    (DAEMONS_QUIET, DAEMONS_COALESCE) if daemons_only else (QUIET, COALESCE)
                )
                kind = self._requested
                if (
                    kind is None
                    and first_change is not None
                    and (now - last_change >= quiet or now - first_change >= coalesce)
                ):
                    kind = "incremental"
                safety = float(
                    central_setting(
                        self.root, "backup_safety_interval_seconds", DEFAULT_SAFETY_INTERVAL
                    )
                )
                if kind is None and now - last_backup >= safety:
                    kind = "incremental"
                if self._full_due(dt.datetime.now(dt.UTC)):
                    kind = "full"
                if paths.resume_full_file(self.root).exists():
                    kind = "full"
                if kind is not None:
                    self._requested = None
                    first_change = None
                    last_backup = now
                    self.collect(kind)
                    if kind == "full":
                        paths.resume_full_file(self.root).unlink(missing_ok=True)
                if self.outbox() and now >= self._next_send:
                    self.send_pending()
            except Exception as exc:  # the loop must survive anything and say what happened
                self.last_error = str(exc)
                self._backoff = min(MAX_BACKOFF, max(1.0, self._backoff * 2))
                self._next_send = time.monotonic() + self._backoff
                pause_until = self._next_send
                log.warning("backup: %s (next try in %.0f s)", exc, self._backoff)
                self.write_status()

    def restore_progress_active(self) -> bool:
        """True while a restore runs: said by the receiver (``restoring``) as well as by the
        state file, since the restore writes the backed-up state file ("active", with the
        peer's files) before it sets ``restoring`` again: a backup taken then would hold
        this appliance's half-written state and reach the peer as the newest snapshot."""
        return self.restoring or appliance_state.load(self.root).state == "restoring"


def missing_chunks(problem: dict[str, Any]) -> list[str]:
    """The chunks a store's 409 (``backup-incomplete``) lists in its problems."""
    names: list[str] = []
    for item in problem.get("problems") or []:
        if isinstance(item, dict):
            names += [str(name) for name in item.get("missing") or []]
    return names


def agent_fingerprint(root: StateRoot) -> str | None:
    """``sha256:<hex>`` of the appliance-agent's certificate (shown on the console)."""
    from services.common.agent import agent_cert
    from services.common.pki import load_cert

    path = agent_cert(root, "appliance-agent").cert
    try:
        from cryptography.hazmat.primitives import serialization

        der = load_cert(path).public_bytes(serialization.Encoding.DER)
    except (OSError, ValueError):
        return None
    from services.appliance.backup.peer import fingerprint_of

    return fingerprint_of(der)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
