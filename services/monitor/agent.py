"""The SNMP agent (pysnmp, asyncio): v2c communities with source networks, v3 users authPriv.

Every ``COLLECT_SECONDS`` the figures are collected (in a thread: the sources block) and a new
``MibView`` replaces the old one whole, so a walk never mixes two collections' rows within one
request. The figures are also written to ``run/burrow/figures.json`` for Central's
``/metrics``. When ``monitoring.json`` changes, the SNMP engine is made again from it: a
community or user removed stops working at once.

With no community and no user (a new appliance) the agent answers no one, and so it does not
listen at all: pysnmp's engine, its MIB modules and its transports are loaded only when the
first community or user is set (some 7 MB of memory that an appliance not watched over SNMP
never needs). The figures are collected all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common import ntp
from services.common.figures import Figures
from services.common.files import write_json
from services.common.monitoring import AuthProtocol, MonitoringSettings, PrivProtocol
from services.common.paths import StateRoot
from services.common.supervisor import SupervisorView
from services.common.syslog import PROGRAM as SYSLOG_PROGRAM
from services.common.syslog import log_names, write_config
from services.monitor.collect import Collector

if TYPE_CHECKING:
    from services.monitor.mib import MibView

log = logging.getLogger(__name__)

COLLECT_SECONDS = 5.0
SETTINGS_POLL_SECONDS = 1.0
#: Everything under iso.org.dod.internet (MIB-II, BURROW-MIB) is readable by every configured
#: community and user: the agent serves nothing secret and nothing writable.
READ_VIEW = (1, 3, 6, 1)


def auth_protocol(protocol: AuthProtocol) -> Any:
    """pysnmp's identifier of an SNMPv3 authentication protocol."""
    from pysnmp.entity import config

    return {
        AuthProtocol.SHA224: config.USM_AUTH_HMAC128_SHA224,
        AuthProtocol.SHA256: config.USM_AUTH_HMAC192_SHA256,
        AuthProtocol.SHA384: config.USM_AUTH_HMAC256_SHA384,
        AuthProtocol.SHA512: config.USM_AUTH_HMAC384_SHA512,
    }[protocol]


def priv_protocol(protocol: PrivProtocol) -> Any:
    """pysnmp's identifier of an SNMPv3 privacy protocol."""
    from pysnmp.entity import config

    return {
        PrivProtocol.AES128: config.USM_PRIV_CFB128_AES,
        PrivProtocol.AES192: config.USM_PRIV_CFB192_AES_BLUMENTHAL,
        PrivProtocol.AES256: config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    }[protocol]


def answers_someone(settings: MonitoringSettings) -> bool:
    """Whether any community or user of ``settings`` can be answered."""
    return any(c.community for c in settings.communities) or any(
        u.auth_passphrase and u.priv_passphrase for u in settings.users
    )


FiguresHook = Callable[[Figures, MonitoringSettings, "SnmpAgent"], Awaitable[None]]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return 0.0


