"""An agent's trust in a fleet (docs/fleet.md): the managing Central's CRL is taken and
counted beside the appliance's own, the fleet's certificate is shown while ``pki/fleet`` is
there, and a CRL of any other CA is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.common.agent import FleetContexts, install_crl
from services.common.enrolment import (
    RevocationGuard,
    agent_cert,
    ca_file,
    crl_file,
    fleet_ca_file,
    fleet_cert,
    fleet_crl_file,
    fleet_dir,
    listening_cert,
)
from services.common.errors import ValidationError
from services.common.paths import StateRoot
from services.common.pki import CertificateAuthority, load_cert


def _crl(ca: CertificateAuthority, tmp: Path, serials: list[int]) -> bytes:
    path = tmp / f"crl-{len(serials)}.pem"
    ca.write_crl(path, serials)
    return path.read_bytes()


def test_a_fleet_crl_is_stored_apart_and_counted(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path / "a")
    root.pki.mkdir(parents=True)
    own = CertificateAuthority(root.pki / "ca")
    own.create("A's CA")
    managing = CertificateAuthority(tmp_path / "m")
    managing.create("M's CA")
    stranger = CertificateAuthority(tmp_path / "s")
    stranger.create("someone else's CA")
    guard = RevocationGuard(root)

    # In no fleet: only the appliance CA's list is taken.
    with pytest.raises(ValidationError):
        install_crl(root, _crl(managing, tmp_path, [7]))
    install_crl(root, _crl(own, tmp_path, [5]))
    assert crl_file(root).exists() and not guard.allows(5) and guard.allows(7)

    # In M's fleet: M's list goes to pki/fleet/crl.pem and counts too; a stranger's is refused.
    fleet_dir(root).mkdir()
    shutil.copy(managing.paths.cert, fleet_ca_file(root))
    install_crl(root, _crl(managing, tmp_path, [7, 8]))
    assert fleet_crl_file(root).exists()
    assert not guard.allows(5) and not guard.allows(7) and guard.allows(9)
    with pytest.raises(ValidationError):
        install_crl(root, _crl(stranger, tmp_path, [9]))
    assert guard.allows(9)

    # Left: M's list no longer counts.
    shutil.rmtree(fleet_dir(root))
    assert guard.allows(7) and not guard.allows(5)


def test_the_listener_shows_the_fleet_certificate_while_in_the_fleet(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path / "a")
    root.pki.mkdir(parents=True)
    own_ca = CertificateAuthority(root.pki / "ca")
    own_ca.create("A's CA")
    own = own_ca.issue(root.pki, "dns-agent", server_names=["127.0.0.1"])
    assert own == agent_cert(root, "dns-agent")
    managing = CertificateAuthority(tmp_path / "m")
    managing.create("M's CA")
    contexts = FleetContexts(root, "dns-agent", own)
    first = contexts.current()
    assert contexts.current() is first  # nothing changed: the same context
    assert listening_cert(root, "dns-agent", own) == own

    fleet_dir(root).mkdir()
    shutil.copy(managing.paths.cert, fleet_ca_file(root))
    issued = managing.issue(fleet_dir(root), "dns-agent", server_names=["127.0.0.1"])
    assert issued == fleet_cert(root, "dns-agent")
    assert listening_cert(root, "dns-agent", own) == issued
    joined = contexts.current()
    assert joined is not first
    # Both CAs are trusted for clients while in the fleet.
    subjects = {dict(item[0] for item in c["subject"])["commonName"] for c in joined.get_ca_certs()}
    assert subjects == {"A's CA", "M's CA"}
    assert load_cert(ca_file(root)).subject != load_cert(fleet_ca_file(root)).subject

    shutil.rmtree(fleet_dir(root))
    left = contexts.current()
    assert left is not joined and listening_cert(root, "dns-agent", own) == own
    assert {dict(i[0] for i in c["subject"])["commonName"] for c in left.get_ca_certs()} == {
        "A's CA"
    }
