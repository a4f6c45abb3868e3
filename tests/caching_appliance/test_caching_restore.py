"""A caching appliance's backup and restore by IP keep its Unbound settings.

Real: the caching sandbox (Unbound, Central, the agents under supervisord), the producer in
its appliance-agent, the 4604 receiver and the apply; the peer is the in-test ``FakePeer``
(the real peer Central is tested end to end in tests/backups).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dns.rcode
import pytest

from services.common.caching.contract import CachingSettings, LocalZone
from services.common.files import read_json
from services.sandbox.sandbox import Sandbox
from tests.backup_appliance.fake_peer import FakePeer
from tests.backup_appliance.helpers import receiver
from tests.backup_appliance.test_backup_restore import central, pair
from tests.conftest import SandboxFactory
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox

ZONE = "kept.example."
ADDRESS = "198.51.100.77"


def test_a_restore_by_ip_brings_the_unbound_settings_back(
    sandbox_factory: SandboxFactory,
) -> None:
    source = sandbox_factory.start(profile="caching")
    peer = FakePeer(source.host_address).start()
    moved: Path | None = None
    replacement: Sandbox | None = None
    try:
        # The source's settings: its own, with a local zone the replacement must answer.
        settings = source.caching_settings().model_copy(
            update={"local_zones": [LocalZone(name=ZONE, records=[f"www.{ZONE} 300 A {ADDRESS}"])]}
        )
        settings.save(source.root.caching_settings)
        kept = source.root.caching_settings.read_text()

        token = source.central_token()
        assert pair(source, token, peer).status_code == 200
        # Pairing starts with a full backup; then one more, taken now, holds the settings.
        wait_for(lambda: peer.snapshots, timeout=60, what="the first full backup")
        full = central(source, token, "POST", "/api/v1/appliance/backups", {"kind": "full"})
        assert full.status_code == 201 and full.json()["error"] is None, full.text
        stored = wait_for(
            lambda: [s["id"] for s in peer.snapshots if s["root"] == full.json()["root"]],
            timeout=60, what="the backup at the peer",
        )  # fmt: skip
        bundle_bytes = peer.bundle(stored[0])

        # The source is lost; a fresh caching appliance comes up at its address.
        source.stop()
        assert source.root_dir is not None
        moved = source.root_dir.with_name(source.root_dir.name + "-lost")
        shutil.move(source.root_dir, moved)
        replacement = Sandbox(name=source.name, network=source.network,
                              root_dir=source.root_dir, profile="caching")  # fmt: skip
        replacement.start()
        assert CachingSettings.load(replacement.root.caching_settings).local_zones == []
        code = read_json(replacement.root.lib / "appliance-state.json")["restore_code"]

        accepted = receiver(replacement, "POST", "/restore", content=bundle_bytes,
                            headers={"X-Burrow-Restore-Code": code})  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        progress = wait_for(
            lambda: (p := receiver(replacement, "GET", "/restore").json())["state"]
            in ("done", "failed") and p,
            timeout=180, interval=0.5, what="the restore to finish",
        )  # fmt: skip
        assert progress["state"] == "done", progress
        timed = {entry["step"] for entry in progress["timings"]}
        assert {"unbound", "central", "healthy"} <= timed, progress
        assert not {"named", "kea"} & timed, progress

        replacement.wait_ready(timeout=120)
        assert replacement.root.caching_settings.read_text() == kept
        answer = replacement.dns_query(f"www.{ZONE}", "A")
        assert answer.rcode() == dns.rcode.NOERROR
        assert [rr.to_text() for rrset in answer.answer for rr in rrset] == [ADDRESS]
        # Unbound still replaces its trust anchor as its own user, never the settings.
        assert replacement.root.unbound_trust_anchor.owner() == "unbound"
        assert replacement.root.caching_settings.owner() == "root"
    finally:
        if replacement is not None:
            replacement.stop()
        peer.stop()
        if moved is not None:
            shutil.rmtree(moved, ignore_errors=True)
