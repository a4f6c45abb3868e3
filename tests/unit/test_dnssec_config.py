"""TSIG key objects, DNSSEC policies and the zone options that use them as the dns-agent
writes them for named (checked by named-checkconf), the shared models' checks, and the
migration that takes secondary zones' TSIG secrets out of Central's tables."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from central.core.db import alembic_config, make_engine
from services.common.dns.contract import TsigKey, ZoneCreate, ZoneKind, ZonePublic
from services.common.dns.dnssec import DnssecPolicy
from services.common.dns.named_conf import current_zones_conf, update_zones_conf
from services.common.dns.options import ServerOptions
from services.common.dns.tsig import TsigKeyInstall, new_secret
from services.common.launch import Launcher
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings
from services.dns.config import BindConfig, ZoneStore
from services.dns.named import Named


@pytest.fixture
def root(tmp_path: Path) -> StateRoot:
    root = StateRoot.at(tmp_path)
    root.etc.mkdir(parents=True)
    ApplianceSettings(address=ipaddress.IPv4Interface("198.51.100.2/24"), interface="lo").save(
        root.appliance_settings
    )
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    return root


def test_keys_policies_and_signed_zones_pass_named_checkconf(root: StateRoot) -> None:
    store = ZoneStore(root)
    zones = store.load()
    zones["s.test."] = ZonePublic(
        name="s.test", enabled=True, update_keys=["dhcp"], transfer_keys=["xfr"],
        dnssec_policy="short", ttl=60, file=str(store.zone_file("s.test.", ZoneKind.primary)),
    )  # fmt: skip
    zones["g.test."] = ZonePublic(
        name="g.test", enabled=True, update_keys=["xfr"],
        update_grants=[{"key": "dhcp", "match": "subdomain", "name": "dyn", "types": ["A", "TXT"]},
                       {"key": "dhcp", "match": "name", "name": "host.g.test.", "types": []}],
        file=str(store.zone_file("g.test.", ZoneKind.primary)),
    )  # fmt: skip
    zones["d.test."] = ZonePublic(
        name="d.test", enabled=True, dnssec_policy="default",
        file=str(store.zone_file("d.test.", ZoneKind.primary)),
    )  # fmt: skip
    keys = {
        name: TsigKeyInstall(name=name, algorithm=alg, secret=new_secret(alg))
        for name, alg in (("dhcp", "hmac-sha256"), ("xfr", "hmac-sha512"))
    }
    policies = {
        "short": DnssecPolicy(
            name="short", keys="ksk-zsk", zsk_lifetime=30 * 86400, nsec3=True, max_zone_ttl=3600
        )
    }
    text_ = BindConfig(root, Named(root)).zones_conf_text(zones, keys, policies)
    assert 'dnssec-policy "short";' in text_ and "inline-signing no;" in text_
    assert 'allow-update { burrow-agent; key "dhcp"; };' in text_
    assert 'allow-transfer { burrow-agent; key "xfr"; };' in text_
    assert "allow-query { !burrow-tsig-elsewhere; any; };" in text_
    assert "nsec3param iterations 0 optout no salt-length 0;" in text_
    assert 'grant "burrow-tsig" zonesub ANY;' in text_ and 'grant "xfr" zonesub ANY;' in text_
    assert 'grant "dhcp" subdomain dyn.g.test. A TXT;' in text_
    assert 'grant "dhcp" name host.g.test. ANY;' in text_
    conf = root.bind_etc / "zones.conf"
    conf.write_text(text_)
    proc = subprocess.run(["named-checkconf", str(root.named_conf)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_zones_conf_of_an_older_release_is_brought_up_to_date(root: StateRoot) -> None:
    """A zones.conf that names the appliance's key bare (before it was bound to 127.0.0.1), as
    a restored backup or an upgraded appliance has it, becomes what the agent writes now: by
    the launcher at its start (and by a restore after it wrote the files)."""
    store = ZoneStore(root)
    zones = store.load()
    zones["u.test."] = ZonePublic(
        name="u.test", enabled=True, update_keys=["k"], transfer_keys=["k"],
        file=str(store.zone_file("u.test.", ZoneKind.primary)),
    )  # fmt: skip
    zones["p.test."] = ZonePublic(
        name="p.test", enabled=True,
        update_grants=[{"key": "k", "match": "subdomain", "name": "dyn", "types": ["A"]}],
        file=str(store.zone_file("p.test.", ZoneKind.primary)),
    )  # fmt: skip
    zones["sec.test."] = ZonePublic(
        name="sec.test", kind=ZoneKind.secondary, enabled=True, primaries=["198.51.100.9"],
        file=str(store.zone_file("sec.test.", ZoneKind.secondary)),
    )  # fmt: skip
    keys = {
        "k": TsigKeyInstall(name="k", algorithm="hmac-sha256", secret=new_secret("hmac-sha256"))
    }
    current = BindConfig(root, Named(root)).zones_conf_text(zones, keys, {})
    assert (
        current.count("allow-query { !burrow-tsig-elsewhere; any; };") == 3
    )  # the primaries, the seed zone's too
    old = current.replace("    allow-query { !burrow-tsig-elsewhere; any; };\n", "")
    old = old.replace("{ burrow-agent; ", '{ key "burrow-tsig"; ')
    assert old.count('{ key "burrow-tsig"; ') == 6 and "burrow-agent" not in old
    assert current_zones_conf(old) == current and current_zones_conf(current) == current
    conf = root.bind_etc / "zones.conf"
    conf.write_text(old)
    conf.chmod(0o640)
    Launcher(root, python="/usr/bin/python3", pythonpath=None).prepare()
    assert conf.read_text() == current and conf.stat().st_mode & 0o777 == 0o640
    assert not update_zones_conf(conf)  # nothing more to do
    proc = subprocess.run(["named-checkconf", str(root.named_conf)], capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shared_model_checks() -> None:
    with pytest.raises(ValidationError) as caught:
        DnssecPolicy(name="default")
    assert "BIND's own" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        DnssecPolicy(name="p", signatures_refresh=100, signatures_validity=50)
    assert "signatures_refresh" in str(caught.value)
    with pytest.raises(ValidationError):
        ZoneCreate(name="x.test", kind="secondary", primaries=["198.51.100.9"],
                   update_keys=["k"])  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        ZoneCreate(name="x.test", update_keys=["k", "K"])
    assert "listed twice" in str(caught.value)
    with pytest.raises(ValidationError):
        ZoneCreate(name="x.test", update_keys=["burrow-tsig"])
    with pytest.raises(ValidationError) as caught:
        ServerOptions(forwarders=["198.51.100.9", "::1", "198.51.100.9"])  # type: ignore[list-item]
    errors = {tuple(e["loc"]) for e in caught.value.errors()}
    assert errors == {("forwarders", 1), ("forwarders", 2)}
    assert len(new_secret("hmac-sha384")) == 64


def test_migration_takes_stored_secrets_out(tmp_path: Path) -> None:
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0006_ids")
    secret = "c2VjcmV0LW9mLWEtc2Vjb25kYXJ5LXpvbmU="
    tsig = TsigKey(name="up", secret=secret).model_dump()
    spec = json.dumps({"primaries": ["198.51.100.9"], "tsig_key": tsig})
    with engine.begin() as conn:
        columns = conn.exec_driver_sql("PRAGMA table_info(servers)").all()
        values = {"id": 1, "name": "s", "kind": "dns", "address": "198.51.100.2", "port": 1337}
        for _cid, column, kind, notnull, default, _pk in columns:
            if column not in values and notnull and default is None:
                values[column] = (
                    0
                    if kind.upper() in ("INTEGER", "BOOLEAN")
                    else ("2026-12-06 00:00:00" if "DATE" in kind.upper() else "")
                )
        names = ", ".join(values)
        marks = ", ".join(f":{c}" for c in values)
        conn.execute(text(f"INSERT INTO servers ({names}) VALUES ({marks})"), values)
        conn.execute(
            text("INSERT INTO dns_zones (id, server_id, name, kind, enabled, ttl, soa, spec, "
                 "record_count, created_at, updated_at) VALUES (1, 1, 's.test.', 'secondary', "
                 "1, 3600, '', :spec, 0, '2026-12-06 00:00:00', '2026-12-06 00:00:00')"),
            {"spec": spec},
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO history (at, actor, object_type, object_id, action, after, "
                 "comment) VALUES ('2026-12-06 00:00:00', 'admin', 'dns-zone', '1', 'create', "
                 ":after, '')"),
            {"after": f'{{"options": {spec}}}'},
        )  # fmt: skip
    command.upgrade(config, "head")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT spec FROM dns_zones")).scalar()
        history = conn.execute(text("SELECT after FROM history")).scalar()
        table = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'dns_tsig_keys'")
        ).scalar()
    assert "AUTOINCREMENT" in str(table)  # a deleted key's id is never given again
    assert secret not in str(stored) and '"up"' in str(stored)
    assert secret not in str(history) and '"up"' in str(history)
    engine.dispose()
