"""First boot of the appliance image, its network at every boot, and its console.

``python -m services.appliance.firstboot COMMAND --root /`` with COMMAND one of:

``boot``
    Run by burrow-firstboot.service before burrow.service. At the first boot (no
    ``etc/burrow/appliance.json`` yet) it takes the network settings and the administrator
    password from, in this order: the kernel command line (``burrow.*`` parameters), a
    cloud-init NoCloud seed (a disk labelled ``cidata`` with ``meta-data``, ``user-data``,
    ``network-config``), or, with none given, DHCP on the first interface. It keeps what it
    chose in ``etc/burrow/firstboot.json`` (mode 0600; ``admin_password`` is read from there
    by Central) and writes ``etc/burrow/appliance.json``. At every boot it applies the
    network settings: addresses and the default route with pyroute2, DHCP with dhclient.

The banner and the screen of tty1 are services.appliance.console's; its menu to change the
network settings (``menu``, ``change_network``) is here.

Kernel command line parameters (all optional; any one of them means "use the command line"):
``burrow.address=ADDR/PREFIX`` (or ``dhcp``), ``burrow.gateway=ADDR``,
``burrow.dns=ADDR[,ADDR…]``, ``burrow.hostname=NAME``, ``burrow.interface=NAME``
(default: the first interface), ``burrow.password=PASSWORD`` (visible in /proc/cmdline to
local users: prefer the NoCloud seed for passwords), ``burrow.ntp=SERVER[,SERVER…]``,
``burrow.snmp_community=SECRET`` with ``burrow.snmp_networks=NETWORK[,NETWORK…]`` (a v2c
community named ``firstboot``; as visible as the password), ``burrow.fleet_address=ADDR``
with ``burrow.fleet_fingerprint=AA:BB:…``, ``burrow.fleet_code=CODE`` and optionally
``burrow.fleet_port=PORT`` (a fleet to join once Central is up; the code as visible as the
password).

In a NoCloud seed's user-data, ``burrow: monitoring:`` takes the whole monitoring document of
``PUT /api/v1/monitoring`` (communities, SNMPv3 users, receivers, syslog, NTP servers; see
docs/monitoring.md). The monitoring settings are written once, at the first boot, and only
when they are valid as a whole. ``burrow: fleet:`` (``address``, ``port``, ``ca_fingerprint``,
``code``) is a fleet to join: handed to Central in ``etc/burrow/fleet-join.json`` (0600),
which joins it once it is up (central.fleet.seed); firstboot.json keeps no code.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from services.common import profile
from services.common.errors import BurrowError, ValidationError
from services.common.files import read_json, write_atomic, write_json
from services.common.paths import StateRoot
from services.common.settings import HOSTNAME_LABEL, ApplianceSettings

if TYPE_CHECKING:
    from services.common.monitoring import MonitoringSettings

# YAML (a NoCloud seed) and the monitoring settings' models load only when a seed or the
# command line gives them: at an ordinary first boot (DHCP) this program runs before
# everything else and each import is seconds under software emulation.

log = logging.getLogger(__name__)

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SEED_FILES = ("meta-data", "user-data", "network-config")
SEED_LABELS = ("cidata", "CIDATA")
#: user-data keys under ``burrow:`` that go into appliance.json as they are.
SETTINGS_KEYS = ("dhcp_interfaces", "seed_zone", "seed_subnet4", "seed_subnet6", "address6")
#: Those of a DNS/DHCP appliance only: a caching appliance (profile ``caching``) serves no DHCP
#: and no zone of its own, and leaves them out of its settings, saying so in its log.
NOT_ON_CACHING = ("dhcp_interfaces", "seed_zone", "seed_subnet4", "seed_subnet6")
INTERFACE_WAIT = 30.0


class InterfaceConfig(BaseModel):
    """One interface: DHCP, or static addresses."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=15)
    dhcp: bool = False
    addresses: list[IPInterface] = []


class FleetSeed(BaseModel):
    """The fleet to join once Central is up: the managing Central and its one-time code."""

    model_config = ConfigDict(extra="forbid")
    address: IPAddress
    port: int = Field(default=1231, ge=1, le=65535)
    ca_fingerprint: str = Field(pattern=r"^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$")
    #: Handed to Central (``etc/burrow/fleet-join.json``) and not kept in firstboot.json.
    code: str = Field(default="", max_length=200)


