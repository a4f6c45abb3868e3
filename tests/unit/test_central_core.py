"""Central's building blocks without a server: migrations, passwords, the CA and its CRL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from central.core.db import HEAD, alembic_config, current_revision, make_engine, migrate
from central.core.security import hash_password, verify_password
from services.common.pki import (
    CertificateAuthority,
    CertificateRequestError,
    load_cert,
    make_request,
    new_key,
    revoked_serials,
)


def test_head_is_alembics_head(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == HEAD


def test_migrations_make_every_table_and_are_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    assert current_revision(engine) is None
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == HEAD
    tables = set(inspect(engine).get_table_names())
    assert tables >= {"users", "tokens", "history", "central_settings", "servers",
                      "enrolment_tokens", "revoked_certificates"}  # fmt: skip
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_scrypt_passwords() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    assert not verify_password("x", "not-a-hash")
    assert hash_password("same") != hash_password("same")  # salted


def test_the_ca_signs_requests_and_publishes_revocations(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "ca")
    ca.create("unit CA")
    key = new_key()
    cert = ca.sign_request(make_request(key, "ignored"), "dns-1", server_names=["198.51.100.2"])
    assert cert.subject.rfc4514_string() == "CN=dns-1"
    with pytest.raises(CertificateRequestError):
        ca.sign_request(b"-----BEGIN CERTIFICATE REQUEST-----\nxx\n", "x", server_names=[])
    crl = tmp_path / "crl.pem"
    assert revoked_serials(crl, load_cert(ca.paths.cert)) == frozenset()
    ca.write_crl(crl, [cert.serial_number, 7])
    assert revoked_serials(crl, load_cert(ca.paths.cert)) == {cert.serial_number, 7}
    other = CertificateAuthority(tmp_path / "other")
    other.create("other CA")
    with pytest.raises(ValueError, match="not signed"):
        revoked_serials(crl, load_cert(other.paths.cert))


def test_json_columns_read_back_every_kind_of_value(tmp_path: Path) -> None:
    """Settings hold numbers and booleans in a JSON column: SQLite hands numbers back as
    numbers, which the JSON decoding must take as they are."""
    from sqlalchemy import JSON, Column, MetaData, String, Table, insert, select

    engine = make_engine(f"sqlite:///{tmp_path / 'j.db'}")
    table = Table("t", MetaData(), Column("k", String, primary_key=True), Column("v", JSON))
    table.metadata.create_all(engine)
    values = {"int": 3600, "float": 0.5, "true": True, "false": False, "text": "02:30",
              "list": [1, "a"], "dict": {"1": {"nested": None}}}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(table), [{"k": k, "v": v} for k, v in values.items()])
    with engine.connect() as conn:
        assert dict(conn.execute(select(table.c.k, table.c.v)).all()) == values
    engine.dispose()
