"""Least access under a running appliance's state root: a walk that fails on any file that
others (any local account: burrow-web, nobody that the diagnostic shell's tools run as, bind,
_kea) may read or write and that is not public by nature."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from services.sandbox.sandbox import Sandbox
from tests.conftest import SandboxFactory

pytestmark = pytest.mark.sandbox

#: Public by nature: certificates and the revocation list, zone data (served to anyone who
#: asks), the host files every program reads, the console's static files.
PUBLIC = (
    lambda rel: rel.suffix == ".crt" or rel.name == "crl.pem",
    lambda rel: rel.parts[:3] == ("var", "lib", "bind") and rel.name.startswith("db."),
    lambda rel: rel.as_posix() in ("etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/issue"),
)


def exposed(root: Path) -> list[str]:
    """Files under ``root`` that others may read or write and that are not public, and
    directories that others may write."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*filenames, *dirnames]:
            path = Path(dirpath, name)
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue  # gone meanwhile (a temporary file)
            rel = path.relative_to(root)
            mode = info.st_mode
            if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode):
                continue
            if stat.S_ISDIR(mode):
                if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
                    found.append(f"{rel}/ is writable by others ({oct(mode & 0o7777)})")
                continue
            if mode & stat.S_IWOTH:
                found.append(f"{rel} is writable by others ({oct(mode & 0o777)})")
            elif mode & stat.S_IROTH and not any(public(rel) for public in PUBLIC):
                found.append(f"{rel} is readable by others ({oct(mode & 0o777)})")
    return sorted(found)


def test_nothing_under_the_state_root_is_readable_by_others(sandbox: Sandbox) -> None:
    # A fresh appliance of its own: files the tests themselves write into the shared one
    # would say nothing of the appliance.
    root = sandbox.root.root
    # The database and its journals exist once Central has written (it has, at its start).
    assert (root / "var/lib/burrow/central.db").exists()
    found = exposed(root)
    assert found == [], "\n".join(found)


def test_an_appliance_started_under_a_strict_umask_works(sandbox_factory: SandboxFactory) -> None:
    """A hardened administrator's umask (027) must not lock named and Kea out of the state
    root's directories: every program runs, and nothing is readable by others either."""
    previous = os.umask(0o027)
    try:
        box = sandbox_factory.start()
    finally:
        os.umask(previous)
    assert set(box.supervisor().states().values()) == {"RUNNING"}
    found = exposed(box.root.root)
    assert found == [], "\n".join(found)


def test_the_walk_finds_what_it_should(tmp_path: Path) -> None:
    (tmp_path / "var/lib/burrow/pki").mkdir(parents=True)
    (tmp_path / "var/lib/bind").mkdir(parents=True)
    for name, mode in (("var/lib/burrow/central.db", 0o644), ("var/lib/burrow/pki/a.crt", 0o644),
                       ("var/lib/burrow/pki/a.key", 0o600), ("var/lib/bind/db.example", 0o644),
                       ("var/lib/bind/named.conf", 0o666)):  # fmt: skip
        (tmp_path / name).write_text("x")
        (tmp_path / name).chmod(mode)
    (tmp_path / "open").mkdir(mode=0o777)
    (tmp_path / "open").chmod(0o777)
    assert exposed(tmp_path) == [
        "open/ is writable by others (0o777)",
        "var/lib/bind/named.conf is writable by others (0o666)",
        "var/lib/burrow/central.db is readable by others (0o644)",
    ]