class FirstBoot(BaseModel):
    """What the first boot chose; kept in ``etc/burrow/firstboot.json``."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["cmdline", "nocloud", "console", "default"]
    hostname: str = Field(default="burrow", pattern=HOSTNAME_LABEL)
    interface: str = Field(min_length=1, max_length=15)
    interfaces: list[InterfaceConfig]
    gateway: ipaddress.IPv4Address | None = None
    resolvers: list[IPAddress] = []
    admin_password: str | None = None
    settings: dict[str, Any] = {}
    #: The monitoring settings given at first boot (services.common.monitoring), as given.
    monitoring: dict[str, Any] = {}
    #: A fleet to join (central.fleet.seed).
    fleet: FleetSeed | None = None

    def management(self) -> InterfaceConfig:
        for item in self.interfaces:
            if item.name == self.interface:
                return item
        raise ValidationError(f"interface {self.interface} has no settings", field="interface")


def _field(loc: tuple[int | str, ...]) -> str:
    """The field a pydantic error names, without the union-member tags it adds."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part[:1].isupper()):
            break
        parts.append(str(part))
    return ".".join(parts)


def _validated(model: type[FirstBoot], data: dict[str, Any], origin: str) -> FirstBoot:
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        first = exc.errors()[0]
        field = _field(first["loc"])
        raise ValidationError(f"{origin}: {field}: {first['msg']}", field=field) from None


# --- the kernel command line ---------------------------------------------------
def parse_cmdline(cmdline: str, first_interface: str) -> FirstBoot | None:
    """Settings from ``burrow.*`` kernel parameters; None when there are none."""
    params: dict[str, str] = {}
    for word in shlex.split(cmdline):
        key, sep, value = word.partition("=")
        if key.startswith("burrow.") and sep:
            params[key.removeprefix("burrow.")] = value
    if not params:
        return None
    known = {"address", "gateway", "dns", "hostname", "interface", "password", "ntp",
             "snmp_community", "snmp_networks", *FLEET_PARAMS}  # fmt: skip
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationError(
            f"unknown kernel parameter burrow.{unknown[0]}", field=f"burrow.{unknown[0]}"
        )
    name = params.get("interface", first_interface)
    address = params.get("address", "dhcp")
    iface: dict[str, Any] = {"name": name}
    if address == "dhcp":
        iface["dhcp"] = True
    else:
        if "/" not in address:
            raise ValidationError(
                "burrow.address needs a prefix length, e.g. 198.51.100.10/24",
                field="burrow.address",
            )
        iface["addresses"] = [address]
    data: dict[str, Any] = {
        "source": "cmdline",
        "interface": name,
        "interfaces": [iface],
        "gateway": params.get("gateway") or None,
        "resolvers": [r for r in params.get("dns", "").split(",") if r],
        "admin_password": params.get("password") or None,
        "monitoring": _cmdline_monitoring(params),
        "fleet": _cmdline_fleet(params),
    }
    if "hostname" in params:
        data["hostname"] = params["hostname"]
    _check_fleet(data["fleet"], "kernel command line")
    return _validated(FirstBoot, data, "kernel command line")


#: ``burrow.fleet_*`` kernel parameters -> the fleet seed's keys.
FLEET_PARAMS = {
    "fleet_address": "address",
    "fleet_port": "port",
    "fleet_fingerprint": "ca_fingerprint",
    "fleet_code": "code",
}


def _cmdline_fleet(params: Mapping[str, str]) -> dict[str, Any] | None:
    given = {key: params[name] for name, key in FLEET_PARAMS.items() if name in params}
    if not given:
        return None
    for name, key in FLEET_PARAMS.items():
        if key != "port" and key not in given:
            raise ValidationError(
                f"burrow.fleet_* needs burrow.{name} as well", field=f"burrow.{name}"
            )
    return given


