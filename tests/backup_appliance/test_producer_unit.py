"""Unit tests of the producer's parts on a state root in a temporary folder (no daemons)."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from central.core.db import Base
from central.history import hooks
from central.history.service import record
from services.appliance.backup import collect as collect_module
from services.appliance.backup import state as appliance_state
from services.appliance.backup.collect import Collector
from services.appliance.backup.receiver import CodeGuard
from services.common.backup.bundle import write_bundle
from services.common.backup.format import delta_encode, walk
from services.common.errors import ForbiddenError, TooManyRequestsError, UnauthenticatedError
from services.common.paths import StateRoot


def zone(records: int, extra: str = "") -> str:
    lines = ["$ORIGIN big.example.", "$TTL 300", "@ IN SOA ns1 h 1 3600 900 1209600 300"]
    lines += [f"h{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(records)]
    if extra:
        lines.insert(50_000, extra)
    return "\n".join(lines) + "\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateRoot:
    # No network capture: burrow-restore in these tests runs on this machine's own network,
    # which a capture must never be applied to.
    monkeypatch.setattr(collect_module, "network_capture", lambda root: {})
    state = StateRoot.at(tmp_path / "s")
    for directory in state.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    (state.etc / "appliance.json").write_text('{"hostname": "s"}\n')
    (state.bind_lib / "db.big.example").write_text(zone(100_000))
    key = state.lib / "ssh_host_ed25519_key"
    key.write_text("secret\n")
    key.chmod(0o600)
    (state.lib / "backup/outbox").mkdir(parents=True)
    (state.lib / "backup/outbox/1.json").write_text("{}")
    (state.lib / "backup-status.json").write_text("{}")
    conn = sqlite3.connect(state.lib / "central.db")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [(f"row {i}",) for i in range(20_000)])
    conn.commit()
    conn.close()
    return state


IDENTITY = {"appliance_id": "a", "hostname": "s", "address": "198.51.100.2"}


def test_collect_holds_the_right_files_and_skips_unchanged_ones(
    root: StateRoot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect_module, "network_capture", lambda root: {"hostname": "s"})
    collector = Collector(root)
    first = collector.collect(kind="full", identity=IDENTITY, sequence=1)
    paths = {f["path"]: f for f in first.manifest["files"]}
    assert "var/lib/bind/db.big.example" in paths
    assert paths["var/lib/burrow/ssh_host_ed25519_key"]["mode"] == 0o600
    assert "var/lib/burrow/central.db" in paths
    assert not any("outbox" in p or p.endswith("backup-status.json") for p in paths)
    assert first.manifest["network"] == {"hostname": "s"}
    # Files older than the racy window are not read again; the database always is.
    old = 1_000_000_000
    for path in (root.bind_lib / "db.big.example", root.etc / "appliance.json"):
        os.utime(path, (old, old))
    os.utime(root.lib / "ssh_host_ed25519_key", (old, old))
    Collector(root).collect(kind="incremental", identity=IDENTITY, sequence=2)
    again = Collector(root).collect(kind="incremental", identity=IDENTITY, sequence=3)
    assert again.read_files == 1
    assert again.new_chunks <= 2  # the manifest; the database snapshot is byte-identical


def test_a_one_record_change_needs_a_few_small_deltas(root: StateRoot) -> None:
    collector = Collector(root)
    before = collector.collect(kind="full", identity=IDENTITY, sequence=1)
    (root.bind_lib / "db.big.example").write_text(zone(100_000, "added IN A 198.51.100.9"))
    conn = sqlite3.connect(root.lib / "central.db")
    conn.execute("INSERT INTO t (v) VALUES ('one more')")
    conn.commit()
    conn.close()
    after = collector.collect(kind="incremental", identity=IDENTITY, sequence=2)
    known = set(walk(before.root, collector.store.get))
    new = [n for n in walk(after.root, collector.store.get) if n not in known]
    sent = 0
    for name in new:
        data = collector.store.get(name)
        assert data is not None
        base = after.bases.get(name)
        base_data = collector.store.get(base) if base in known else None
        sent += len(delta_encode(data, base_data))
    assert len(new) <= 10, len(new)
    assert sent <= 6 * 1024, sent
    assert after.seconds < 2.0


def test_burrow_restore_applies_and_refuses_tampering(root: StateRoot, tmp_path: Path) -> None:
    collector = Collector(root)
    snapshot = collector.collect(kind="full", identity=IDENTITY, sequence=1)
    out = io.BytesIO()
    write_bundle(out, snapshot.root, collector.store.get)
    bundle = tmp_path / "backup.bin"
    bundle.write_bytes(out.getvalue())
    tampered = tmp_path / "tampered.bin"
    raw = bytearray(out.getvalue())
    raw[len(raw) // 2] ^= 0x01
    tampered.write_bytes(bytes(raw))
    target = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    refused = subprocess.run(
        [sys.executable, "-m", "services.appliance.restore", "--root", str(target), str(tampered)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "refused" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (target / "var/lib/bind").exists()
    done = subprocess.run(
        [sys.executable, "-m", "services.appliance.restore", "--root", str(target), str(bundle)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[done]" in done.stdout
    assert (target / "var/lib/bind/db.big.example").read_text() == zone(100_000)
    key = target / "var/lib/burrow/ssh_host_ed25519_key"
    assert key.stat().st_mode & 0o777 == 0o600
    copy = sqlite3.connect(target / "var/lib/burrow/central.db")
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == 20_000
    copy.close()
    state = appliance_state.load(StateRoot.at(target))
    assert state.state == "active"
    again = subprocess.run(
        [sys.executable, "-m", "services.appliance.restore", "--root", str(target), str(bundle)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert again.returncode == 1 and "--force" in again.stderr


def test_state_and_restore_code(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    first = appliance_state.load(root)
    assert first.state == "uninitialized"
    assert len(first.restore_code) == 10
    assert set(first.restore_code) <= set(appliance_state.CODE_ALPHABET)
    assert appliance_state.load(root) == first
    assert appliance_state.set_state(root, "active").appliance_id == first.appliance_id


def test_five_wrong_codes_lock_the_receiver(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path)
    code = appliance_state.load(root).restore_code
    guard = CodeGuard()
    guard.check(root, code)
    guard.check(root, code.lower())  # read aloud from a console: case does not matter
    for _ in range(3):
        with pytest.raises(ForbiddenError):
            guard.check(root, "WRONGWRONG")
    with pytest.raises(UnauthenticatedError):  # no code at all is not a guess: not counted
        guard.check(root, None)
    with pytest.raises(ForbiddenError):
        guard.check(root, "WRONGWRONG")
    with pytest.raises(ForbiddenError):
        guard.check(root, "WRONGWRONG")  # the fifth
    with pytest.raises(TooManyRequestsError) as locked:
        guard.check(root, code)
    assert 0 < int(locked.value.headers["Retry-After"]) <= 300


def test_the_history_hook_touches_only_after_a_commit(tmp_path: Path) -> None:
    changed = tmp_path / "backup/changed"
    hooks.install(changed)
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as db:
            record(db, "test", "thing", 1, "create")
            db.rollback()
            assert not changed.exists()
            record(db, "test", "thing", 1, "create")
            db.commit()
            assert changed.exists()
            first = changed.stat().st_mtime_ns
            db.commit()  # nothing recorded: no touch
            assert changed.stat().st_mtime_ns == first
    finally:
        hooks._target.clear()
        engine.dispose()


def test_the_status_says_whether_centrals_database_is_in_the_backup(tmp_path: Path) -> None:
    from services.appliance.backup.producer import central_database

    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    assert central_database(root) == "sqlite"  # no central.json: the default file
    (root.etc / "central.json").write_text('{"database_url": "sqlite:////var/lib/burrow/x.db"}')
    assert central_database(root) == "sqlite"
    (root.etc / "central.json").write_text(
        '{"database_url": "postgresql+psycopg://burrow@/burrow?host=/run/postgresql"}'
    )
    assert central_database(root) == "external"


def test_no_backup_is_taken_while_a_restore_is_applied(tmp_path: Path) -> None:
    """A restore writes the backed-up state file ("active") before it says "restoring"
    again: the receiver's word holds the producer back all the while."""
    from services.appliance.backup.producer import Producer

    root = StateRoot.at(tmp_path)
    appliance_state.set_state(root, "active")
    producer = Producer(root)
    assert not producer.restore_progress_active()
    producer.restoring = True
    assert producer.restore_progress_active()
    producer.restoring = False
    appliance_state.set_state(root, "restoring")
    assert producer.restore_progress_active()
