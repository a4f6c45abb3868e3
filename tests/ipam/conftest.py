"""The IPAM tests' own appliance.

IPAM joins every zone, reservation and lease of the server, so a test on the shared sandbox
would see what other tests left there (A records of 198.51.100.x addresses in their zones):
these tests get an appliance of their own, shared by the package, and each removes what it
made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.sandbox.sandbox import Sandbox
from tests.conftest import SandboxFactory, _need_root


@pytest.fixture(scope="package")
def ipam_box() -> Iterator[Sandbox]:
    _need_root()
    factory = SandboxFactory("i")
    try:
        yield factory.start()
    finally:
        factory.close()