def _check_fleet(given: Any, origin: str) -> None:
    """The fleet seed complete: a code to hand over (firstboot.json keeps none)."""
    if given is not None and not (isinstance(given, dict) and given.get("code")):
        raise ValidationError(f"{origin}: fleet: code: a join code is needed", field="fleet.code")


# --- cloud-init NoCloud ------------------------------------------------------------
def _yaml(text: str, what: str) -> dict[str, Any]:
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"the seed's {what} is not valid YAML: {exc}", field=what) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"the seed's {what} must be a mapping", field=what)
    return value


def _name_for(spec: Mapping[str, Any], key: str, macs: Mapping[str, str]) -> str:
    """The kernel's name of an interface given by name or by MAC address."""
    mac = spec.get("macaddress") or spec.get("mac_address")
    if mac:
        for name, have in macs.items():
            if have.lower() == str(mac).lower():
                return name
        raise ValidationError(f"network-config: no interface has MAC address {mac}", field=key)
    name = spec.get("name") or key
    return str(name)


def _v2(config: Mapping[str, Any], macs: Mapping[str, str]) -> dict[str, Any]:
    interfaces: list[dict[str, Any]] = []
    gateway: str | None = None
    gateway_iface: str | None = None
    resolvers: list[str] = []
    for key, spec in (config.get("ethernets") or {}).items():
        spec = spec or {}
        name = _name_for(spec.get("match") or {"name": key}, key, macs)
        item: dict[str, Any] = {"name": name, "dhcp": bool(spec.get("dhcp4"))}
        item["addresses"] = [str(a) for a in spec.get("addresses") or []]
        gw = spec.get("gateway4")
        for route in spec.get("routes") or []:
            if str(route.get("to")) in ("default", "0.0.0.0/0"):
                gw = route.get("via")
        if gw and gateway is None:
            gateway, gateway_iface = str(gw), name
        resolvers += [str(r) for r in (spec.get("nameservers") or {}).get("addresses") or []]
        interfaces.append(item)
    return {
        "interfaces": interfaces,
        "gateway": gateway,
        "resolvers": resolvers,
        "gateway_interface": gateway_iface,
    }


def _v1(config: Mapping[str, Any], macs: Mapping[str, str]) -> dict[str, Any]:
    interfaces: list[dict[str, Any]] = []
    gateway: str | None = None
    gateway_iface: str | None = None
    resolvers: list[str] = []
    for entry in config.get("config") or []:
        kind = entry.get("type")
        if kind == "nameserver":
            resolvers += [str(a) for a in entry.get("address") or []]
            continue
        if kind != "physical":
            continue
        name = _name_for(entry, str(entry.get("name", "")), macs)
        item: dict[str, Any] = {"name": name, "dhcp": False, "addresses": []}
        for subnet in entry.get("subnets") or []:
            if subnet.get("type") in ("dhcp", "dhcp4"):
                item["dhcp"] = True
            elif subnet.get("type") in ("static", "static4"):
                address = str(subnet.get("address", ""))
                if "/" not in address and subnet.get("netmask"):
                    address = f"{address}/{subnet['netmask']}"
                item["addresses"].append(address)
                if subnet.get("gateway") and gateway is None:
                    gateway, gateway_iface = str(subnet["gateway"]), name
                resolvers += [str(a) for a in subnet.get("dns_nameservers") or []]
        interfaces.append(item)
    return {
        "interfaces": interfaces,
        "gateway": gateway,
        "resolvers": resolvers,
        "gateway_interface": gateway_iface,
    }


def _cmdline_monitoring(params: Mapping[str, str]) -> dict[str, Any]:
    monitoring: dict[str, Any] = {}
    if params.get("ntp"):
        monitoring["ntp_servers"] = [s for s in params["ntp"].split(",") if s]
    if "snmp_community" in params or "snmp_networks" in params:
        if not params.get("snmp_community") or not params.get("snmp_networks"):
            raise ValidationError(
                "burrow.snmp_community needs burrow.snmp_networks (and the other way round)",
                field="burrow.snmp_networks",
            )
        networks = [n for n in params["snmp_networks"].split(",") if n]
        monitoring["communities"] = [
            {"name": "firstboot", "community": params["snmp_community"], "networks": networks}
        ]
    if monitoring:
        check_monitoring(monitoring, "kernel command line")
    return monitoring


