"""DNS updates from DHCP: Kea's DHCP-DDNS server (kea-dhcp-ddns, "D2") on the appliance.

Kea's DHCP servers send a name change request to D2 (127.0.0.1, UDP 53001) for every lease a
scope with ``ddns-send-updates`` gives or takes back; D2 turns it into a dynamic update (RFC
2136) of the forward zone (A/AAAA and a DHCID record, RFC 4701) and the reverse zone (PTR),
signed with a TSIG key, to the appliance's own named. Which zones D2 updates, with which key,
is the appliance's DDNS settings (``var/lib/burrow/ddns.json``, no secret): the dhcp-agent
writes D2's configuration from them and from the key's secret, which the dns-agent holds
(``etc/bind/burrow-keys.json``); burrow-launch writes it again at every start, so a restored
backup comes back with its DNS updates.

A scope takes part through Kea's own parameters (``ddns-send-updates``,
``ddns-qualifying-suffix``, ``ddns-override-client-update``, ``ddns-replace-client-name``,
``ddns-use-conflict-resolution`` ...: a scope's ``extra``); Kea's ``dhcp-ddns`` connection to
D2 is switched on while any zone is configured.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from typing import Any

from pydantic import Field, field_validator, model_validator

from services.common.dns.options import field_errors
from services.common.dns.tsig import TsigKeyInstall
from services.common.errors import DaemonError, FieldProblem, ValidationError
from services.common.files import read_json, write_atomic, write_json
from services.common.model import Input
from services.common.paths import StateRoot

log = logging.getLogger(__name__)

#: Where D2 listens for Kea's name change requests (Kea's default, 127.0.0.1 only).
D2_ADDRESS = "127.0.0.1"
D2_PORT = 53001
#: The supervisord program.
PROGRAM = "kea-dhcp-ddns"
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class DdnsZone(Input):
    """One zone D2 updates, and the TSIG key (made through Central) it signs with."""

    zone: str = Field(min_length=2, max_length=255, description="absolute name, e.g. dyn.example.")
    key: str = Field(min_length=1, max_length=63, description="a TSIG key of the DNS server")

    @field_validator("zone")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.endswith(".") or not all(_LABEL.match(p) for p in value[:-1].split(".")):
            raise ValueError("must be an absolute zone name with its final dot (dyn.example.)")
        return value.lower()


class DdnsSettings(Input):
    """The zones D2 updates: ``forward`` (A/AAAA, DHCID) and ``reverse`` (PTR). Both empty:
    no DNS updates (D2 runs, idle; Kea's connection to it is off)."""

    forward: list[DdnsZone] = Field(default=[], max_length=64)
    reverse: list[DdnsZone] = Field(default=[], max_length=64)

    @model_validator(mode="after")
    def _distinct(self) -> DdnsSettings:
        problems: list[tuple[str, str]] = []
        for side in ("forward", "reverse"):
            seen: set[str] = set()
            for index, item in enumerate(getattr(self, side)):
                reverse = item.zone.endswith((".in-addr.arpa.", ".ip6.arpa."))
                if item.zone in seen:
                    problems.append((f"{side}.{index}.zone", f"{item.zone} is given twice"))
                elif side == "reverse" and not reverse:
                    problems.append((f"{side}.{index}.zone", "a reverse zone ends in "
                                     ".in-addr.arpa. or .ip6.arpa."))  # fmt: skip
                elif side == "forward" and reverse:
                    problems.append((f"{side}.{index}.zone", "a reverse zone goes in reverse"))
                seen.add(item.zone)
        if problems:
            raise field_errors("DdnsSettings", problems)
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.forward or self.reverse)

    def keys(self) -> list[str]:
        return sorted({item.key for item in (*self.forward, *self.reverse)})


def settings_path(root: StateRoot) -> Any:
    return root.lib / "ddns.json"


def config_path(root: StateRoot) -> Any:
    return root.kea_etc / "kea-dhcp-ddns.conf"


def control_socket(root: StateRoot) -> Any:
    return root.kea_run / "kea-ddns-ctrl.sock"


def load(root: StateRoot) -> DdnsSettings:
    path = settings_path(root)
    if not path.exists():
        return DdnsSettings()
    return DdnsSettings.model_validate(read_json(path))


def save(root: StateRoot, settings: DdnsSettings) -> None:
    write_json(settings_path(root), settings.model_dump(mode="json"), mode=0o640)


def missing_keys(settings: DdnsSettings, keys: dict[str, TsigKeyInstall]) -> ValidationError | None:
    """The settings' keys the DNS server does not hold, each named at its place."""
    problems = [
        (f"{side}[{index}].key", f"the DNS server has no TSIG key {item.key}")
        for side in ("forward", "reverse")
        for index, item in enumerate(getattr(settings, side))
        if item.key not in keys
    ]
    if not problems:
        return None
    return ValidationError(
        f"{problems[0][0]}: {problems[0][1]}",
        problems=[FieldProblem(field, message) for field, message in problems],
    )


def d2_config(
    root: StateRoot, settings: DdnsSettings, keys: dict[str, TsigKeyInstall]
) -> dict[str, Any]:
    """D2's configuration (``{"DhcpDdns": ...}``): its listener, its control socket, the keys
    the settings name and one domain per zone, served by the appliance's named."""

    def domains(items: list[DdnsZone]) -> dict[str, Any]:
        return {
            "ddns-domains": [
                {
                    "name": item.zone,
                    "key-name": item.key,
                    "dns-servers": [{"ip-address": "127.0.0.1", "port": 53}],
                }
                for item in items
                if item.key in keys
            ]
        }

    return {
        "DhcpDdns": {
            "ip-address": D2_ADDRESS,
            "port": D2_PORT,
            "dns-server-timeout": 500,
            "control-socket": {"socket-type": "unix", "socket-name": str(control_socket(root))},
            "tsig-keys": [
                {
                    "name": name,
                    "algorithm": keys[name].algorithm.upper(),
                    "secret": keys[name].secret,
                }
                for name in settings.keys()
                if name in keys
            ],
            "forward-ddns": domains(settings.forward),
            "reverse-ddns": domains(settings.reverse),
            "loggers": [
                {
                    "name": "kea-dhcp-ddns",
                    "severity": "INFO",
                    "output_options": [{"output": "stdout"}],
                }
            ],
        }
    }


def write_config(root: StateRoot, config: dict[str, Any], group: int | None = None) -> None:
    """D2's configuration file (0640: the keys' secrets; group ``_kea``, which D2 runs as)."""
    path = config_path(root)
    write_atomic(path, json.dumps(config, indent=2) + "\n", mode=0o640)
    if group is not None:
        os.chown(path, 0, group)


def command(root: StateRoot, name: str, arguments: Any = None, timeout: float = 10.0) -> Any:
    """One command to D2 over its control socket; its answer (``result`` 0 or raises)."""
    message: dict[str, Any] = {"command": name}
    if arguments is not None:
        message["arguments"] = arguments
    chunks: list[bytes] = []
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(str(control_socket(root)))
            conn.sendall(json.dumps(message).encode())
            while data := conn.recv(1 << 16):
                chunks.append(data)
    except OSError as exc:
        raise DaemonError(
            f"Kea's DHCP-DDNS server cannot be reached: {exc.strerror or exc}.",
            hint=f"check that {PROGRAM} is running (supervisorctl status)",
        ) from exc
    answer = json.loads(b"".join(chunks) or b"{}")
    if answer.get("result") != 0:
        raise DaemonError(
            f"Kea's DHCP-DDNS server refused {name}: {answer.get('text', 'no answer')}."
        )
    return answer
