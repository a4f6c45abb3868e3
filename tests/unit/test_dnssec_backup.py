"""DNSSEC keys, TSIG key objects and policies are in every backup and come back with a restore
as they were (content and modes): a restored appliance signs with the same keys."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.appliance.backup import collect as collect_module
from services.appliance.backup.collect import Collector
from services.common.backup.bundle import write_bundle
from services.common.paths import StateRoot

IDENTITY = {"appliance_id": "a", "hostname": "s", "address": "198.51.100.2"}
KEY = "Ksigned.test.+013+12345"


def test_keys_and_policies_are_backed_up_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect_module, "network_capture", lambda root: {})
    root = StateRoot.at(tmp_path / "s")
    for directory in root.all_dirs():
        directory.mkdir(parents=True, exist_ok=True)
    (root.etc / "appliance.json").write_text('{"hostname": "s"}\n')
    root.bind_keys.mkdir(parents=True)
    files = {
        root.bind_keys / f"{KEY}.key": ("signed.test. 3600 IN DNSKEY 257 3 13 AAAA\n", 0o640),
        root.bind_keys / f"{KEY}.private": ("Private-key-format: v1.3\n", 0o600),
        root.bind_keys / f"{KEY}.state": ("KSK: yes\n", 0o640),
        root.bind_etc / "burrow-keys.json": ('{"keys": []}\n', 0o600),
        root.bind_etc / "burrow-dnssec-policies.json": ('{"policies": []}\n', 0o640),
    }
    for path, (text, mode) in files.items():
        path.write_text(text)
        path.chmod(mode)
    collector = Collector(root)
    snapshot = collector.collect(kind="full", identity=IDENTITY, sequence=1)
    held = {f["path"] for f in snapshot.manifest["files"]}
    for path in files:
        assert str(path.relative_to(root.root)) in held
    out = io.BytesIO()
    write_bundle(out, snapshot.root, collector.store.get)
    bundle = tmp_path / "backup.bin"
    bundle.write_bytes(out.getvalue())
    target = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "services.appliance.restore", "--root", str(target), str(bundle)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for path, (text, mode) in files.items():
        restored = target / path.relative_to(root.root)
        assert restored.read_text() == text
        assert restored.stat().st_mode & 0o777 == mode
