"""The caching appliance's DNS server as the dns-agent drives it: settings, cache, counters.

A settings change goes: validated ``CachingSettings`` -> unbound.conf rendered and checked by
``unbound-checkconf`` (``services.common.caching.conf.write_config``: a text Unbound would
refuse is never installed, and the refusal names the field when Unbound's words point at one)
-> the settings saved -> ``unbound-control reload_keep_cache`` -> Unbound answers its control
channel again. If anything after the check fails, the previous settings file and unbound.conf
are put back and Unbound is reloaded on them, so it never runs half of a change; the caller
gets one error saying what failed and that the previous settings are in use.

Unbound listens on the appliance's addresses, each named in unbound.conf. A reload does not
open listening sockets again (Unbound 1.17 opens them once, as root, before it drops to its
user), so a settings change keeps the addresses of the unbound.conf in use, and a change of the
addresses (``follow_addresses``, called by ``services.caching.addresses.AddressWatch``) renders
unbound.conf again and restarts Unbound, its cache dumped before and loaded back after
(``unbound-control dump_cache`` / ``load_cache``). Both go one at a time.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
import threading
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

from services.caching.control import UnboundControl
from services.common.caching.conf import (
    PORT,
    conf_addresses,
    interface_addresses,
    listen_order,
    write_config,
)
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
from services.common.supervisor import SupervisorView

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


def restart_by_supervisord(root: StateRoot, program: str = "unbound") -> None:
    """Stop and start Unbound's program through supervisord, waiting for each."""
    supervisor = SupervisorView(root.supervisor_socket, timeout=60.0)
    if supervisor.process(program)["statename"] == "RUNNING":
        supervisor.call("supervisor.stopProcess", program, True)
    supervisor.call("supervisor.startProcess", program, True)


class CachingService:
    """Unbound's settings, cache and counters on one appliance.

    ``user``, ``port`` and ``threads`` must be those burrow-launch renders unbound.conf with
    (the defaults on an appliance): ``reload_keep_cache`` keeps the cache only while the number
    of threads stays the same. ``addresses`` reads the addresses Unbound should listen on
    (this machine's; tests read those of a network namespace) and ``restart`` restarts Unbound
    (through supervisord on an appliance).
    """

    def __init__(
        self,
        root: StateRoot,
        *,
        user: str = "unbound",
        port: int = PORT,
        threads: int | None = None,
        control: UnboundControl | None = None,
        addresses: Callable[[], list[str] | None] = interface_addresses,
        restart: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.read_addresses = addresses
        self.restart = restart or (lambda: restart_by_supervisord(root))
        self.user = user
        self.port = port
        self.threads = threads
        self.control = control or UnboundControl(root)
        #: One change at a time (settings or addresses): each reads what the one before left.
        self.lock = threading.Lock()

    def listening(self) -> list[str] | None:
        """The addresses of the unbound.conf in use (None: every address, through
        interface-automatic); this machine's when there is none yet."""
        if not self.root.unbound_conf.exists():
            return self.read_addresses()
        return conf_addresses(self.root.unbound_conf.read_text())

    def settings(self) -> CachingSettings:
        return CachingSettings.load(self.root.caching_settings)

    def put_settings(self, settings: CachingSettings) -> CachingSettings:
        """Make Unbound use ``settings``; on any failure the previous settings stay in use."""
        self._refuse_loops(settings)
        with self.lock:
            old_settings = _read(self.root.caching_settings)
            old_conf = _read(self.root.unbound_conf)
            # Refused here (ValidationError, 422): nothing was written. The addresses stay
            # those Unbound listens on: a reload does not listen anew.
            self._write(settings, self.listening())
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

    def _write(self, settings: CachingSettings, addresses: list[str] | None) -> None:
        write_config(
            self.root,
            settings,
            threads=self.threads,
            port=self.port,
            user=self.user,
            addresses=addresses or [],
        )

    def follow_addresses(self) -> bool:
        """If this machine's addresses are no longer those Unbound listens on: unbound.conf
        rendered for them and Unbound restarted with its cache. True when it was."""
        with self.lock:
            now = self.read_addresses()
            if not now:
                return False  # not readable: Unbound stays as it is
            before = self.listening()
            if before is not None and listen_order(before) == listen_order(now):
                return False
            old_conf = _read(self.root.unbound_conf)
            self._write(self.settings(), now)
            log.info("the appliance's addresses changed: Unbound listens on %s", ", ".join(now))
            try:
                self._restart_keeping_cache()
            except (BurrowError, OSError, subprocess.SubprocessError, xmlrpc.client.Fault) as exc:
                log.error("Unbound did not start on the new addresses, putting back: %s", exc)
                _put(self.root.unbound_conf, old_conf, 0o644)
                self._restart_keeping_cache()
                raise
            return True

    def _restart_keeping_cache(self) -> None:
        """Restart Unbound (it listens anew only when it starts); its cache dumped to a file
        before and loaded back once it answers again. A cache that cannot be dumped or loaded
        is logged and left: Unbound fills it again from the forwarders."""
        dump = self.root.run / "unbound-cache.dump"
        try:
            with dump.open("w") as out:
                dump.chmod(0o600)
                argv = ["unbound-control", "-c", str(self.root.unbound_conf), "dump_cache"]
                dumped = subprocess.run(argv, stdout=out, check=False, timeout=120).returncode == 0
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("Unbound's cache was not dumped: %s", exc)
            dumped = False
        try:
            self.restart()
            self.control.wait_up(timeout=60)
            if dumped:
                with dump.open() as source:
                    argv = ["unbound-control", "-c", str(self.root.unbound_conf), "load_cache"]
                    loaded = subprocess.run(
                        argv, stdin=source, capture_output=True, text=True, timeout=120
                    )
                if loaded.returncode != 0:
                    log.warning("Unbound's cache was not loaded back: %s", loaded.stdout.strip())
        finally:
            dump.unlink(missing_ok=True)

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
