"""The failed-login throttle that Central's worker processes share through a file."""

from __future__ import annotations

from pathlib import Path

from central.auth.service import LoginThrottle


def test_two_throttles_on_one_file_count_together(tmp_path: Path) -> None:
    path = tmp_path / "run/central-login-failures.json"
    first, second = LoginThrottle(path), LoginThrottle(path)
    key = ("alice", "198.51.100.7")
    first.failed(key, 60)
    second.failed(key, 60)
    assert first.retry_after(key, 3, 60) == 0
    first.failed(key, 60)
    assert second.retry_after(key, 3, 60) >= 1
    assert first.retry_after(("alice", "198.51.100.8"), 3, 60) == 0  # another address
    second.succeeded(key)
    assert first.retry_after(key, 3, 60) == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_an_unreadable_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "failures.json"
    path.write_text("{not json")
    throttle = LoginThrottle(path)
    assert throttle.retry_after(("bob", "198.51.100.9"), 1, 60) == 0
    throttle.failed(("bob", "198.51.100.9"), 60)
    assert throttle.retry_after(("bob", "198.51.100.9"), 1, 60) >= 1


def test_in_memory_throttle_forgets_empty_entries() -> None:
    throttle = LoginThrottle()
    for n in range(50):
        assert throttle.retry_after((f"user{n}", "198.51.100.10"), 3, 60) == 0
    assert not throttle._failures
