"""Pairing and the encrypted backup store of a real Central process (SQLite), over HTTPS.

The appliance side is played by ``tests/backups/peer.py`` with the shared format; what is
checked here is the peer Central: tokens, pinning data, credentials, the store's checks,
encryption at rest, bundles, retention and garbage collection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from services.common.backup.bundle import read_bundle
from services.common.backup.format import chunk_hash, delta_encode
from tests.backups.peer import StoreClient, make_snapshot, pair
from tests.central.conftest import assert_problem
from tests.harness.central import CentralProcess


@pytest.fixture(scope="module")
def central() -> Iterator[CentralProcess]:
    process = CentralProcess().start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def admin(central: CentralProcess) -> str:
    return central.login(*central.admin_password())


def _cert(central: CentralProcess) -> str:
    return (central.root.pki / "central.crt").read_text()


def _pair(central: CentralProcess, admin: str, appliance_id: str | None = None) -> StoreClient:
    store, _ = pair(
        central.url,
        central.tls(),
        admin,
        address="127.0.0.1",
        appliance_id=appliance_id or str(uuid.uuid4()),
        certificate_pem=_cert(central),
    )
    return store


def _db(central: CentralProcess) -> sqlite3.Connection:
    return sqlite3.connect(central.root.lib / "central.db")


def _files(seed: int, size: int = 200_000) -> dict[str, bytes]:
    zone = b"".join(b"h%d 3600 IN A 10.0.%d.%d\n" % (i, i >> 8 & 255, i & 255) for i in range(9000))
    return {
        "var/lib/bind/example.test.db": zone + b"; seed %d\n" % seed,
        "etc/burrow/appliance.json": b'{"seed": %d}\n' % seed,
        "var/lib/kea/leases4.csv": os.urandom(size),
    }


def test_pairing_gives_a_credential_and_pins_both_ways(central: CentralProcess, admin: str) -> None:
    appliance_id = str(uuid.uuid4())
    with httpx.Client(base_url=central.url, verify=central.tls(), timeout=30) as client:
        token = client.post(
            "/api/v1/backup-peers/pairing-tokens",
            json={"address": "127.0.0.1", "comment": "s1"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
        der = x509.load_pem_x509_certificate(_cert(central).encode()).public_bytes(
            serialization.Encoding.DER
        )
        assert token["central_fingerprint"] == "sha256:" + hashlib.sha256(der).hexdigest()
        expires = dt.datetime.fromisoformat(token["expires_at"])
        assert (
            dt.timedelta(minutes=14) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
        )
        body = {
            "token": token["token"],
            "appliance_id": appliance_id,
            "hostname": "s1",
            "address": "127.0.0.1",
            "agent_certificate": _cert(central),
        }
        answer = client.post("/api/v1/backup-peers/pair", json=body)
        assert answer.status_code == 200, answer.text
        paired = answer.json()
        assert len(paired["credential"]) == 43
        assert paired["central_fingerprint"] == token["central_fingerprint"]
        # one-time
        assert_problem(client.post("/api/v1/backup-peers/pair", json=body), 401, "token")
        peer = client.get(
            f"/api/v1/backup-peers/{paired['peer_id']}",
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
    assert peer["appliance_id"] == appliance_id
    assert peer["address"] == "127.0.0.1"
    assert peer["agent_fingerprint"] == "sha256:" + hashlib.sha256(der).hexdigest()
    with _db(central) as db:
        stored = db.execute(
            "SELECT credential_hash FROM backup_peers WHERE id = ?", (paired["peer_id"],)
        ).fetchone()[0]
    assert stored == hashlib.sha256(paired["credential"].encode()).hexdigest()


def test_pairing_refusals(central: CentralProcess, admin: str) -> None:
    with httpx.Client(base_url=central.url, verify=central.tls(), timeout=30) as client:
        auth = {"Authorization": f"Bearer {admin}"}
        assert_problem(
            client.post(
                "/api/v1/backup-peers/pairing-tokens", json={"address": "nowhere"}, headers=auth
            ),
            422,
            "address",
        )
        elsewhere = client.post(
            "/api/v1/backup-peers/pairing-tokens", json={"address": "198.51.100.9"}, headers=auth
        ).json()
        body = {
            "token": elsewhere["token"],
            "appliance_id": str(uuid.uuid4()),
            "address": "127.0.0.1",
            "agent_certificate": _cert(central),
        }
        problem = assert_problem(client.post("/api/v1/backup-peers/pair", json=body), 403)
        assert "198.51.100.9" in problem["detail"]
        assert_problem(
            client.post("/api/v1/backup-peers/pair", json={**body, "token": "bwpair_nonsense"}),
            401,
            "token",
        )
        here = client.post(
            "/api/v1/backup-peers/pairing-tokens", json={"address": "127.0.0.1"}, headers=auth
        ).json()
        body["token"] = here["token"]
        assert_problem(
            client.post(
                "/api/v1/backup-peers/pair", json={**body, "agent_certificate": "not a cert"}
            ),
            422,
            "agent_certificate",
        )
        # an expired token
        with _db(central) as db:
            db.execute(
                "UPDATE backup_pairing_tokens SET expires_at = '2000-01-01 00:00:00' WHERE id = ?",
                (here["id"],),
            )
        assert_problem(client.post("/api/v1/backup-peers/pair", json=body), 401, "token")


def test_store_authenticates_peers_only(central: CentralProcess, admin: str) -> None:
    one = _pair(central, admin)
    two = _pair(central, admin)
    path = f"/api/v1/backup-store/{one.peer_id}/snapshots"
    with httpx.Client(base_url=central.url, verify=central.tls(), timeout=30) as client:
        assert_problem(client.get(path), 401)
        assert_problem(client.get(path, headers={"Authorization": f"Bearer {admin}"}), 401)
        assert_problem(client.get(path, headers={"Authorization": "Backup wrong"}), 401)
        other = client.get(path, headers={"Authorization": f"Backup {two.credential}"})
        assert_problem(other, 403, "peer_id")
        mine = client.get(path, headers={"Authorization": f"Backup {one.credential}"})
        assert mine.status_code == 200, mine.text


def test_upload_checks_hashes_and_deltas(central: CentralProcess, admin: str) -> None:
    store = _pair(central, admin)
    data = b"zone data\n" * 500
    name = chunk_hash(data)
    base = f"/api/v1/backup-store/{store.peer_id}"
    with store.client() as client:
        asked = client.post(f"{base}/chunks/missing", json={"hashes": [name]})
        assert asked.status_code == 200 and asked.json() == {"missing": [name]}, asked.text
        wrong = client.put(f"{base}/chunks/{'a' * 64}", content=delta_encode(data))
        assert_problem(wrong, 422, "hash")
        assert_problem(client.put(f"{base}/chunks/{name}", content=b"not zlib"), 422, "body")
        assert client.put(f"{base}/chunks/{name}", content=delta_encode(data)).status_code == 204
        assert client.post(f"{base}/chunks/missing", json={"hashes": [name]}).json() == {
            "missing": []
        }
        changed = data.replace(b"zone data\n", b"zone data, changed\n", 1)
        delta = delta_encode(changed, data)
        assert len(delta) < 60
        answer = client.put(
            f"{base}/chunks/{chunk_hash(changed)}",
            content=delta,
            headers={"X-Burrow-Delta-Base": name},
        )
        assert answer.status_code == 204, answer.text
        unknown = client.put(
            f"{base}/chunks/{chunk_hash(changed + b'x')}",
            content=delta_encode(changed + b"x", data),
            headers={"X-Burrow-Delta-Base": "b" * 64},
        )
        assert_problem(unknown, 422, "X-Burrow-Delta-Base")
        too_many = client.post(f"{base}/chunks/missing", json={"hashes": [name] * 10_001})
        assert_problem(too_many, 422, "hashes")
        bad = client.post(f"{base}/chunks/missing", json={"hashes": [name, "xyz"]})
        assert_problem(bad, 422, "hashes[1]")
        coerced = client.post(f"{base}/chunks/missing", json={"hashes": [name, 7]})
        assert_problem(coerced, 422, "hashes[1]")


def test_snapshot_needs_every_chunk_then_gives_a_bundle(
    central: CentralProcess, admin: str
) -> None:
    store = _pair(central, admin)
    files = _files(1)
    snap = make_snapshot(files)
    manifest = snap.root
    left_out = next(n for n in snap.chunks if n != manifest)
    base = f"/api/v1/backup-store/{store.peer_id}"
    with store.client() as client:
        for name, data in snap.chunks.items():
            if name != left_out:
                store.put_chunk(client, name, data)
        answer = client.post(
            f"{base}/snapshots",
            json={"root": snap.root, "kind": "full", "created_at": "x", "sequence": 1},
        )
        # The one problem format: what is missing is a member of the problem about root.
        body = assert_problem(answer, 409, "root")
        assert body["type"] == "urn:burrow:problem:backup-incomplete"
        assert [p["missing"] for p in body["problems"]] == [[left_out]]
        assert left_out in body["detail"]
        wrong = client.post(
            f"{base}/snapshots",
            json={"root": snap.root, "kind": "full", "created_at": "x", "sequence": "1"},
        )
        assert_problem(wrong, 422, "sequence")
        store.put_chunk(client, left_out, snap.chunks[left_out])
    created = store.upload(snap)
    assert created.status_code == 201, created.text
    assert created.json()["chunks"] == len(snap.chunks)
    with store.client() as client:
        listed = client.get(f"{base}/snapshots").json()["items"]
        assert [s["id"] for s in listed] == [created.json()["id"]]
        response = client.get(f"{base}/snapshots/{listed[0]['id']}/bundle")
        assert response.status_code == 200, response.text
    bundle = read_bundle(io.BytesIO(response.content))
    assert bundle.root == snap.root
    for entry in bundle.manifest["files"]:
        assert b"".join(bundle.file_content(entry)) == files[entry["path"]]
    # the administrators of the peer Central get the same bundle
    admin_view = central.get(
        f"/api/v1/backup-peers/{store.peer_id}/snapshots/{listed[0]['id']}/bundle", admin
    )
    assert admin_view.status_code == 200
    assert read_bundle(io.BytesIO(admin_view.content)).root == snap.root


def test_chunks_are_encrypted_at_rest(central: CentralProcess, admin: str) -> None:
    store = _pair(central, admin)
    secret = b"-----BEGIN PRIVATE KEY----- very secret appliance key\n" * 50
    assert store.upload(make_snapshot({"var/lib/burrow/pki/x.key": secret})).status_code == 201
    key = central.root.secrets / "backup-store.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) == 32
    stored = list((central.root.lib / "backup-store" / str(store.peer_id)).glob("chunks/*/*"))
    assert stored
    for path in stored:
        raw = path.read_bytes()
        assert raw.startswith(b"BWC1")
        assert b"very secret" not in raw
        assert path.stat().st_mode & 0o777 == 0o600


def _stored_chunk(central: CentralProcess, peer_id: int, name: str) -> Path:
    return central.root.lib / "backup-store" / str(peer_id) / "chunks" / name[:2] / name


def test_a_tampered_stored_chunk_is_refused(central: CentralProcess, admin: str) -> None:
    store = _pair(central, admin)
    files = _files(2)
    snap = make_snapshot(files)
    created = store.upload(snap).json()
    # flip one byte of a data chunk's ciphertext, as a disk fault or an intruder would
    victim = next(n for n, d in snap.chunks.items() if d in files["var/lib/kea/leases4.csv"])
    path = _stored_chunk(central, store.peer_id, victim)
    raw = bytearray(path.read_bytes())
    raw[40] ^= 0x01
    path.write_bytes(bytes(raw))
    with store.client() as client:
        response = client.get(
            f"/api/v1/backup-store/{store.peer_id}/snapshots/{created['id']}/bundle"
        )
    problem = assert_problem(response, 409, "chunk")
    assert problem["type"] == "urn:burrow:problem:backup-damaged"
    assert victim in problem["detail"]
    assert "tampered" in problem["detail"]
    assert [p.get("chunk") for p in problem["problems"]] == [victim]
    # a chunk swapped for another stored chunk (same key, other name) is refused as well
    other = next(n for n in snap.chunks if n != victim and n != snap.root)
    path.write_bytes(_stored_chunk(central, store.peer_id, other).read_bytes())
    response = central.get(
        f"/api/v1/backup-peers/{store.peer_id}/snapshots/{created['id']}/bundle", admin
    )
    assert victim in assert_problem(response, 409, "chunk")["detail"]
    assert not list((central.root.lib / "backup-store" / "tmp").glob("bundle-*"))


def test_pairing_again_keeps_the_backups_and_replaces_the_credential(
    central: CentralProcess, admin: str
) -> None:
    appliance_id = str(uuid.uuid4())
    first = _pair(central, admin, appliance_id)
    assert first.upload(make_snapshot({"a": b"one"})).status_code == 201
    second = _pair(central, admin, appliance_id)
    assert second.peer_id == first.peer_id
    with second.client() as client:
        items = client.get(f"/api/v1/backup-store/{second.peer_id}/snapshots").json()["items"]
    assert len(items) == 1
    with first.client() as client:
        old = client.get(f"/api/v1/backup-store/{first.peer_id}/snapshots")
    assert_problem(old, 401)


def test_retention_keeps_seven_fulls_and_what_follows_and_collects_garbage(
    central: CentralProcess, admin: str
) -> None:
    store = _pair(central, admin)
    roots = []
    only_in_first = None
    for index in range(9):
        files = {"var/lib/kea/leases4.csv": os.urandom(50_000), "shared": b"same" * 1000}
        snap = make_snapshot(files, sequence=index)
        if index == 0:
            only_in_first = [
                n for n, d in snap.chunks.items() if d in files["var/lib/kea/leases4.csv"]
            ]
        kind = "full" if index in (0, 1, 2, 3, 5, 6, 7, 8) else "incremental"
        # chunks older than the grace period are the ones garbage collection may remove
        created = store.upload(snap, kind=kind, sequence=index)
        assert created.status_code == 201, created.text
        roots.append((created.json()["id"], kind))
        for path in (central.root.lib / "backup-store" / str(store.peer_id)).glob("chunks/*/*"):
            os.utime(path, (time.time() - 7 * 3600, time.time() - 7 * 3600))
    listed = central.get(f"/api/v1/backup-peers/{store.peer_id}/snapshots", admin).json()["items"]
    kept = sorted(s["id"] for s in listed)
    # 8 fulls were sent: the oldest is dropped; the incremental after the 3rd full is kept
    assert kept == [sid for sid, _ in roots[1:]]
    assert [s["kind"] for s in listed].count("full") == 7
    assert only_in_first
    for name in only_in_first:
        assert not _stored_chunk(central, store.peer_id, name).exists()
    # what the kept snapshots need is all still there
    with store.client() as client:
        response = client.get(f"/api/v1/backup-store/{store.peer_id}/snapshots/{kept[0]}/bundle")
    assert response.status_code == 200, response.text


def test_unpairing_removes_the_credential_and_the_backups(
    central: CentralProcess, admin: str
) -> None:
    store = _pair(central, admin)
    assert store.upload(make_snapshot({"a": b"unpair me"})).status_code == 201
    folder = central.root.lib / "backup-store" / str(store.peer_id)
    assert folder.exists()
    before = central.get("/api/v1/history?limit=1", admin).json()["total"]
    response = central.request(
        "DELETE", f"/api/v1/backup-peers/{store.peer_id}?comment=gone", admin
    )
    assert response.status_code == 204, response.text
    assert not folder.exists()
    with store.client() as client:
        assert_problem(client.get(f"/api/v1/backup-store/{store.peer_id}/snapshots"), 401)
    change = central.get("/api/v1/history?limit=1", admin).json()
    assert change["total"] == before + 1
    assert change["items"][0]["object_type"] == "backup-peer"
    assert change["items"][0]["action"] == "delete"
    assert_problem(central.get(f"/api/v1/backup-peers/{store.peer_id}", admin), 404, "peer_id")


def test_replacements_cannot_be_approved_for_what_was_never_offered(
    central: CentralProcess, admin: str
) -> None:
    listed = central.get("/api/v1/replacements", admin)
    assert listed.status_code == 200
    # the only paired address here is 127.0.0.1, where no appliance answers on 4604
    assert listed.json()["items"] == []
    response = central.request(
        "POST",
        "/api/v1/replacements/999/approve",
        admin,
        json={"fingerprint": "sha256:" + "0" * 64, "restore_code": "ABCDEFGHJK"},
    )
    assert_problem(response, 404, "replacement_id")


def test_retention_days_drop_old_snapshots_but_never_the_newest_full(
    central: CentralProcess, admin: str
) -> None:
    store = _pair(central, admin)
    ids = []
    for index, kind in enumerate(["full", "incremental", "full", "incremental"]):
        snap = make_snapshot({"f": os.urandom(3000)}, sequence=index)
        created = store.upload(snap, kind=kind, sequence=index)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    # every snapshot was received 40 days ago; retention is 30 days
    with _db(central) as db:
        db.execute(
            "UPDATE backup_snapshots SET received_at = '2000-01-01 00:00:00' WHERE peer_id = ?",
            (store.peer_id,),
        )
    assert (
        store.upload(make_snapshot({"f": b"new"}, sequence=9), kind="incremental").status_code
        == 201
    )
    listed = central.get(f"/api/v1/backup-peers/{store.peer_id}/snapshots", admin).json()["items"]
    kept = sorted(s["id"] for s in listed)
    # the newest full and what follows it stay, however old; the rest went
    assert kept[:2] == ids[2:]
    assert len(kept) == 3
