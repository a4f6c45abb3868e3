"""Central's database: the engine (SQLite in WAL mode or PostgreSQL), sessions, migrations.

Migrations are Alembic scripts in ``central/migrations``. They are applied at every start;
when the database is already at ``HEAD`` Alembic is not even imported, which keeps a
restart after a crash fast. An empty database (the appliance's first boot) gets the schema of
``HEAD`` at once from the models (``create_schema``), the same schema the migrations make
(tests/unit/test_schema.py compares both ways on SQLite and PostgreSQL), without importing
Alembic or running each migration in turn: under software emulation that took some 10 s of
the first boot.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import pkgutil
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

#: The newest migration; tests check that it is Alembic's head.
HEAD = "0012_ipam_discovery"
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
#: A PostgreSQL connection idle in the pool for longer is tested before it is used again.
PING_AFTER_IDLE_SECONDS = 10.0


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of Central's tables."""


#: ``__table_args__`` of a table whose integer ids are never given twice, even after the row
#: with the highest id is deleted: SQLite's AUTOINCREMENT (a plain rowid table takes the
#: highest id + 1). PostgreSQL's serial columns draw from a sequence, which never goes back.
#: An id names an object in the history and in scripts: given again, it would name another.
NEVER_REUSED: dict[str, Any] = {"sqlite_autoincrement": True}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json_text(value: Any) -> str:
    # JSON columns hold large documents (a DHCP server's whole configuration, stored after
    # every change): orjson writes them several times faster than the json module.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_value(text: Any) -> Any:
    if isinstance(text, int | float):
        return text  # SQLite hands a JSON number back as a number (numeric affinity)
    return orjson.loads(text)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    json_codec: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": _json_value}
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **json_codec
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(url, pool_size=8, max_overflow=8, **json_codec)

    # A connection that sat in the pool for a while is tested before use (the server may have
    # restarted meanwhile); one in steady use is not. ``pool_pre_ping`` would test it at every
    # checkout, a round trip in every request.
    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops this connection and takes a new one
            raise DisconnectionError(f"a pooled connection failed its test: {exc}") from exc

    return engine


def make_sessions(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except DBAPIError:
        return None
    return str(row[0]) if row else None


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def import_models() -> None:
    """Import every ``central.<package>.models`` module, so that ``Base.metadata`` holds
    every table of Central."""
    import central

    for package in pkgutil.iter_modules(central.__path__):
        if package.ispkg:
            try:
                importlib.import_module(f"central.{package.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"central.{package.name}.models":
                    raise


#: Alembic's own table of the revision a database is at, as Alembic makes it.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_schema(engine: Engine) -> None:
    """Make the schema of ``HEAD`` in an empty database from the models, and record it as
    at ``HEAD`` (what ``alembic stamp head`` writes), in one transaction."""
    import_models()
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        _VERSION_TABLE.create(conn)
        conn.execute(insert(_VERSION_TABLE).values(version_num=HEAD))


def migrate(engine: Engine) -> None:
    """Bring the schema to ``HEAD`` (nothing to do, and no Alembic import, when it is); an
    empty database gets it at once (``create_schema``)."""
    if current_revision(engine) == HEAD:
        return
    if not inspect(engine).get_table_names():
        log.info("empty database: creating the schema of %s", HEAD)
        create_schema(engine)
        return
    from alembic import command

    log.info("applying database migrations up to %s", HEAD)
    command.upgrade(alembic_config(engine), "head")
