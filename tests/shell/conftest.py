"""Fixtures for the diagnostic shell tests: the shared sandbox with a key made by the test
authorized for ``diag`` (see tests/shell/client.py for the ssh client side)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.sandbox.sandbox import Sandbox
from tests.shell.client import Diag, authorize, make_key, wait_for_shell


@pytest.fixture(scope="session")
def diag_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key(tmp_path_factory.mktemp("diag-key"))


@pytest.fixture(scope="session")
def diag(shared_sandbox: Sandbox, diag_key: Path) -> Iterator[Diag]:
    """The shared sandbox with the test's key authorized for ``diag``."""
    authorize(shared_sandbox.root, diag_key)
    client = Diag(shared_sandbox, diag_key)
    wait_for_shell(shared_sandbox, client)
    yield client
