"""Fixtures shared by every suite: sandboxes (a whole appliance each) and client namespaces.

Sandboxes are real: named, Kea, Central and the agents under supervisord in a network
namespace. They are waited for by health checks and always torn down, even on failure.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.sandbox.netns import host_route_overlapping
from services.sandbox.sandbox import Sandbox


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("sandbox tests need root (network namespaces); run them with ./build.sh test")


class SandboxFactory:
    """Starts sandboxes on distinct names and networks and stops them all at the end."""

    #: /26 blocks of the documentation networks; each sandbox takes one that is free.
    NETWORKS = tuple(
        f"{base}.{start}/26" for base in ("198.51.100", "203.0.113") for start in (0, 64, 128)
    )

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.boxes: list[Sandbox] = []
        self.dirs: list[Path] = []

    def start(self, network: str | None = None) -> Sandbox:
        index = len(self.boxes)
        net = network or self.free_network()
        root = Path(tempfile.mkdtemp(prefix="bw-", dir="/tmp"))
        self.dirs.append(root)
        box = Sandbox(
            name=f"{self.prefix}{index}", network=ipaddress.IPv4Network(net), root_dir=root
        )
        self.boxes.append(box)
        box.start()
        return box

    def free_network(self) -> str:
        for candidate in self.NETWORKS:
            if not host_route_overlapping(ipaddress.IPv4Network(candidate)):
                return candidate
        raise RuntimeError("no free documentation network left for another sandbox")

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


@pytest.fixture
def sandbox_factory(request: pytest.FixtureRequest) -> Iterator[SandboxFactory]:
    """Start fresh appliances for tests that break things; stopped after the test."""
    yield from _factory("t")


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    """A fresh appliance of this test's own."""
    return sandbox_factory.start()
