"""Fixtures shared by every suite: sandboxes (a whole appliance each) and client namespaces.

Sandboxes are real: named, Kea, Central and the agents under supervisord in a network
namespace. They are waited for by health checks and always torn down, even on failure.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.errors import SetupError
from services.common.profile import DEFAULT as DEFAULT_PROFILE
from services.common.profile import Profile
from services.sandbox.lab import Lab
from services.sandbox.netns import network_clash
from services.sandbox.sandbox import Sandbox


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("sandbox tests need root (network namespaces); run them with ./build.sh test")


#: Several test runs may share a machine: BURROW_TEST_PREFIX (a letter or two) keeps their
#: sandbox names apart.
PREFIX = os.environ.get("BURROW_TEST_PREFIX", "")


def free_network() -> str:
    """A /27 of 198.51.100.0/24 that this machine neither routes nor needs."""
    for candidate in NETWORKS:
        if not network_clash(ipaddress.IPv4Network(candidate)):
            return candidate
    raise RuntimeError("no free documentation network left for another sandbox")


#: Only 198.51.100.0/24: 192.0.2.0/24 is these machines' uplink and the package registries
#: answer inside 203.0.113.0/24 (a route there breaks apt and pip).
NETWORKS = tuple(f"198.51.100.{start}/27" for start in range(0, 256, 32))


class SandboxFactory:
    """Starts sandboxes on distinct names and networks and stops them all at the end."""

    def __init__(self, prefix: str) -> None:
        self.prefix = PREFIX + prefix
        self.boxes: list[Sandbox] = []
        self.dirs: list[Path] = []

    def start(self, network: str | None = None, *, profile: Profile = DEFAULT_PROFILE) -> Sandbox:
        index = len(self.boxes)
        root = Path(tempfile.mkdtemp(prefix="bw-", dir="/tmp"))
        self.dirs.append(root)
        for attempt in range(5):
            # Another test run on this machine may take the same free network at the same
            # moment; the loser sees "already routes" and tries the next one.
            net = network or free_network()
            box = Sandbox(
                name=f"{self.prefix}{index}",
                network=ipaddress.IPv4Network(net),
                root_dir=root,
                profile=profile,
            )
            try:
                box.create_network()
            except SetupError as exc:
                if network or "already routes" not in str(exc) or attempt == 4:
                    raise
                continue
            break
        self.boxes.append(box)
        box.start(network_ready=True)
        return box

    def close(self) -> None:
        for box in self.boxes:
            box.stop()
        for root in self.dirs:
            shutil.rmtree(root, ignore_errors=True)


def _factory(prefix: str) -> Iterator[SandboxFactory]:
    _need_root()
    factory = SandboxFactory(prefix)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    """One appliance for tests that only read or that put back what they change."""
    for factory in _factory("s"):
        yield factory.start()


@pytest.fixture(scope="session")
def caching_sandbox() -> Iterator[Sandbox]:
    """One caching appliance (profile ``caching``: Unbound, no DHCP) for tests that only read
    or that put back what they change."""
    for factory in _factory("q"):
        yield factory.start(profile="caching")


@pytest.fixture
def sandbox_factory(request: pytest.FixtureRequest) -> Iterator[SandboxFactory]:
    """Start fresh appliances for tests that break things; stopped after the test."""
    yield from _factory("t")


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    """A fresh appliance of this test's own."""
    return sandbox_factory.start()


@contextlib.contextmanager
def open_lab(suffix: str = "l") -> Iterator[Lab]:
    """A lab (services.sandbox.lab) on a free network; everything it made goes at the end.

    Its sandboxes are named BURROW_TEST_PREFIX + ``suffix`` + the name given to
    ``lab.sandbox()``; the lab itself BURROW_TEST_PREFIX + ``suffix``.
    """
    _need_root()
    name = PREFIX + suffix
    for attempt in range(5):
        lab = Lab(name=name, network=ipaddress.IPv4Network(free_network()), prefix=name)
        try:
            lab.create()
        except SetupError as exc:
            # Another run may have taken the same free network at the same moment.
            if "already routes" not in str(exc) or attempt == 4:
                raise
            continue
        break
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A lab of this test's own: ``lab.sandbox("a", dhcp=True)``, ``lab.add_client(mac)``."""
    with open_lab() as made:
        yield made
