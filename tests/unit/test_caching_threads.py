"""Unbound's thread count on a caching appliance: one thread per two CPUs, 1 to 4."""

from __future__ import annotations

import pytest

from services.common.caching import conf


@pytest.mark.parametrize(
    ("cpus", "threads"), [(None, 1), (1, 1), (2, 1), (3, 1), (4, 2), (6, 3), (8, 4), (64, 4)]
)
def test_default_threads(monkeypatch: pytest.MonkeyPatch, cpus: int | None, threads: int) -> None:
    monkeypatch.setattr(conf.os, "cpu_count", lambda: cpus)
    assert conf.default_threads() == threads
