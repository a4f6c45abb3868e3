"""Every path of an appliance, derived from one state root (DESIGN.md section 3).

A real appliance uses ``/``; a sandbox or a test uses another directory, so that
several appliances run side by side on one machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StateRoot:
    """The directories and files of one appliance, all below ``root``."""

    root: Path

    @classmethod
    def at(cls, root: str | Path) -> StateRoot:
        return cls(Path(root).resolve())

    # --- appliance settings -------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.root / "etc/burrow"

    @property
    def appliance_settings(self) -> Path:
        return self.etc / "appliance.json"

    @property
    def supervisord_conf(self) -> Path:
        return self.etc / "supervisord.conf"

    @property
    def monitoring_settings(self) -> Path:
        """SNMP and metrics settings (services.common.monitoring); holds secrets."""
        return self.etc / "monitoring.json"

    @property
    def fleet_join_seed(self) -> Path:
        """The fleet to join given at first boot, for Central (central.fleet.seed); holds the
        one-time join code until the join is done or refused."""
        return self.etc / "fleet-join.json"

    @property
    def fleet_join_state(self) -> Path:
        """How the first boot's fleet join went (central.fleet.seed); no secret."""
        return self.lib / "fleet-join-state.json"

    # --- Burrow's own state -------------------------------------------------
    @property
    def lib(self) -> Path:
        return self.root / "var/lib/burrow"

    @property
    def pki(self) -> Path:
        return self.lib / "pki"

    @property
    def service_events(self) -> Path:
        return self.lib / "service-events.jsonl"

    @property
    def secrets(self) -> Path:
        return self.lib / "secrets"

    @property
    def logs(self) -> Path:
        return self.root / "var/log/burrow"

    @property
    def run(self) -> Path:
        """Run-time files (pid files, sockets); cleared at every start."""
        return self.root / "run/burrow"

    @property
    def network_ready(self) -> Path:
        """Written by burrow-firstboot once this boot's network is set (on an appliance
        ``/run``, a tmpfs: gone at the next boot); burrow-launch waits for it. Not under
        ``run``, which burrow-launch clears at every start."""
        return self.root / "run/burrow-network-ready"

    @property
    def supervisor_socket(self) -> Path:
        return self.run / "supervisor.sock"

    @property
    def figures(self) -> Path:
        """The monitor program's latest figures (services.common.figures), for /metrics."""
        return self.run / "figures.json"

    # --- BIND ---------------------------------------------------------------
    @property
    def bind_etc(self) -> Path:
        return self.root / "etc/bind"

    @property
    def named_conf(self) -> Path:
        return self.bind_etc / "named.conf"

    @property
    def bind_lib(self) -> Path:
        """Zone files and journals: named writes here."""
        return self.root / "var/lib/bind"

    @property
    def bind_keys(self) -> Path:
        """DNSSEC keys of signed zones (named makes and rolls them; kept in backups)."""
        return self.bind_lib / "keys"

    @property
    def bind_cache(self) -> Path:
        return self.root / "var/cache/bind"

    @property
    def rndc_key(self) -> Path:
        return self.bind_etc / "rndc.key"

    @property
    def rndc_conf(self) -> Path:
        return self.bind_etc / "rndc.conf"

    @property
    def tsig_key(self) -> Path:
        return self.bind_etc / "burrow-tsig.key"

    @property
    def named_run(self) -> Path:
        return self.root / "run/named"

    # --- Unbound (the caching appliance) -------------------------------------
    @property
    def unbound_etc(self) -> Path:
        return self.root / "etc/unbound"

    @property
    def unbound_conf(self) -> Path:
        """Rendered from ``caching_settings`` (services.common.caching.conf); never edited."""
        return self.unbound_etc / "unbound.conf"

    @property
    def unbound_lib(self) -> Path:
        """The root trust anchor Unbound keeps up to date (RFC 5011): Unbound writes here."""
        return self.root / "var/lib/burrow/unbound"

    @property
    def caching_settings(self) -> Path:
        """The caching DNS server's settings (services.common.caching.contract); backed up."""
        return self.unbound_lib / "settings.json"

    @property
    def unbound_trust_anchor(self) -> Path:
        return self.unbound_lib / "root.key"

    @property
    def unbound_control_socket(self) -> Path:
        """unbound-control's channel: a unix socket only root and Unbound's group reach."""
        return self.run / "unbound.ctl"

    # --- Kea ----------------------------------------------------------------
    @property
    def kea_etc(self) -> Path:
        return self.root / "etc/kea"

    @property
    def kea_lib(self) -> Path:
        """Lease files: persistent."""
        return self.root / "var/lib/kea"

    @property
    def kea_run(self) -> Path:
        return self.root / "run/kea"

    @property
    def kea_logs(self) -> Path:
        """Kea's lease logs (a line per lease event, written by Kea itself, not supervisord)."""
        return self.logs / "kea"

    def kea_conf(self, daemon: str) -> Path:
        """Configuration file of ``dhcp4``, ``dhcp6`` or ``ctrl-agent``."""
        return self.kea_etc / f"kea-{daemon}.conf"

    @property
    def kea_ha_tls(self) -> Path:
        """The HA partner's TLS files (key, certificate, the pair's CA), readable by Kea."""
        return self.kea_etc / "ha"

    def kea_socket(self, daemon: str) -> Path:
        return self.kea_run / f"kea-{daemon}-ctrl.sock"

    @property
    def console_client_key(self) -> Path:
        """Shared by the web console and Central: with it the console says which address a
        login came from (Central's failed-login lock-out counts per user and address)."""
        return self.secrets / "console-client.key"

    @property
    def kea_api_password(self) -> Path:
        return self.secrets / "kea-api-password"

    def all_dirs(self) -> list[Path]:
        return [
            self.etc,
            self.lib,
            self.pki,
            self.secrets,
            self.logs,
            self.run,
            self.bind_etc,
            self.bind_lib,
            self.bind_cache,
            self.named_run,
            self.kea_etc,
            self.kea_lib,
            self.kea_run,
            self.kea_logs,
        ]

    def make_dirs(self) -> None:
        """Make every directory of ``all_dirs`` that is missing, reachable by every program
        whatever the caller's umask (named and Kea walk into them as their own users; what is
        secret in them has a mode of its own)."""
        previous = os.umask(0o022)
        try:
            for directory in self.all_dirs():
                directory.mkdir(parents=True, exist_ok=True)
        finally:
            os.umask(previous)
