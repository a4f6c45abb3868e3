"""named's configuration as the dns-agent owns it: the zone list, zones.conf, named.conf.

The agent keeps its zones in ``etc/bind/burrow-zones.json`` and renders ``zones.conf`` and
``named.conf`` from them and the server options. A new configuration is checked with
named-checkconf before it replaces the old one, then loaded with ``rndc reconfig``; if named
does not take it (or a new zone does not load), the last known good configuration
(``*.good``, what named last loaded) is put back and loaded again.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dns.name

from services.common.dns.contract import ZoneKind, ZonePublic
from services.common.dns.dnssec import DnssecPolicy, policy_statement
from services.common.dns.named_conf import named_conf_text, options_path, zones_conf_path
from services.common.dns.options import ServerOptions
from services.common.dns.tsig import TsigKeyInstall
from services.common.errors import DaemonError
from services.common.files import read_json, write_atomic, write_json
from services.common.paths import StateRoot
from services.common.render import render
from services.dns.keys import KeyStore, PolicyStore
from services.dns.named import Named

log = logging.getLogger(__name__)

_SEED_ZONE = re.compile(r'zone\s+"([^"]+)"\s*\{\s*type\s+(\w+);\s*file\s+"([^"]+)";')


def bind_group() -> int | None:
    try:
        return grp.getgrnam("bind").gr_gid
    except KeyError:
        return None


def give_to_named(path: Path) -> None:
    """Zone files must be named's own: it writes journals and syncs them into the file."""
    with contextlib.suppress(KeyError):
        import pwd

        entry = pwd.getpwnam("bind")
        os.chown(path, entry.pw_uid, entry.pw_gid)


class ZoneStore:
    """The zones the agent manages, in ``etc/bind/burrow-zones.json``."""

    def __init__(self, root: StateRoot) -> None:
        self.root = root
        self.path = root.bind_etc / "burrow-zones.json"

    def load(self) -> dict[str, ZonePublic]:
        if not self.path.exists():
            return self._adopt()
        raw = read_json(self.path)
        zones = [ZonePublic.model_validate(item) for item in raw["zones"]]
        return {zone.name: zone for zone in zones}

    def save(self, zones: dict[str, ZonePublic]) -> None:
        items = [z.model_dump(mode="json", exclude={"serial"}) for z in zones.values()]
        write_json(self.path, {"zones": sorted(items, key=lambda z: z["name"])}, mode=0o600)

    def _adopt(self) -> dict[str, ZonePublic]:
        """The zones the launcher wrote at the first start (the seed zone)."""
        conf = zones_conf_path(self.root)
        found: dict[str, ZonePublic] = {}
        if conf.exists():
            for name, kind, file in _SEED_ZONE.findall(conf.read_text()):
                if kind in ("primary", "master"):
                    zone = ZonePublic(name=name, kind=ZoneKind.primary, enabled=True, file=file)
                    found[zone.name] = zone
        return found

    def zone_file(self, name: str, kind: ZoneKind) -> Path:
        prefix = "db" if kind == ZoneKind.primary else "sec"
        return self.root.bind_lib / f"{prefix}.{name.rstrip('.')}"


def update_policy(zone: ZonePublic) -> list[str]:
    """The zone's ``update-policy`` rules when it has grants (else it keeps ``allow-update``):
    the appliance's key and every key of ``update_keys`` for the whole zone, then each grant
    (BIND ARM, "update-policy"; names absolute, types as given or ANY)."""
    if not zone.update_grants:
        return []
    rules = [f'grant "{k}" zonesub ANY;' for k in ("burrow-tsig", *zone.update_keys)]
    origin = dns.name.from_text(zone.name)
    for grant in zone.update_grants:
        types = " ".join(grant.types) or "ANY"
        if grant.match == "zonesub":
            rules.append(f'grant "{grant.key}" zonesub {types};')
            continue
        assert grant.name is not None
        name = dns.name.from_text(grant.name, origin=origin).to_text()
        rules.append(f'grant "{grant.key}" {grant.match} {name} {types};')
    return rules


def zone_context(zone: ZonePublic, key_directory: str = "") -> dict[str, Any]:
    return {
        "name": zone.name,
        "kind": zone.kind.value,
        "file": zone.file or "",
        "allow_update": [str(n) for n in zone.allow_update],
        "allow_transfer": [str(n) for n in zone.allow_transfer],
        "notify": zone.notify,
        "also_notify": [str(a) for a in zone.also_notify],
        "primaries": [str(p) for p in zone.primaries],
        "key": zone.tsig_key.name if zone.tsig_key else "",
        "forwarders": [str(f) for f in zone.forwarders],
        "forward_only": zone.forward_only,
        "update_keys": list(zone.update_keys),
        "update_policy": update_policy(zone),
        "transfer_keys": list(zone.transfer_keys),
        "dnssec_policy": zone.dnssec_policy or "",
        "key_directory": key_directory,
        "check_names": "fail" if zone.strict_hostnames else "ignore",
    }


