"""A fleet to join given at first boot: the kernel command line's and the NoCloud seed's keys,
the hand-off to Central (the code not kept in firstboot.json), and which refusals Central's
seed join tries again (central.fleet.seed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from central.core.config import CentralConfig
from central.core.problems import ProblemError
from central.fleet import seed
from services.appliance import firstboot
from services.common.errors import ConflictError, ValidationError
from services.common.paths import StateRoot

FINGERPRINT = ":".join(["AB"] * 32)
CMDLINE = (
    "ro burrow.address=198.51.100.10/27 burrow.fleet_address=198.51.100.2 "
    f"burrow.fleet_fingerprint={FINGERPRINT} burrow.fleet_code=bwf_secret-code"
)


def test_cmdline_gives_the_fleet_to_join() -> None:
    fb = firstboot.parse_cmdline(CMDLINE, "eth0")
    assert fb is not None and fb.fleet is not None
    assert str(fb.fleet.address) == "198.51.100.2"
    assert fb.fleet.port == 1231
    assert fb.fleet.ca_fingerprint == FINGERPRINT
    assert fb.fleet.code == "bwf_secret-code"


@pytest.mark.parametrize(
    ("cmdline", "field"),
    [
        ("burrow.fleet_address=198.51.100.2 burrow.fleet_code=x", "burrow.fleet_fingerprint"),
        (
            f"burrow.fleet_address=198.51.100.2 burrow.fleet_fingerprint={FINGERPRINT}",
            "burrow.fleet_code",
        ),
        (
            f"burrow.fleet_address=nowhere burrow.fleet_fingerprint={FINGERPRINT} "
            "burrow.fleet_code=x",
            "fleet.address",
        ),
        (
            "burrow.fleet_address=198.51.100.2 burrow.fleet_fingerprint=AB:CD burrow.fleet_code=x",
            "fleet.ca_fingerprint",
        ),
    ],
)
def test_cmdline_fleet_refusals_name_the_key(cmdline: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        firstboot.parse_cmdline(cmdline, "eth0")
    assert caught.value.field == field
    assert "bwf_" not in str(caught.value) and "=x" not in str(caught.value)


def test_nocloud_gives_the_fleet_to_join() -> None:
    user = (
        "#cloud-config\nburrow:\n  fleet:\n    address: 198.51.100.2\n    port: 1231\n"
        f"    ca_fingerprint: '{FINGERPRINT}'\n    code: bwf_secret-code\n"
    )
    fb = firstboot.parse_nocloud({"user-data": user}, {}, "eth0")
    assert fb.fleet is not None and fb.fleet.code == "bwf_secret-code"
    no_code = user.replace("    code: bwf_secret-code\n", "")
    with pytest.raises(ValidationError) as caught:
        firstboot.parse_nocloud({"user-data": no_code}, {}, "eth0")
    assert caught.value.field == "fleet.code"


def test_the_code_goes_to_central_and_not_into_firstboot_json(tmp_path: Path) -> None:
    root = StateRoot(tmp_path)
    root.etc.mkdir(parents=True)
    fb = firstboot.parse_cmdline(CMDLINE, "eth0")
    assert fb is not None
    firstboot.save_firstboot(root, fb)
    handed = seed.seed_file(root)
    assert json.loads(handed.read_text())["code"] == "bwf_secret-code"
    assert stat.S_IMODE(handed.stat().st_mode) == 0o600
    kept = firstboot.firstboot_path(root).read_text()
    assert "bwf_secret-code" not in kept
    # Read again at the next boot: still valid, and nothing handed over twice.
    again = firstboot.FirstBoot.model_validate_json(kept)
    assert again.fleet is not None and again.fleet.code == ""
    handed.unlink()
    assert not firstboot.hand_fleet_join_to_central(root, again)


def test_which_refusals_are_tried_again() -> None:
    assert seed._transient(ProblemError(502, "unreachable", field="address"))
    assert seed._transient(ConflictError("This appliance's agents are not all registered yet."))
    assert not seed._transient(ProblemError(403, "The join code has expired.", field="code"))
    assert not seed._transient(ValidationError("another CA", field="ca_fingerprint"))
    assert not seed._transient(ConflictError("in a fleet already", field="address"))


class _Db:
    def __enter__(self) -> _Db:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def rollback(self) -> None:
        return None


def _seeded(tmp_path: Path) -> tuple[StateRoot, CentralConfig]:
    root = StateRoot(tmp_path)
    root.etc.mkdir(parents=True)
    root.lib.mkdir(parents=True)
    given = {"address": "198.51.100.2", "port": 1231, "ca_fingerprint": FINGERPRINT,
             "code": "bwf_secret-code"}  # fmt: skip
    seed.seed_file(root).write_text(json.dumps(given))
    return root, CentralConfig(root)


def test_the_seed_join_waits_doubling_and_ends_on_a_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, config = _seeded(tmp_path)
    answers: list[Exception | None] = [
        ProblemError(502, "the managing Central cannot be reached", field="address"),
        ProblemError(502, "the managing Central cannot be reached", field="address"),
        ProblemError(403, "The join code has expired.", field="code"),
    ]
    sent: list[Any] = []

    def join(db: Any, actor: Any, cfg: Any, body: Any) -> dict[str, Any]:
        sent.append(body)
        answer = answers.pop(0)
        if answer is not None:
            raise answer
        return {}

    monkeypatch.setattr(seed.service, "join", join)
    assert seed.attempt(_Db, config) == 2.0
    first = seed.state(root)
    assert first is not None and first["state"] == "waiting" and first["attempts"] == 1
    assert "cannot be reached" in first["last_error"] and first["next_attempt_at"]
    assert seed.attempt(_Db, config) == 4.0
    assert seed.attempt(_Db, config) is None
    last = seed.state(root)
    assert last is not None and last["state"] == "failed" and "expired" in last["last_error"]
    assert not seed.seed_file(root).exists()  # the code is gone with the hand-off file
    assert "bwf_secret-code" not in seed.state_file(root).read_text()
    assert sent[0].code == "bwf_secret-code" and sent[0].address == "198.51.100.2"
    assert seed.attempt(_Db, config) is None  # nothing more to do


def test_the_seed_join_done_and_a_seed_not_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, config = _seeded(tmp_path)
    monkeypatch.setattr(seed.service, "join", lambda *args: {})
    assert seed.attempt(_Db, config) is None
    done = seed.state(root)
    assert done is not None and done["state"] == "joined" and done["last_error"] is None
    assert not seed.seed_file(root).exists()

    seed.state_file(root).unlink()
    seed.seed_file(root).write_text(json.dumps({"address": "nowhere", "code": "bwf_secret"}))
    assert seed.attempt(_Db, config) is None
    bad = seed.state(root)
    assert bad is not None and bad["state"] == "failed"
    assert "address" in bad["last_error"] and "bwf_secret" not in bad["last_error"]


def test_the_diagnostic_shell_shows_the_seed_join(tmp_path: Path) -> None:
    from services.shell.views import fleet
    from tests.shell.test_units import _ctx

    ctx, out = _ctx(tmp_path)
    ctx.root.lib.mkdir(parents=True)
    ctx.root.fleet_join_state.write_text(json.dumps({
        "state": "waiting", "address": "198.51.100.2", "port": 1231, "attempts": 3,
        "last_error": "the managing Central at 198.51.100.2:1231 cannot be reached (address)",
    }))  # fmt: skip
    assert fleet(ctx, []) == 0
    assert out[0].rstrip("\n") == "seed join: waiting (the Central at 198.51.100.2:1231, 3 tries)"
    assert "cannot be reached" in out[1] and out[2].startswith("fleet: none")
