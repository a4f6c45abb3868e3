"""``/dhcp/ddns``: which zones Kea's DHCP-DDNS server updates (services.common.dhcp.ddns).

A change is checked whole before anything moves: the keys must be on the appliance's DNS
server, D2 must pass its own ``config-test``. Then Kea's connection to D2 is switched on or off
in both daemons (config-test, config-set, config-write, each put back if a later step fails),
D2 takes its new configuration (``config-set``), and its file and the settings are written.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi import APIRouter

from services.common.dhcp import ddns
from services.common.dhcp.ddns import DdnsSettings
from services.common.dhcp.options import Family
from services.common.errors import BurrowError
from services.common.paths import StateRoot
from services.dhcp.changes import ConfigEditor
from services.dns.keys import KeyStore


def _switch(enabled: bool) -> Any:
    def edit(config: dict[str, Any]) -> None:
        connection = config.setdefault("dhcp-ddns", {})
        connection["enable-updates"] = enabled
        connection.setdefault("server-ip", ddns.D2_ADDRESS)
        connection.setdefault("server-port", ddns.D2_PORT)

    return edit


def ddns_router(root: StateRoot, editor: ConfigEditor) -> APIRouter:
    api = APIRouter(prefix="/dhcp/ddns")
    lock = threading.Lock()

    @api.get("")
    def get_ddns() -> DdnsSettings:
        return ddns.load(root)

    @api.put("")
    def put_ddns(settings: DdnsSettings) -> DdnsSettings:
        with lock:
            keys = KeyStore(root).load()
            if problem := ddns.missing_keys(settings, keys):
                raise problem
            config = ddns.d2_config(root, settings, keys)
            ddns.command(root, "config-test", config)
            switched: list[Family] = []
            try:
                families: tuple[Family, ...] = ("v4", "v6")
                for family in families:
                    result = editor.apply(family, _switch(settings.enabled), field="enabled")
                    if result.changed:
                        switched.append(family)
                ddns.command(root, "config-set", config)
            except BurrowError:
                for family in switched:  # put Kea's connection back as it was
                    editor.apply(family, _switch(not settings.enabled), field="enabled")
                raise
            path = ddns.config_path(root)
            group = os.stat(path).st_gid if path.exists() else None
            ddns.write_config(root, config, group)
            ddns.save(root, settings)
            return settings

    return api