class BindConfig:
    """Renders, checks and loads named's configuration; keeps the last known good one."""

    def __init__(self, root: StateRoot, named: Named) -> None:
        self.root = root
        self.named = named
        self.zones_conf = zones_conf_path(root)
        self.named_conf = root.named_conf

    def zones_conf_text(
        self,
        zones: dict[str, ZonePublic],
        keys: dict[str, TsigKeyInstall] | None = None,
        policies: dict[str, DnssecPolicy] | None = None,
    ) -> str:
        """zones.conf: the TSIG keys, the DNSSEC policies and the enabled zones."""
        if keys is None:
            keys = KeyStore(self.root).load()
        if policies is None:
            policies = PolicyStore(self.root).load()
        enabled = [z for z in sorted(zones.values(), key=lambda z: z.name) if z.enabled]
        used = {z.tsig_key.name: z.tsig_key.model_dump() for z in enabled if z.tsig_key}
        used |= {k.name: k.model_dump() for k in keys.values()}
        statements = [policy_statement(p) for p in policies.values()]
        key_dir = str(self.root.bind_keys)
        return render(
            "zones.conf.j2",
            keys=list(used.values()),
            policies=statements,
            zones=[zone_context(z, key_dir) for z in enabled],
        )

    def _key_directory(self) -> None:
        """named writes the keys of signed zones here: its own directory."""
        if not self.root.bind_keys.is_dir():
            self.root.bind_keys.mkdir(parents=True, mode=0o750)
            give_to_named(self.root.bind_keys)

    def _good(self, path: Path) -> Path:
        return path.with_name(path.name + ".good")

    def _write(self, path: Path, text: str) -> None:
        write_atomic(path, text, mode=0o640)
        group = bind_group()
        if group is not None:
            os.chown(path, 0, group)

    def apply(
        self,
        zones: dict[str, ZonePublic],
        options: ServerOptions,
        *,
        must_load: Sequence[str] = (),
        keys: dict[str, TsigKeyInstall] | None = None,
        policies: dict[str, DnssecPolicy] | None = None,
    ) -> None:
        """Make named run ``zones`` and ``options`` (and ``keys`` and ``policies``, when
        given, instead of the stored ones), or leave it on what it had."""
        self._key_directory()
        zones_text = self.zones_conf_text(zones, keys, policies)
        candidate_zones = self.zones_conf.with_name("zones.conf.new")
        candidate_named = self.named_conf.with_name("named.conf.new")
        self._write(candidate_zones, zones_text)
        self._write(candidate_named, named_conf_text(self.root, options, candidate_zones))
        try:
            self.named.check_conf(candidate_named)
        finally:
            candidate_named.unlink(missing_ok=True)
            candidate_zones.unlink(missing_ok=True)
        for path in (self.named_conf, self.zones_conf):
            if path.exists() and not self._good(path).exists():
                shutil.copy2(path, self._good(path))
        self._write(self.zones_conf, zones_text)
        self._write(self.named_conf, named_conf_text(self.root, options, self.zones_conf))
        try:
            self.named.reconfig()
            for name in must_load:
                self._wait_loaded(name)
        except DaemonError as exc:
            log.error("named did not take the new configuration (%s); restoring", exc)
            self.restore()
            raise
        for path in (self.named_conf, self.zones_conf):
            shutil.copy2(path, self._good(path))
        options.save(options_path(self.root))

    def _wait_loaded(self, name: str, timeout: float = 10.0) -> None:
        """named loads new zones in the background after reconfig: give it a moment."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.named.rndc("zonestatus", name, timeout=30)
                return
            except DaemonError as exc:
                if time.monotonic() > deadline:
                    raise DaemonError(
                        f"named did not load zone {name} within {timeout:g} s (can it read the "
                        f"zone file?); its last good configuration is back. {exc.message}",
                        hint="see named's log for why it did not load the zone",
                    ) from exc
                time.sleep(0.05)

    def restore(self) -> None:
        """Put the last known good configuration back and make named load it."""
        for path in (self.named_conf, self.zones_conf):
            good = self._good(path)
            if good.exists():
                self._write(path, good.read_text())
        if not self.named.wait_up():
            raise DaemonError("named is not running; it will start on the restored configuration")
        self.named.reconfig()
