"""Backups from a real sandbox to an in-test peer, and a restore onto a fresh appliance.

The peer here is ``fake_peer.FakePeer`` (issue 7's wire contract, in memory); the real peer
Central (central/backups) is tested end to end in tests/backups. What is real: the sandbox
(named, Kea, Central, the agents under supervisord), Central's endpoints, the producer in
the appliance-agent, the 4604 receiver and the apply.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.backup.bundle import read_bundle
from services.common.backup.files import central_hold_file, changed_file
from services.common.files import read_json
from services.sandbox.sandbox import Sandbox
from tests.backup_appliance.fake_peer import FakePeer
from tests.backup_appliance.helpers import axfr, kea_config, receiver
from tests.conftest import SandboxFactory
from tests.harness.problems import assert_problem
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def central(box: Sandbox, token: str, method: str, path: str, body: Any = None) -> httpx.Response:
    return box.https(1231, path, timeout=120, method=method, token=token, json_body=body)


def import_zone(box: Sandbox, token: str, name: str, records: int) -> dict[str, Any]:
    servers = central(box, token, "GET", "/api/v1/servers?filter=kind:dns").json()
    server_id = servers["items"][0]["id"]
    lines = [f"$ORIGIN {name}", "$TTL 300", "@ IN SOA ns1 hostmaster 1 3600 900 1209600 300",
             "@ IN NS ns1", "ns1 IN A 203.0.113.53"]  # fmt: skip
    lines += [f"h{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(records)]
    body = {"server_id": server_id, "name": name, "text": "\n".join(lines) + "\n"}
    response = central(box, token, "POST", "/api/v1/dns/zones/import", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def pair(
    box: Sandbox, token: str, peer: FakePeer, fingerprint: str | None = None
) -> httpx.Response:
    body = {
        "address": peer.address,
        "port": peer.port,
        "token": peer.pairing_token(),
        "fingerprint": fingerprint or peer.fingerprint,
        "comment": "pair with the test peer",
    }
    return central(box, token, "PUT", "/api/v1/appliance/peer", body)


def test_backups_go_to_the_peer_and_restore_onto_a_replacement(
    sandbox_factory: SandboxFactory,
) -> None:
    source = sandbox_factory.start()
    peer = FakePeer(source.host_address).start()
    moved: Path | None = None
    replacement: Sandbox | None = None
    try:
        token = source.central_token()
        state = read_json(source.root.lib / "appliance-state.json")
        assert state["state"] == "uninitialized" and len(state["restore_code"]) == 10

        # A wrong fingerprint is refused, naming the field and what the peer presented.
        wrong = pair(source, token, peer, "sha256:" + "0" * 64)
        assert peer.fingerprint in assert_problem(wrong, 422, "fingerprint")["detail"]
        assert not central(source, token, "GET", "/api/v1/appliance/peer").json()["paired"]
        bad_token = central(source, token, "PUT", "/api/v1/appliance/peer", {
            "address": peer.address, "port": peer.port, "token": "not-a-token",
            "fingerprint": peer.fingerprint})  # fmt: skip
        assert_problem(bad_token, 422, "token")
        # Not paired yet: backing up now is a conflict, passed on from the agent.
        unpaired = central(source, token, "POST", "/api/v1/appliance/backups", {"kind": "full"})
        assert_problem(unpaired, 409, "peer")

        paired = pair(source, token, peer)
        assert paired.status_code == 200, paired.text
        assert paired.json()["peer_id"] == "p1"
        history = central(source, token, "GET", "/api/v1/history/backup-peer/peer").json()
        assert history["items"][0]["action"] == "pair"
        credential = source.root.secrets / "backup-credential"
        assert credential.stat().st_mode & 0o777 == 0o600
        assert read_json(source.root.lib / "appliance-state.json")["state"] == "active"

        # Pairing starts with a full backup.
        wait_for(lambda: any(s["kind"] == "full" for s in peer.snapshots), timeout=60,
                 what="the first full backup")  # fmt: skip

        # A committed change in Central is backed up within about a second.
        zone = "backup-test.example."
        before_change = len(peer.snapshots)
        import_zone(source, token, zone, 200)
        started = time.monotonic()
        wait_for(lambda: len(peer.snapshots) > before_change, timeout=10, interval=0.05,
                 what="an incremental backup after a change")  # fmt: skip
        assert changed_file(source.root).exists()
        latency = time.monotonic() - started
        assert latency < 5, latency
        assert peer.snapshots[-1]["kind"] == "incremental"

        # Back up now, through Central; the list and the export come from the peer.
        now = central(source, token, "POST", "/api/v1/appliance/backups", {"kind": "incremental"})
        assert now.status_code == 201, now.text
        assert now.json()["sent"] >= 1 and now.json()["error"] is None
        listed = central(source, token, "GET", "/api/v1/appliance/backups").json()
        assert listed["paired"] and len(listed["items"]) == len(peer.snapshots)
        last_id = listed["items"][-1]["id"]
        exported = source.https(1231, f"/api/v1/appliance/backups/{last_id}/export",
                                token=token, timeout=60)  # fmt: skip
        assert exported.status_code == 200
        bundle = read_bundle(io.BytesIO(exported.content))
        paths = {f["path"] for f in bundle.manifest["files"]}
        assert "var/lib/burrow/central.db" in paths
        assert "var/lib/burrow/ssh_host_ed25519_key" in paths
        assert "var/lib/burrow/pki/ca/ca.key" in paths or any("ca/" in p for p in paths)
        assert not any(p.startswith("var/lib/burrow/backup/outbox") for p in paths)
        status = central(source, token, "GET", "/api/v1/appliance/backup-status").json()
        assert status["last_full"] and status["last_incremental"] and status["outbox"] == 0

        # While the peer is down, snapshots wait in the outbox and go out when it is back.
        peer.available = False
        down = central(source, token, "POST", "/api/v1/appliance/backups", {"kind": "incremental"})
        assert down.status_code == 201 and down.json()["error"] and down.json()["outbox"] >= 1
        peer.available = True
        wait_for(lambda: read_json(source.root.lib / "backup-status.json")["outbox"] == 0,
                 timeout=30, what="the outbox to drain")  # fmt: skip

        # What the replacement must serve: captured from the source before it goes away.
        final = central(source, token, "POST", "/api/v1/appliance/backups", {"kind": "full"})
        assert final.status_code == 201 and final.json()["sent"] >= 1, final.text
        expected_zone = axfr(source, zone)
        expected_seed = axfr(source, source.zone)
        expected_kea = kea_config(source)
        source_id = state["appliance_id"]
        bundle_bytes = peer.bundle(len(peer.snapshots))
        snapshots_before = len(peer.snapshots)

        # The source is lost; a fresh appliance comes up at its address and root.
        source.stop()
        assert source.root_dir is not None
        moved = source.root_dir.with_name(source.root_dir.name + "-lost")
        shutil.move(source.root_dir, moved)
        replacement = Sandbox(name=source.name, network=source.network, root_dir=source.root_dir)
        replacement.start()
        identity = receiver(replacement, "GET", "/identity").json()
        assert identity["state"] == "uninitialized" and identity["appliance_id"] != source_id
        code = read_json(replacement.root.lib / "appliance-state.json")["restore_code"]

        wrong_code = receiver(replacement, "POST", "/restore", content=bundle_bytes,
                              headers={"X-Burrow-Restore-Code": "AAAAAAAAAA"})  # fmt: skip
        assert_problem(wrong_code, 403, "X-Burrow-Restore-Code")
        tampered = bytearray(bundle_bytes)
        tampered[-50] ^= 0x55
        refused = receiver(replacement, "POST", "/restore", content=bytes(tampered),
                           headers={"X-Burrow-Restore-Code": code})  # fmt: skip
        assert "tampered" in assert_problem(refused, 422, "bundle")["detail"]
        assert receiver(replacement, "GET", "/identity").json()["state"] == "uninitialized"
        # Central, restarted held as the refused bundle arrived, is released with its own state.
        assert not central_hold_file(replacement.root).exists()
        wait_for(replacement.check_central, timeout=120, interval=0.2, what="Central released")

        accepted = receiver(replacement, "POST", "/restore", content=bundle_bytes,
                            headers={"X-Burrow-Restore-Code": code})  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        progress = wait_for(
            lambda: (p := receiver(replacement, "GET", "/restore").json())["state"]
            in ("done", "failed") and p,
            timeout=180, interval=0.5, what="the restore to finish",
        )  # fmt: skip
        assert progress["state"] == "done", progress
        # Where the time went: every step timed, the health checks from the programs' start.
        timed = {entry["step"]: entry for entry in progress["timings"]}
        assert {"receive", "warm", "check", "stop", "write", "network", "start", "named", "kea",
                "central", "healthy"} <= set(timed), progress  # fmt: skip
        # Central was restarted held while the bundle arrived, and released after its files.
        assert timed["warm"]["at"] <= timed["check"]["at"] + timed["check"]["seconds"]
        assert timed["central"]["at"] >= timed["write"]["at"] + timed["write"]["seconds"] - 0.01
        assert not central_hold_file(replacement.root).exists()
        # (It logs where its start went; "released after" only if it was still held then.)
        assert "start-up work done" in (replacement.root.logs / "central.log").read_text()
        assert all(entry["seconds"] >= 0 and entry["at"] >= 0 for entry in timed.values())
        assert timed["write"]["at"] >= timed["check"]["at"] + timed["check"]["seconds"] - 0.01
        slowest = max(timed[name]["seconds"] for name in ("named", "kea", "central"))
        assert timed["healthy"]["seconds"] >= slowest
        assert "restored in" in progress["step"] and progress["seconds"] > 0
        replacement.wait_ready(timeout=120)
        wait_for(
            lambda: receiver(replacement, "GET", "/identity").json()["appliance_id"] == source_id,
            timeout=90, interval=0.5, what="the agent with S's identity",
        )  # fmt: skip
        assert receiver(replacement, "GET", "/identity").json()["state"] == "active"
        assert axfr(replacement, zone) == expected_zone
        assert axfr(replacement, replacement.zone) == expected_seed
        assert kea_config(replacement) == expected_kea
        # Central is the source's: its administrator logs in, and the zone is in its database.
        token_r = replacement.central_token()
        zones = central(replacement, token_r, "GET", "/api/v1/dns/zones?limit=100").json()
        assert zone in {z["name"] for z in zones["items"]}
        # Backups resume with a full one, as the source (same appliance id and peer).
        try:
            wait_for(
                lambda: any(s["kind"] == "full" for s in peer.snapshots[snapshots_before:]),
                timeout=90, what="a resumed full",
            )  # fmt: skip
        except AssertionError:
            status_r = (replacement.root.lib / "backup-status.json").read_text()
            log_r = (replacement.root.logs / "appliance-agent.log").read_text()[-3000:]
            raise AssertionError(f"no resumed full: {status_r}\n{log_r}") from None
    finally:
        if replacement is not None:
            replacement.stop()
        peer.stop()
        if moved is not None:
            shutil.rmtree(moved, ignore_errors=True)
