"""Secrets of a Kea configuration are hidden in Central's raw view and history, and a raw
configuration sent back with them hidden keeps the server's values (central.dhcp.redact)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.core.config import CentralConfig
from central.dhcp import routes
from central.dhcp.redact import HIDDEN, redacted, restored
from central.dhcp.schemas import ConfigBody
from central.history.models import Change
from services.common.errors import BurrowError
from services.common.paths import StateRoot
from tests.central_dhcp.test_replication import ADMIN, FakeAgents, add_server, agents, db

__all__ = ["agents", "db"]  # the fixtures
SECRET = "s3cret-of-the-database"


def test_secrets_are_hidden_and_restored_in_place() -> None:
    config = {"lease-database": {"type": "memfile", "password": SECRET},
              "hooks-libraries": [{"parameters": {"peers": [
                  {"name": "x", "basic-auth-password": "p1"}]}}]}  # fmt: skip
    shown = redacted(config)
    assert SECRET not in str(shown) and "p1" not in str(shown)
    assert shown["lease-database"] == {"type": "memfile", "password": HIDDEN}
    assert restored(shown, config) == config
    with pytest.raises(BurrowError) as nowhere:
        restored({"hosts-database": {"password": HIDDEN}}, config)
    assert nowhere.value.status == 422 and nowhere.value.field == "config.hosts-database.password"


def test_the_raw_view_and_history_never_show_a_secret(
    db: Session, agents: FakeAgents, tmp_path: Path
) -> None:
    config = CentralConfig(root=StateRoot(tmp_path))
    server = add_server(db, agents, "one")
    agents.dhcp4(server.id)["hosts-database"] = {"type": "mysql", "password": SECRET}
    view = routes.get_config(config, ADMIN, server, "v4")
    assert SECRET not in view.model_dump_json()
    raw = view.config or {}
    assert raw["Dhcp4"]["hosts-database"]["password"] == HIDDEN
    raw["Dhcp4"]["valid-lifetime"] = 1234
    routes.put_config(db, config, ADMIN, server, "v4", ConfigBody(config=raw, comment="edit"))
    assert agents.dhcp4(server.id)["hosts-database"]["password"] == SECRET  # kept
    assert agents.dhcp4(server.id)["valid-lifetime"] == 1234
    history = " ".join(str((c.before, c.after)) for c in db.scalars(select(Change)).all())
    assert "edit" in str(db.scalars(select(Change.comment)).all())
    assert SECRET not in history