def check_monitoring(given: Mapping[str, Any], origin: str) -> MonitoringSettings:
    """The monitoring settings given at first boot, validated as Central validates them."""
    from services.common.monitoring import MonitoringSettings

    try:
        settings = MonitoringSettings.model_validate(dict(given))
    except PydanticError as exc:
        first = exc.errors()[0]
        field = _field(first["loc"])
        raise ValidationError(f"{origin}: monitoring.{field}: {first['msg']}",
                              field=f"monitoring.{field}") from None  # fmt: skip
    settings = settings.merged_with(MonitoringSettings())
    missing = settings.missing_secrets()
    if missing:
        field, message = missing[0]
        raise ValidationError(f"{origin}: monitoring.{field}: {message}",
                              field=f"monitoring.{field}")  # fmt: skip
    return settings


def write_monitoring(root: StateRoot, fb: FirstBoot) -> None:
    """monitoring.json from the first boot's settings, unless there is one already."""
    if not fb.monitoring or root.monitoring_settings.exists():
        return
    try:
        check_monitoring(fb.monitoring, fb.source).save(root.monitoring_settings)
    except BurrowError as exc:
        log.error("ignoring the monitoring settings: %s", exc)


def parse_nocloud(
    files: Mapping[str, str], macs: Mapping[str, str], first_interface: str
) -> FirstBoot:
    """Settings from the three files of a NoCloud seed (missing files count as empty)."""
    meta = _yaml(files.get("meta-data", ""), "meta-data")
    user_text = files.get("user-data", "")
    user: dict[str, Any] = {}
    if user_text.lstrip().startswith("#cloud-config"):
        user = _yaml(user_text, "user-data")
    elif user_text.strip():
        log.warning("user-data is not #cloud-config; Burrow ignores it")
    network = _yaml(files.get("network-config", ""), "network-config")
    network = network.get("network", network)
    version = network.get("version", 2 if network else None)
    if version == 2:
        net = _v2(network, macs)
    elif version == 1:
        net = _v1(network, macs)
    elif version is None:
        net = {"interfaces": [], "gateway": None, "resolvers": [], "gateway_interface": None}
    else:
        raise ValidationError(f"network-config version {version} is not supported", field="version")
    burrow = user.get("burrow") or {}
    if not isinstance(burrow, dict):
        raise ValidationError("user-data: burrow must be a mapping", field="burrow")
    unknown = sorted(
        set(burrow) - {"admin_password", "interface", "monitoring", "fleet", *SETTINGS_KEYS}
    )
    if unknown:
        raise ValidationError(f"user-data: unknown key burrow.{unknown[0]}", field=unknown[0])
    if not net["interfaces"]:
        net["interfaces"] = [{"name": first_interface, "dhcp": True}]
    management = burrow.get("interface") or net["gateway_interface"] or net["interfaces"][0]["name"]
    hostname = user.get("hostname") or meta.get("local-hostname") or "burrow"
    data: dict[str, Any] = {
        "source": "nocloud",
        "hostname": str(hostname).split(".")[0],
        "interface": management,
        "interfaces": net["interfaces"],
        "gateway": net["gateway"],
        "resolvers": net["resolvers"],
        "admin_password": burrow.get("admin_password"),
        "settings": {k: burrow[k] for k in SETTINGS_KEYS if k in burrow},
        "monitoring": burrow.get("monitoring") or {},
        "fleet": burrow.get("fleet"),
    }
    _check_fleet(data["fleet"], "NoCloud seed")
    if not isinstance(data["monitoring"], dict):
        raise ValidationError("user-data: burrow.monitoring must be a mapping", field="monitoring")
    if data["monitoring"]:
        check_monitoring(data["monitoring"], "NoCloud seed")
    return _validated(FirstBoot, data, "NoCloud seed")


def find_seed() -> str | None:
    """The block device of a NoCloud seed, by its file system label."""
    for label in SEED_LABELS:
        proc = subprocess.run(
            ["blkid", "-t", f"LABEL={label}", "-o", "device"],
            capture_output=True,
            text=True,
            check=False,
        )
        devices = proc.stdout.split()
        if devices:
            return devices[0]
    return None


