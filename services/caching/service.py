"""The caching appliance's DNS server as the dns-agent drives it: settings, cache, counters.

A settings change goes: validated ``CachingSettings`` -> unbound.conf rendered and checked by
``unbound-checkconf`` (``services.common.caching.conf.write_config``: a text Unbound would
refuse is never installed, and the refusal names the field when Unbound's words point at one)
-> the settings saved -> ``unbound-control reload_keep_cache`` -> Unbound answers its control
channel again. If anything after the check fails, the previous settings file and unbound.conf
are put back and Unbound is reloaded on them, so it never runs half of a change; the caller
gets one error saying what failed and that the previous settings are in use.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
import threading
from pathlib import Path

from services.caching.control import UnboundControl
from services.common.caching.conf import PORT, write_config
from services.common.caching.contract import (
    CacheFlush,
    CacheFlushed,
    CacheLookup,
    CacheStats,
    CachingSettings,
)
from services.common.errors import (
    BurrowError,
    DaemonError,
    FieldProblem,
    UnavailableError,
    ValidationError,
)
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.proc import run

log = logging.getLogger(__name__)

#: Types a plain flush of a name removes besides those unbound-control's ``flush`` removes
#: itself (A, AAAA, NS, SOA, CNAME, DNAME, MX, PTR, SRV, NAPTR, SVCB, HTTPS): the other types
#: a client commonly asks for.
EXTRA_FLUSH_TYPES = ("TXT", "CAA", "TLSA", "SSHFP", "DS")


def local_addresses() -> set[str]:
    """The addresses of this appliance's interfaces (Unbound listens on all of them)."""
    out = run(["ip", "-j", "address", "show"], timeout=10).stdout
    return {
        str(ipaddress.ip_address(info["local"]))
        for link in json.loads(out)
        for info in link.get("addr_info", [])
    }


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _put(path: Path, data: bytes | None, mode: int) -> None:
    if data is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, data, mode=mode)


class CachingService:
    """Unbound's settings, cache and counters on one appliance.

    ``user``, ``port`` and ``threads`` must be those burrow-launch renders unbound.conf with
    (the defaults on an appliance): ``reload_keep_cache`` keeps the cache only while the number
    of threads stays the same.
    """

    def __init__(
        self,
        root: StateRoot,
        *,
        user: str = "unbound",
        port: int = PORT,
        threads: int | None = None,
        control: UnboundControl | None = None,
    ) -> None:
        self.root = root
        self.user = user
        self.port = port
        self.threads = threads
        self.control = control or UnboundControl(root)
        #: One settings change at a time: each one reads what the one before it left.
        self.lock = threading.Lock()

    def settings(self) -> CachingSettings:
        return CachingSettings.load(self.root.caching_settings)

    def put_settings(self, settings: CachingSettings) -> CachingSettings:
        """Make Unbound use ``settings``; on any failure the previous settings stay in use."""
        self._refuse_loops(settings)
        with self.lock:
            old_settings = _read(self.root.caching_settings)
            old_conf = _read(self.root.unbound_conf)
            # Refused here (ValidationError, 422): nothing was written.
            write_config(self.root, settings, threads=self.threads, port=self.port, user=self.user)
            try:
                settings.save(self.root.caching_settings)
                self.control.reload()
                self.control.wait_up()
            except (BurrowError, OSError, subprocess.SubprocessError) as exc:
                log.error("Unbound did not take the new settings: %s", exc)
                # Unbound not answering at all is "try again later" (503); anything else is
                # Unbound failing (502). Either way nothing of the change is left.
                error = UnavailableError if isinstance(exc, UnavailableError) else DaemonError
                raise error(
                    f"Unbound did not take the new settings: {exc}. "
                    + self._put_back(old_settings, old_conf)
                ) from exc
            log.info("Unbound uses the new settings")
            return settings

    def _refuse_loops(self, settings: CachingSettings) -> None:
        """A server at one of this appliance's addresses on Unbound's own port is Unbound
        itself: it would ask itself, and every such query would fail after a time-out."""
        own = local_addresses()
        places = [(f"forwarders[{i}]", t) for i, t in enumerate(settings.forwarders)]
        for kind in ("forward_zones", "stub_zones"):
            for z, zone in enumerate(getattr(settings, kind)):
                places += [(f"{kind}[{z}].servers[{i}]", t) for i, t in enumerate(zone.servers)]
        problems = [
            FieldProblem(
                f"{where}.address", f"{target.address} is this appliance: Unbound would ask itself"
            )
            for where, target in places
            if target.port == self.port and str(target.address) in own
        ]
        if problems:
            raise ValidationError(problems[0].message, problems=problems)

    def _put_back(self, settings: bytes | None, conf: bytes | None) -> str:
        """Restore the files as they were and reload Unbound on them; what happened, in words."""
        try:
            _put(self.root.caching_settings, settings, 0o640)
            _put(self.root.unbound_conf, conf, 0o644)
            self.control.reload()
            self.control.wait_up()
        except (BurrowError, OSError, subprocess.SubprocessError) as exc:
            log.error("Unbound does not answer on the previous settings either: %s", exc)
            return (
                "The previous settings are back in place; Unbound does not answer yet "
                f"({exc}) and takes them when it starts again."
            )
        return "The previous settings are back in use."

    def stats(self) -> CacheStats:
        return self.control.stats()

    def flush(self, request: CacheFlush) -> CacheFlushed:
        """Remove a name, one of its types, or a whole zone from the cache (see
        ``CacheFlush``); Unbound's words in ``detail``."""
        name = request.name
        said: list[str] = []
        if request.zone:
            said.append(self.control.command("flush_zone", name))
        elif request.type is not None:
            said.append(self.control.command("flush_type", name, request.type))
        else:
            said.append(self.control.command("flush", name))
            for rtype in EXTRA_FLUSH_TYPES:
                self.control.command("flush_type", name, rtype)
        if request.negative:
            said.append(self.control.command("flush_negative"))
        log.info("flushed %s%s: %s", name, " and below" if request.zone else "", said)
        return CacheFlushed(name=name, zone=request.zone, detail="; ".join(said))

    def lookup(self, name: str) -> CacheLookup:
        out = self.control.command("lookup", name)
        return CacheLookup(name=name, lines=[line for line in out.splitlines() if line.strip()])
