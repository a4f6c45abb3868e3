"""Auto-approve: a replacement told which peer Central to trust is restored without a code.

C is set up (first-boot settings) with ``restore_from``: B's address and B's Central's
certificate fingerprint. C then listens on 4605 for that certificate alone. B, with the
``backup_auto_approve`` policy, approves the offer for C by itself and pushes there without
the restore code; nobody else gets through that listener.
"""

from __future__ import annotations

import hashlib
import ssl

import pytest

from central.backups import pinned
from services.common.settings import RestoreFromSeed
from services.sandbox.lab import Lab
from tests.backups.appliance import CentralApi, record
from tests.backups.lab_flow import (
    agent_fingerprint,
    appliance_state,
    last_change_at,
    pair,
    snapshots,
    wait_finished,
    wait_offer,
    wait_stored_after,
)
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def _central_fingerprint(pem_path: str) -> str:
    with open(pem_path) as fh:
        der = ssl.PEM_cert_to_DER_cert(fh.read())
    return "sha256:" + hashlib.sha256(der).hexdigest()


def test_a_replacement_that_trusts_the_peer_is_restored_without_a_code(lab: Lab) -> None:
    a = lab.sandbox("a")
    b = lab.sandbox("b")
    on_a, on_b = CentralApi(a), CentralApi(b)
    # B asks who is at A's address only when told to (the check below), not on a timer.
    on_b.ok(on_b.call("PATCH", "/api/v1/settings", {
        "backup_detect_interval_seconds": 3600, "backup_auto_approve": True,
        "comment": "replacements set up to trust this Central are restored at once",
    }))  # fmt: skip
    peer_id = pair(a, b, on_b, on_a)
    wait_for(lambda: snapshots(on_b, peer_id) or None, timeout=60, what="A's first backup")
    zone = on_a.post("/api/v1/dns/zones", {
        "server_id": on_a.local_server("dns"), "name": "auto.restore.test.", "kind": "primary",
    })  # fmt: skip
    on_a.post(f"/api/v1/dns/zones/{zone['id']}/changes",
              {"changes": [record("www", "A", "198.51.100.81")]})  # fmt: skip
    wait_stored_after(on_b, peer_id, last_change_at(on_a), timeout=30)

    a.stop(remove_root=True)
    a.root.root.mkdir()
    c = lab.sandbox("c", address=a.address, root_dir=a.root.root, start=False)
    trusted = _central_fingerprint(str(b.root.pki / "central.crt"))
    settings = c.settings().model_copy(
        update={"restore_from": RestoreFromSeed(address=b.address, fingerprint=trusted)}
    )
    settings.save(c.root.appliance_settings)
    c.start()
    assert appliance_state(c)["state"] == "uninitialized"
    seen = agent_fingerprint(c)
    # B presents its client certificate there (clientAuth), not its listener's (serverAuth).
    mine = (str(b.root.pki / "central-client.crt"), str(b.root.pki / "central-client.key"))

    def trusted_listener_up() -> bool:
        try:
            answer = pinned.request(
                c.address,
                "GET",
                "/restore",
                fingerprint=seen,
                port=pinned.TRUSTED_PORT,
                client_cert=mine,
                timeout=5,
            )
        except pinned.PinnedError:
            return False
        return answer.status == 200  # fmt: skip

    wait_for(trusted_listener_up, timeout=60, what="C's listener for B")
    # Anyone else is turned away there: no certificate, or another one of B's own CA (its
    # console's, its listener's).
    for other in (None, *((str(b.root.pki / f"{name}.crt"), str(b.root.pki / f"{name}.key"))
                          for name in ("webui", "central"))):  # fmt: skip
        with pytest.raises(pinned.PinnedError):
            pinned.request(c.address, "GET", "/restore", fingerprint=seen,
                           port=pinned.TRUSTED_PORT, client_cert=other, timeout=5)  # fmt: skip
    # Without the code, the ordinary receiver still refuses a push (401: no code given).
    refused = pinned.request(c.address, "POST", "/restore", fingerprint=seen, body=b"x")
    assert refused.status == 401

    on_b.ok(on_b.call("POST", f"/api/v1/backup-peers/{peer_id}/check", {}))
    offer = wait_offer(on_b, a.address)
    final = wait_finished(on_b, offer["id"], timeout=300)
    assert final["state"] == "restored", f"{final['step']}: {final['error']}"
    assert final["approved_by"] == "system"
    c.wait_ready(timeout=120)
    answer = c.dns_query("www.auto.restore.test.", "A")
    assert [rr.to_text() for rrset in answer.answer for rr in rrset] == ["198.51.100.81"]
    assert appliance_state(c)["state"] == "active"
    history = on_b.get("/api/v1/history?filter=object_type:replacement&sort=id")["items"]
    assert [h["action"] for h in history] == ["offer", "approve", "restore"]
