"""Central writes an imported zone's records in short transactions into a hidden zone.

Between its turns the zone and its records are found by nothing (listing, record search,
lookups by id); a failed import leaves no zone and no record behind; a zone left hidden by a
stopped Central is deleted at its next start. The agent is an in-memory stand-in here (its
answer is all Central reads of it); the database is real SQLite, made by the migrations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from central.core.db import make_engine, make_sessions, migrate
from central.core.deps import Principal
from central.dns import service
from central.dns.models import DnsRecord, DnsZone
from central.dns.schemas import ZoneImportRequest
from central.history.models import Change as HistoryEntry
from central.registry.models import Server
from services.common.dns.contract import RecordData, ZoneImported, ZoneRows
from services.common.errors import NotFoundError

ORIGIN = "big.test."
ADMIN = Principal(user_id=1, username="admin", role="administrator", token_id=1, token_kind="s")


class Agent:
    """The dns-agent's answer to an import: the zone, named serving ``rows``."""

    def __init__(self, rows: list[tuple[str, str, int, str]]) -> None:
        self.rows = rows

    def import_zone(self, request: Any, *, records: bool = False) -> ZoneImported:
        soa = RecordData(name="@", type="SOA", ttl=3600, data=f"ns1.{ORIGIN} h.{ORIGIN} 7 1 1 1 1")
        return ZoneImported(
            name=ORIGIN, enabled=True, serial=7,
            content=ZoneRows(zone=ORIGIN, serial=7, soa=soa, rows=self.rows),
        )  # fmt: skip


def _rows(count: int) -> list[tuple[str, str, int, str]]:
    return [(f"h{i}.{ORIGIN}", "A", 300, f"198.51.100.{i % 250 + 1}") for i in range(count)]


@pytest.fixture
def database(tmp_path: Path) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(engine)
    sessions = make_sessions(engine)
    with sessions() as db:
        db.add(Server(id=1, kind="dns", name="ns", address="198.51.100.2", port=1337))
        db.commit()
    return engine, sessions


def _import(sessions: sessionmaker[Session], agent: Agent, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(service, "client_for", lambda db, config, server_id: agent)
    body = ZoneImportRequest(server_id=1, name=ORIGIN, text="; the agent reads it", comment="c")
    with sessions() as db:
        return service.import_zone(db, None, ADMIN, body)  # type: ignore[arg-type]


def _found(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """Zones listed, records found by search, and rows in the table at all."""
    with sessions() as db:
        zones = db.scalar(select(func.count()).select_from(DnsZone).where(service.shown_zones()))
        found = db.scalar(
            select(func.count()).select_from(DnsRecord).where(service.shown_records())
        )
        rows = db.scalar(select(func.count()).select_from(DnsRecord))
    return int(zones or 0), int(found or 0), int(rows or 0)


def test_an_import_is_hidden_until_its_last_turn(
    database: tuple[Engine, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine, sessions = database
    monkeypatch.setattr(service, "IMPORT_TURN_ROWS", 100)
    seen: list[tuple[int, int, int]] = []
    real_insert = service._insert_rows

    def insert_and_look(db: Session, zone_id: int, rows: list[Any]) -> None:
        seen.append(_found(sessions))  # what another request finds between two turns
        with sessions() as other, pytest.raises(NotFoundError):
            service.get_zone(other, zone_id)
        real_insert(db, zone_id, rows)

    monkeypatch.setattr(service, "_insert_rows", insert_and_look)
    view = _import(sessions, Agent(_rows(450)), monkeypatch)

    assert [rows for _zones, _found_rows, rows in seen] == [0, 100, 200, 300, 400], (
        "the rows were not written in turns of IMPORT_TURN_ROWS, each committed"
    )
    assert all(zones == 0 and found == 0 for zones, found, _rows in seen), seen
    assert _found(sessions) == (1, 450, 450)
    with sessions() as db:
        zone = service.get_zone(db, view.id)
        assert not zone.importing and zone.record_count == 450 and zone.serial == 7
        actions = db.scalars(
            select(HistoryEntry.action).where(HistoryEntry.object_id == str(view.id))
        )
        assert list(actions) == ["import"]


def test_a_failed_import_leaves_nothing(
    database: tuple[Engine, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _engine, sessions = database
    monkeypatch.setattr(service, "IMPORT_TURN_ROWS", 100)
    real_insert = service._insert_rows
    turns: list[int] = []

    def full_at_the_third_turn(db: Session, zone_id: int, rows: list[Any]) -> None:
        turns.append(len(rows))
        if len(turns) == 3:
            raise OSError(28, "No space left on device")
        real_insert(db, zone_id, rows)

    monkeypatch.setattr(service, "_insert_rows", full_at_the_third_turn)
    with pytest.raises(OSError, match="No space"):
        _import(sessions, Agent(_rows(450)), monkeypatch)
    assert turns == [100, 100, 100]
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(DnsZone)) == 0
        assert db.scalar(select(func.count()).select_from(DnsRecord)) == 0
        assert db.scalar(select(func.count()).select_from(HistoryEntry)) == 0


def test_a_zone_left_hidden_is_deleted_at_start(
    database: tuple[Engine, sessionmaker[Session]],
) -> None:
    _engine, sessions = database
    with sessions() as db:
        shown = DnsZone(server_id=1, name="kept.test.", kind="primary", soa="", spec={})
        hidden = DnsZone(server_id=1, name=ORIGIN, kind="primary", soa="", spec={}, importing=True)
        db.add_all([shown, hidden])
        db.flush()
        db.add_all(
            DnsRecord(zone_id=zone.id, name=f"a.{zone.name}", type="A", ttl=1, data="1.2.3.4")
            for zone in (shown, hidden)
        )
        db.commit()
    assert _found(sessions) == (1, 1, 2)
    with sessions() as db:
        assert service.drop_unfinished_imports(db) == [ORIGIN]
    assert _found(sessions) == (1, 1, 1)
