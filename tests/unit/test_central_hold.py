"""A Central started early by a restore waits, before it reads any of its state, until the
restore releases it (``central_hold_file`` gone) or the hold's time has passed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from central.__main__ import wait_while_held
from services.common.backup.files import central_hold_file
from services.common.paths import StateRoot


def _root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    root.run.mkdir(parents=True)
    return root


def test_no_hold_no_wait(tmp_path: Path) -> None:
    root = _root(tmp_path)
    assert wait_while_held(root) == 0.0
    central_hold_file(root).write_text("not a time\n")  # unreadable: no wait either
    assert wait_while_held(root) == 0.0


def test_held_until_released(tmp_path: Path) -> None:
    root = _root(tmp_path)
    hold = central_hold_file(root)
    hold.write_text(f"{time.time() + 60:.3f}\n")
    timer = threading.Timer(0.3, hold.unlink)
    timer.start()
    try:
        waited = wait_while_held(root)
    finally:
        timer.cancel()
    assert 0.25 <= waited < 30 and not hold.exists()


def test_a_hold_ends_at_its_time(tmp_path: Path) -> None:
    root = _root(tmp_path)
    hold = central_hold_file(root)
    hold.write_text(f"{time.time() + 0.3:.3f}\n")  # nobody releases it (a restore that died)
    assert 0.2 <= wait_while_held(root) < 30
    assert hold.exists()