def read_seed(device: str) -> dict[str, str]:
    """The seed's files: the disk is mounted read-only for a moment (inside the appliance)."""
    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="burrow-seed-") as mnt:
        subprocess.run(["mount", "-o", "ro", device, mnt], check=True, capture_output=True)
        try:
            for name in SEED_FILES:
                path = Path(mnt, name)
                if path.is_file():
                    files[name] = path.read_text(errors="replace")
        finally:
            subprocess.run(["umount", mnt], check=False, capture_output=True)
    return files


# --- the machine's interfaces --------------------------------------------------------
def interface_macs() -> dict[str, str]:
    """Ethernet interfaces of this machine, by name, in the kernel's order."""
    found: list[tuple[int, str, str]] = []
    for entry in Path("/sys/class/net").iterdir():
        if not (entry / "device").exists():
            continue  # lo, bridges, veths: not a NIC
        index = int((entry / "ifindex").read_text())
        found.append((index, entry.name, (entry / "address").read_text().strip()))
    return {name: mac for _i, name, mac in sorted(found)}


def wait_for_interfaces(names: list[str], timeout: float = INTERFACE_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        missing = [n for n in names if not Path("/sys/class/net", n).exists()]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise ValidationError(f"interface {missing[0]} does not exist", field="interface")
        time.sleep(0.2)


def first_interface(timeout: float = INTERFACE_WAIT) -> str:
    deadline = time.monotonic() + timeout
    while True:
        macs = interface_macs()
        if macs:
            return next(iter(macs))
        if time.monotonic() > deadline:
            raise ValidationError("this machine has no network interface", field="interface")
        time.sleep(0.2)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    """iproute2's ``ip`` (a small C program: pyroute2 would cost this program, which runs
    before everything else at boot, seconds of CPU time under software emulation)."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)


def _ip_ok(*args: str) -> None:
    proc = _ip(*args)
    if proc.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {proc.stderr.strip()}")


def apply_network(root: StateRoot, fb: FirstBoot) -> dict[str, list[IPInterface]]:
    """Configure hostname, interfaces, default route and resolvers; the addresses in use."""
    wait_for_interfaces([i.name for i in fb.interfaces])
    with contextlib.suppress(OSError):
        socket.sethostname(fb.hostname)
    write_atomic(root.root / "etc/hostname", fb.hostname + "\n", mode=0o644)
    write_atomic(
        root.root / "etc/hosts",
        f"127.0.0.1\tlocalhost\n127.0.1.1\t{fb.hostname}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n",
        mode=0o644,
    )
    for item in fb.interfaces:
        _ip_ok("link", "set", "dev", item.name, "up")
        for address in item.addresses:
            _ip("address", "add", str(address), "dev", item.name)  # there after a restart
    if fb.gateway is not None:
        _ip_ok("route", "replace", "default", "via", str(fb.gateway), "dev", fb.interface)
    for item in fb.interfaces:
        if item.dhcp:
            run_dhclient(item.name)
    if fb.resolvers:
        write_atomic(
            root.root / "etc/resolv.conf",
            "".join(f"nameserver {r}\n" for r in fb.resolvers),
            mode=0o644,
        )
    return {item.name: addresses_of(item.name) for item in fb.interfaces}


def run_dhclient(name: str) -> None:
    """Ask for a lease once (dhclient stays to renew it)."""
    log.info("asking for a DHCP lease on %s", name)
    Path("/var/lib/dhcp").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            "dhclient",
            "-4",
            "-1",
            "-pf",
            f"/run/dhclient.{name}.pid",
            "-lf",
            f"/var/lib/dhcp/dhclient.{name}.leases",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise ValidationError(f"no DHCP lease on {name}", field="interface")


def addresses_of(name: str) -> list[IPInterface]:
    """The interface's global addresses (link-local ones are not for administrators)."""
    proc = _ip("-json", "address", "show", "dev", name)
    if proc.returncode != 0:
        raise OSError(f"ip address show dev {name}: {proc.stderr.strip()}")
    return [
        ipaddress.ip_interface(f"{item['local']}/{item['prefixlen']}")
        for link in json.loads(proc.stdout)
        for item in link.get("addr_info", [])
        if item.get("scope") == "global"
    ]


# --- settings files --------------------------------------------------------------------
def firstboot_path(root: StateRoot) -> Path:
    return root.etc / "firstboot.json"


def save_firstboot(root: StateRoot, fb: FirstBoot) -> None:
    """firstboot.json holds the administrator password: readable by root only."""
    path = firstboot_path(root)
    hand_fleet_join_to_central(root, fb)
    kept = fb.model_dump(mode="json")
    if kept.get("fleet"):
        kept["fleet"]["code"] = ""  # Central's now; used once, shown nowhere
    write_json(path, kept, mode=0o600)
    hand_admin_password_to_central(root, fb)


def hand_fleet_join_to_central(root: StateRoot, fb: FirstBoot) -> bool:
    """Give the fleet to join to Central, once, before it first starts: Central joins it
    once it is up (central.fleet.seed) and removes the file, code and all."""
    target = root.fleet_join_seed
    if fb.fleet is None or not fb.fleet.code or (root.lib / "central.db").exists():
        return False
    if target.exists():
        return False
    write_json(target, fb.fleet.model_dump(mode="json"), mode=0o600)
    return True


def hand_admin_password_to_central(root: StateRoot, fb: FirstBoot) -> bool:
    """Give the first-boot administrator password to Central, once, before it first starts.

    Central makes its first administrator from ``etc/burrow/first-admin.json`` and removes
    the file; once Central has a database the password is changed through Central only.
    """
    central_db = root.lib / "central.db"
    target = root.etc / "first-admin.json"
    if not fb.admin_password or central_db.exists() or target.exists():
        return False
    write_json(target, {"username": "admin", "password": fb.admin_password}, mode=0o600)
    return True


def appliance_settings(
    fb: FirstBoot, addresses: Mapping[str, list[IPInterface]], previous: ApplianceSettings | None
) -> ApplianceSettings:
    """appliance.json from what first boot chose and the management address now in use."""
    mine = [a for a in addresses.get(fb.interface, []) if a.version == 4]
    if not mine:
        raise ValidationError(f"{fb.interface} has no IPv4 address", field="address")
    base: dict[str, Any] = previous.model_dump(mode="json") if previous else {}
    base.update(fb.settings)
    base.update(
        hostname=fb.hostname,
        interface=fb.interface,
        address=str(mine[0]),
        gateway=str(fb.gateway) if fb.gateway else None,
        resolvers=[str(r) for r in fb.resolvers],
    )
    try:
        return ApplianceSettings.model_validate(base)
    except PydanticError as exc:
        first = exc.errors()[0]
        field = _field(first["loc"])
        raise ValidationError(f"settings: {field}: {first['msg']}", field=field) from None


def gather(root: StateRoot, cmdline: str) -> FirstBoot:
    """The first boot's settings: command line, then NoCloud seed, then DHCP."""
    first = first_interface()
    try:
        from_cmdline = parse_cmdline(cmdline, first)
    except BurrowError as exc:
        log.error("ignoring the kernel command line: %s", exc)
        from_cmdline = None
    if from_cmdline is not None:
        log.info("network settings from the kernel command line")
        return from_cmdline
    device = find_seed()
    if device is not None:
        try:
            fb = parse_nocloud(read_seed(device), interface_macs(), first)
        except (BurrowError, OSError, subprocess.CalledProcessError) as exc:
            log.error("ignoring the NoCloud seed on %s: %s", device, exc)
        else:
            log.info("network settings from the NoCloud seed on %s", device)
            return for_profile(root, fb)
    log.info("no settings given: DHCP on %s", first)
    return FirstBoot(
        source="default", interface=first, interfaces=[InterfaceConfig(name=first, dhcp=True)]
    )


def for_profile(root: StateRoot, fb: FirstBoot) -> FirstBoot:
    """``fb`` without the settings this appliance's profile has no use for."""
    if profile.load(root) != "caching":
        return fb
    unused = [key for key in NOT_ON_CACHING if key in fb.settings]
    for key in unused:
        log.warning("burrow.%s is for a DNS/DHCP appliance: ignored on a caching appliance", key)
    if not unused:
        return fb
    kept = {k: v for k, v in fb.settings.items() if k not in unused}
    return fb.model_copy(update={"settings": kept})


def boot(root: StateRoot, cmdline: str) -> int:
    """At every boot: first-boot settings if there are none yet, then the network."""
    root.etc.mkdir(parents=True, exist_ok=True)
    log.info("a %s appliance", profile.load(root))
    path = firstboot_path(root)
    if path.exists():
        fb = FirstBoot.model_validate(read_json(path))
    else:
        fb = gather(root, cmdline)
        save_firstboot(root, fb)
        write_monitoring(root, fb)
    previous: ApplianceSettings | None = None
    if root.appliance_settings.exists():
        previous = ApplianceSettings.load(root.appliance_settings)
    addresses = apply_network(root, fb)
    settings = appliance_settings(fb, addresses, previous)
    if previous is None or settings != previous:
        settings.save(root.appliance_settings)
    for name, found in addresses.items():
        log.info("%s: %s", name, ", ".join(str(a) for a in found) or "no address")
    # burrow-launch, started beside this program, has loaded its code meanwhile: it goes on.
    write_atomic(root.network_ready, "", mode=0o644)
    return 0


# --- the console menu -----------------------------------------------------------------
def _ask(prompt: str, default: str = "") -> str:
    suffix = f" [{default}]" if default else ""
    answer = input(f"{prompt}{suffix}: ").strip()
    return answer or default


def menu(root: StateRoot, ask: Callable[[str, str], str] = _ask) -> FirstBoot | None:
    """Ask for new network settings; None when the administrator cancels."""
    current: FirstBoot | None = None
    with contextlib.suppress(OSError, ValueError, PydanticError):
        current = FirstBoot.model_validate(read_json(firstboot_path(root)))
    mgmt = current.management() if current else None
    iface = ask("Interface", current.interface if current else "eth0")
    address = ask(
        "Address/prefix, or dhcp",
        "dhcp" if mgmt is None or mgmt.dhcp else str(mgmt.addresses[0]),
    )
    gateway = ask("Gateway (empty: none)", str(current.gateway or "") if current else "")
    resolvers = ",".join(str(r) for r in current.resolvers) if current else ""
    dns = ask("DNS resolvers, comma-separated", resolvers)
    hostname = ask("Host name", current.hostname if current else "burrow")
    if ask("Apply these settings? yes/no", "no").lower() not in ("y", "yes"):
        return None
    words = [
        f"burrow.interface={iface}",
        f"burrow.address={address}",
        f"burrow.hostname={hostname}",
    ]
    if gateway:
        words.append(f"burrow.gateway={gateway}")
    if dns:
        words.append(f"burrow.dns={dns}")
    fb = parse_cmdline(shlex.join(words), iface)
    assert fb is not None  # parse_cmdline returns None only without burrow.*
    others = [i for i in (current.interfaces if current else []) if i.name != iface]
    return fb.model_copy(
        update={
            "source": "console",
            "interfaces": [fb.interfaces[0], *others],
            "admin_password": current.admin_password if current else None,
            "settings": current.settings if current else {},
        }
    )


def change_network(root: StateRoot) -> None:
    """The console's menu (services.appliance.console): ask, save, apply, restart the services."""
    try:
        fb = menu(root)
        if fb is None:
            return
        save_firstboot(root, fb)
        boot(root, "")
        subprocess.run(["systemctl", "restart", "burrow.service"], check=False)
    except (BurrowError, EOFError) as exc:
        print(f"Not changed: {exc}. Press Enter.", flush=True)
        with contextlib.suppress(EOFError):
            input()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="burrow-firstboot", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("boot",))
    parser.add_argument("--root", default="/", help="state root (/ on an appliance)")
    parser.add_argument("--cmdline", default="/proc/cmdline", help="kernel command line file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="burrow-firstboot: %(message)s")
    root = StateRoot.at(args.root)
    try:
        return boot(root, Path(args.cmdline).read_text())
    except BurrowError as exc:
        print(f"burrow-firstboot: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
