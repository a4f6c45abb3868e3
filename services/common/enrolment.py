"""An agent's certificate: enrolment at Central, revocation, and the agent's command line.

Nothing here imports the web framework: an agent enrols (at its first start it waits for
Central to hand out its one-time token) before it imports and builds its application, so at
an appliance's first boot the agents do not compete with Central for the CPU while Central
starts. ``services.common.agent`` is the other half (the application and its mTLS
listener) and re-exports the names of this module.
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from services.common.paths import StateRoot
from services.common.pki import (
    CENTRAL_CLIENT,
    CertPaths,
    load_cert,
    make_request,
    new_key,
    revoked_serials,
    write_key_and_cert,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

CENTRAL_URL_ENV = "BURROW_CENTRAL_URL"
DEFAULT_CENTRAL_URL = "https://127.0.0.1:1231"


# --- where things are --------------------------------------------------------------------
def ca_file(root: StateRoot) -> Path:
    """The appliance CA's certificate."""
    return root.pki / "ca/ca.crt"


def crl_file(root: StateRoot) -> Path:
    """The CA's revocation list, written by Central and read by every agent."""
    return root.pki / "crl.pem"


def agent_cert(root: StateRoot, name: str) -> CertPaths:
    """An agent's own certificate and key."""
    return CertPaths(root.pki / f"{name}.crt", root.pki / f"{name}.key")


def central_client_cert(root: StateRoot) -> CertPaths:
    """Central's client certificate and key: what Central presents to every agent (and to a
    replacement's restore receiver on 4605). The only certificate the agents accept."""
    return CertPaths(root.pki / f"{CENTRAL_CLIENT}.crt", root.pki / f"{CENTRAL_CLIENT}.key")


def enrolment_token_file(root: StateRoot, name: str) -> Path:
    """Where an agent looks for its one-time enrolment token."""
    return root.secrets / f"enrol-{name}.token"


# --- a fleet's managing Central (docs/fleet.md) -------------------------------------------
def fleet_dir(root: StateRoot) -> Path:
    """What this appliance holds of the managing Central of its fleet, while it is in one:
    that Central's CA certificate and CRL, the agents' certificates from that CA, and the
    membership (written last at a join, the whole directory removed at a leave)."""
    return root.pki / "fleet"


def fleet_ca_file(root: StateRoot) -> Path:
    return fleet_dir(root) / "ca.crt"


def fleet_crl_file(root: StateRoot) -> Path:
    return fleet_dir(root) / "crl.pem"


def fleet_cert(root: StateRoot, name: str) -> CertPaths:
    """An agent's certificate from the managing Central's CA."""
    return CertPaths(fleet_dir(root) / f"{name}.crt", fleet_dir(root) / f"{name}.key")


def listening_cert(root: StateRoot, name: str, own: CertPaths) -> CertPaths:
    """The certificate agent ``name`` shows: the fleet's while the appliance is in a fleet
    (the managing Central pins it), else its own."""
    fleet = fleet_cert(root, name)
    if fleet_ca_file(root).exists() and fleet.cert.exists() and fleet.key.exists():
        return fleet
    return own


def trusted_cas(root: StateRoot) -> list[Path]:
    """The CAs whose certificates an agent of this appliance and its Central accept: the
    appliance CA, and the managing Central's CA while the appliance is in a fleet."""
    cas = [ca_file(root)]
    if fleet_ca_file(root).exists():
        cas.append(fleet_ca_file(root))
    return cas


def mtls_context(root: StateRoot, client: CertPaths | None = None) -> ssl.SSLContext:
    """A client TLS context that trusts the appliance CA (and a fleet's CA, see
    ``trusted_cas``) and presents ``client`` (by default Central's client certificate, the
    one every agent accepts).

    Tests call agents with it: ``httpx.get(url, verify=mtls_context(box.root))``.
    """
    cas = trusted_cas(root)
    context = ssl.create_default_context(cafile=str(cas[0]))
    for extra in cas[1:]:
        context.load_verify_locations(cafile=str(extra))
    paths = client or central_client_cert(root)
    context.load_cert_chain(str(paths.cert), str(paths.key))
    return context