def _give_back_memory() -> None:
    """Return the heap freed after start-up (imports, pydantic's schemas) to the system: the
    appliance's idle memory is counted (glibc's malloc_trim; nothing elsewhere)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


class SnmpAgent:
    """One appliance's SNMP agent and figure collector."""

    def __init__(self, root: StateRoot, *, address: str = "0.0.0.0") -> None:
        self.root = root
        self.address = address
        self.collector = Collector(root)
        self.settings = MonitoringSettings.load(root.monitoring_settings)
        self.figures = Figures()
        self.view: MibView | None = None  # built while the engine is open
        self.engine: Any = None  # pysnmp's SnmpEngine, while SNMP is served
        self.started = time.monotonic()
        self.hooks: list[FiguresHook] = []

    # --- the view ----------------------------------------------------------------------------
    def uptime_ticks(self) -> int:
        return int((time.monotonic() - self.started) * 100)

    def current_view(self) -> MibView:
        assert self.view is not None  # the engine asks only while it is open, with a view
        return self.view

    def build_view(self) -> None:
        from services.monitor.mib import MibView

        self.view = MibView.build(self.figures, self.settings, self.uptime_ticks())

    async def refresh(self) -> None:
        self.figures = await asyncio.to_thread(self.collector.collect)
        if self.engine is not None:
            self.build_view()
        try:
            await asyncio.to_thread(
                write_json, self.root.figures, self.figures.model_dump(mode="json"), mode=0o600
            )
        except OSError as exc:
            log.warning("could not write %s: %s", self.root.figures, exc)
        for hook in self.hooks:
            try:
                await hook(self.figures, self.settings, self)
            except Exception:  # a notification that fails must not stop the agent
                log.exception("notification check failed")

    # --- the engine --------------------------------------------------------------------------
    def open_engine(self) -> None:
        settings = self.settings
        if not answers_someone(settings):
            log.info("SNMP: no community and no user: not listening")
            return
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import cmdrsp, context

        from services.monitor.instrum import ViewInstrum

        # The system group's location and contact come from the settings: the view that the
        # new engine serves shows the current ones from its first answer.
        self.build_view()
        snmp = engine.SnmpEngine()
        config.add_transport(
            snmp,
            udp.DOMAIN_NAME,
            udp.UdpTransport().open_server_mode((self.address, settings.snmp_port)),
        )
        networks = {}
        for community in settings.communities:
            if not community.community:
                continue
            config.add_v1_system(snmp, community.name, community.community)
            config.add_vacm_user(snmp, 2, community.name, "noAuthNoPriv", readSubTree=READ_VIEW)
            networks[community.name] = list(community.networks)
        for user in settings.users:
            if not (user.auth_passphrase and user.priv_passphrase):
                continue
            config.add_v3_user(
                snmp,
                user.name,
                auth_protocol(user.auth_protocol),
                user.auth_passphrase,
                priv_protocol(user.priv_protocol),
                user.priv_passphrase,
            )
            config.add_vacm_user(snmp, 3, user.name, "authPriv", readSubTree=READ_VIEW)
        snmp_context = context.SnmpContext(snmp)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", ViewInstrum(self.current_view, networks))
        cmdrsp.GetCommandResponder(snmp, snmp_context)
        cmdrsp.NextCommandResponder(snmp, snmp_context)
        cmdrsp.BulkCommandResponder(snmp, snmp_context)
        self.engine = snmp
        log.info(
            "SNMP on udp %s:%d: %d communities, %d users",
            self.address,
            settings.snmp_port,
            len(networks),
            len(settings.users),
        )

    def close_engine(self) -> None:
        if self.engine is not None:
            with contextlib.suppress(Exception):
                self.engine.close_dispatcher()
            self.engine = None

    # --- running -----------------------------------------------------------------------------
    async def _collect_forever(self) -> None:
        while True:
            await asyncio.sleep(COLLECT_SECONDS)
            try:
                await self.refresh()
            except Exception:
                log.exception("collection failed")

    async def _watch_settings(self) -> None:
        path = self.root.monitoring_settings
        seen = _mtime(path)
        while True:
            await asyncio.sleep(SETTINGS_POLL_SECONDS)
            now = _mtime(path)
            if now == seen:
                continue
            seen = now
            try:
                settings = MonitoringSettings.load(path)
            except (OSError, ValueError) as exc:
                log.error("%s is not valid, keeping the previous settings: %s", path, exc)
                continue
            if settings.syslog != self.settings.syslog:
                await asyncio.to_thread(self.apply_syslog, settings)
            if settings.ntp_servers != self.settings.ntp_servers:
                await asyncio.to_thread(self.apply_ntp, settings)
            self.settings = settings
            self.close_engine()
            await asyncio.sleep(0)  # let the old socket close before binding again
            self.open_engine()

    def restart(self, program: str) -> None:
        """Restart ``program`` through supervisord so that it reads its new configuration."""
        supervisor = SupervisorView(self.root.supervisor_socket, timeout=20.0)
        if program not in supervisor.states():
            log.warning("there is no %s program: its settings are not applied", program)
            return
        if supervisor.process(program)["statename"] == "RUNNING":
            supervisor.call("supervisor.stopProcess", program, True)
        supervisor.call("supervisor.startProcess", program, True)

    def apply_syslog(self, settings: MonitoringSettings) -> None:
        """Write rsyslog's configuration and restart the syslog program to take it."""
        try:
            programs = [str(p["name"]) for p in self.collector.supervisor.processes()]
            if write_config(self.root, settings, log_names(programs), self.figures.hostname):
                self.restart(SYSLOG_PROGRAM)
                log.info("remote syslog: %d receivers", len(settings.syslog))
        except Exception:
            log.exception("could not apply the syslog settings")

    def apply_ntp(self, settings: MonitoringSettings) -> None:
        """Write chrony's configuration and restart the chrony program to take it."""
        try:
            appliance = json.loads(self.root.appliance_settings.read_text())
            interface = str(appliance.get("interface", ""))
            if ntp.write_config(self.root, settings.ntp_servers, interface):
                self.restart(ntp.PROGRAM)
                log.info("NTP servers: %s", ", ".join(settings.ntp_servers) or "none")
        except Exception:
            log.exception("could not apply the NTP settings")

    async def serve_forever(self) -> None:
        await self.refresh()
        self.open_engine()
        _give_back_memory()
        try:
            await asyncio.gather(self._collect_forever(), self._watch_settings())
        finally:
            self.close_engine()