# --- revocation --------------------------------------------------------------------------
def file_stamp(path: Path) -> tuple[int, int]:
    """A file's modification time and size, (0, 0) when it is missing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


class RevocationGuard:
    """Answers whether a serial number is revoked, rereading the CRL when it changes.

    In a fleet the managing Central's CRL counts too (serial numbers are random 159-bit
    numbers: the two CAs' never meet). A CRL that cannot be read or is not signed by its CA
    refuses everyone (fail closed).
    """

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[int, int], ...] | None = None
        self._serials: frozenset[int] | None = frozenset()

    def _read(self) -> frozenset[int]:
        serials = revoked_serials(crl_file(self.root), load_cert(ca_file(self.root)))
        fleet_ca = fleet_ca_file(self.root)
        if fleet_ca.exists():
            serials |= revoked_serials(fleet_crl_file(self.root), load_cert(fleet_ca))
        return serials

    def _current(self) -> frozenset[int] | None:
        stamp = tuple(
            file_stamp(p)
            for p in (crl_file(self.root), fleet_ca_file(self.root), fleet_crl_file(self.root))
        )
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._serials = self._read()
                except (OSError, ValueError) as exc:
                    log.error("revocation list unusable, refusing every client: %s", exc)
                    self._serials = None
                self._stamp = stamp
            return self._serials

    def allows(self, serial: int | None) -> bool:
        serials = self._current()
        return serial is not None and serials is not None and serial not in serials


# --- enrolment ---------------------------------------------------------------------------
class EnrolmentError(Exception):
    """Central refused an enrolment (bad or used token, bad request)."""


def enrol(root: StateRoot, name: str, central_url: str, token: str) -> CertPaths:
    """Enrol at Central with ``token``; store the signed certificate and its key."""
    import httpx

    key = new_key()
    body = {"token": token, "csr": make_request(key, name).decode()}
    response = httpx.post(
        f"{central_url.rstrip('/')}/api/v1/enrol",
        json=body,
        verify=ssl.create_default_context(cafile=str(ca_file(root))),
        timeout=10,
    )
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise EnrolmentError(f"HTTP {response.status_code}: {detail}")
    answer = response.json()
    paths = agent_cert(root, name)
    write_key_and_cert(paths, key, answer["certificate"].encode())
    return paths


def ensure_enrolled(
    root: StateRoot, name: str, central_url: str, *, timeout: float | None = None
) -> CertPaths:
    """The agent's certificate, enrolling first if there is none (waits for Central)."""
    paths = agent_cert(root, name)
    if paths.cert.exists() and paths.key.exists():
        serial = load_cert(paths.cert).serial_number
        if RevocationGuard(root).allows(serial):
            return paths
        # Revoked: set it aside and enrol afresh (Central or an administrator gives a token).
        log.warning("%s's certificate %X is revoked; enrolling again", name, serial)
        for path in (paths.cert, paths.key):
            path.replace(path.with_name(path.name + ".revoked"))
    token_file = enrolment_token_file(root, name)
    deadline = None if timeout is None else time.monotonic() + timeout
    last_reason = ""
    while deadline is None or time.monotonic() < deadline:
        try:
            token = token_file.read_text().strip()
            enrol(root, name, central_url, token)
        except FileNotFoundError as exc:
            reason = f"waiting for {exc.filename}"
        except EnrolmentError as exc:
            reason = f"Central refused the enrolment: {exc}"
        except Exception as exc:  # Central not up yet, network: keep trying
            reason = f"Central at {central_url} not reachable: {exc}"
        else:
            token_file.unlink(missing_ok=True)
            log.info("enrolled at %s; certificate %s", central_url, paths.cert)
            return paths
        if reason != last_reason:
            log.warning("%s not enrolled yet: %s", name, reason)
            last_reason = reason
        time.sleep(0.25)
    raise TimeoutError(f"{name} could not enrol at {central_url}: {last_reason}")


def run_agent(
    name: str,
    port: int,
    build: Callable[[StateRoot], FastAPI],
    argv: list[str] | None = None,
) -> int:
    """Command line of an agent: ``python -m services.X --root ROOT [--port N] [--host H]``."""
    parser = argparse.ArgumentParser(prog=name)
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument(
        "--central",
        default=os.environ.get(CENTRAL_URL_ENV, DEFAULT_CENTRAL_URL),
        help=f"Central's URL for enrolment (default ${CENTRAL_URL_ENV} or {DEFAULT_CENTRAL_URL})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = StateRoot.at(args.root)
    tls = ensure_enrolled(root, name, args.central)
    # Only now the web framework and the agent's own modules (``build`` imports them).
    from services.common.agent import serve_mtls

    serve_mtls(build(root), root, tls, args.port, args.host, name=name)
    return 0


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a process: its name (certificate, enrolment), port and application."""

    name: str
    port: int
    build: Callable[[StateRoot], FastAPI]


def run_agents(prog: str, agents: Sequence[AgentSpec], argv: list[str] | None = None) -> int:
    """Several agents in one process: each enrols under its own name and listens on its own
    port with its own certificate; they share the interpreter and its libraries.

    ``python -m services.common.agents NAME... --root ROOT [--host H]``.
    """
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument(
        "--central",
        default=os.environ.get(CENTRAL_URL_ENV, DEFAULT_CENTRAL_URL),
        help=f"Central's URL for enrolment (default ${CENTRAL_URL_ENV} or {DEFAULT_CENTRAL_URL})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = StateRoot.at(args.root)
    certificates = [ensure_enrolled(root, agent.name, args.central) for agent in agents]
    from services.common.agent import mtls_server, serve_servers

    servers = [
        mtls_server(agent.build(root), root, tls, agent.port, args.host, name=agent.name)
        for agent, tls in zip(agents, certificates, strict=True)
    ]
    serve_servers(servers)
    return 0
