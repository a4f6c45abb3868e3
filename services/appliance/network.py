"""The appliance's live network, read and changed with pyroute2; the ``/network`` endpoints.

``capture(root)`` reads, in the appliance's own network namespace, the addresses of the
appliance interface (``interface`` of ``etc/burrow/appliance.json``; IPv4 and IPv6, never
link-local, never the ones with a lifetime such as SLAAC's), its static routes (main table,
unicast, not made by the kernel, router advertisements or redirects, not link-local) and,
from the settings, the resolvers and the hostname. It returns a JSON-serialisable dict in
canonical order (``NetworkSettings.public`` of ``services.common.network``): the same
network always gives the same bytes, which keeps backups content-addressed.

``apply(root, captured)`` makes the live network match a capture (its own or, on a
replacement appliance, the lost one's) and persists it in ``appliance.json``:

- the interface is always this appliance's own (a capture's ``interface`` is information);
- missing addresses and routes are added; addresses and routes that are not in the capture
  are removed, but never the management address (``address``/``address6``) unless the
  capture names another one; a capture without ``address6`` keeps this appliance's;
- nothing is half-applied: every step is journaled, and if the kernel refuses one, the
  steps already done are undone in reverse order and a DaemonError says so; the settings
  file is written only after the live network took every step;
- the hostname goes into the settings (and, on a real appliance whose root is ``/``, into
  the kernel and ``etc/hostname``); resolvers into the settings and ``etc/resolv.conf``
  under the state root.

``restore_persisted(root)`` runs when the appliance-agent starts: it adds the persisted extra
addresses and routes that are missing (after a reboot the kernel has none of them).
IPv6 addresses are added with duplicate address detection, as the kernel does by default.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, Request
from pydantic import ValidationError as PydanticError

from services.common import problems
from services.common.errors import DaemonError, ValidationError
from services.common.files import write_atomic
from services.common.network import (
    IPInterface,
    NetworkChange,
    NetworkSettings,
    StaticRoute,
    address_key,
    changes,
    check,
    sorted_addresses,
    sorted_routes,
)
from services.common.paths import StateRoot
from services.common.settings import ApplianceSettings

log = logging.getLogger(__name__)

RT_TABLE_MAIN = 254
IFA_F_PERMANENT = 0x80
RTN_UNICAST = 1
#: Routes the kernel or the network made, not an administrator (rtnetlink(7)): redirect,
#: kernel, router advertisement.
FOREIGN_PROTOCOLS = frozenset({1, 2, 9})
LINK_LOCAL6 = ipaddress.IPv6Network("fe80::/10")
MULTICAST6 = ipaddress.IPv6Network("ff00::/8")

_lock = threading.Lock()


class NetlinkSocket(Protocol):
    """What apply needs of pyroute2's IPRoute (a fake one in unit tests)."""

    def link_lookup(self, **kwargs: Any) -> list[int]: ...
    def get_addr(self, **kwargs: Any) -> Any: ...
    def get_routes(self, **kwargs: Any) -> Any: ...
    def addr(self, command: str, **kwargs: Any) -> Any: ...
    def route(self, command: str, **kwargs: Any) -> Any: ...
    def close(self) -> None: ...


def _iproute() -> NetlinkSocket:
    from pyroute2 import IPRoute

    ipr: NetlinkSocket = IPRoute()
    return ipr


#: How a netlink socket is made; unit tests put a fake here.
Opener = Callable[[], NetlinkSocket]


@contextlib.contextmanager
def _open(opener: Opener) -> Iterator[NetlinkSocket]:
    ipr = opener()
    try:
        yield ipr
    finally:
        ipr.close()


# --- reading -----------------------------------------------------------------------------
def _index(ipr: NetlinkSocket, name: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise DaemonError(f"The appliance interface {name} does not exist.", field="interface")
    return int(found[0])


def live_addresses(ipr: NetlinkSocket, index: int) -> list[IPInterface]:
    """The interface's addresses, without link-local and host-scope ones."""
    found: list[IPInterface] = []
    for msg in ipr.get_addr(index=index):
        text = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        if not text:
            continue
        value = ipaddress.ip_interface(f"{text}/{msg['prefixlen']}")
        if value.ip.is_link_local or value.ip.is_loopback or msg["scope"] == 254:
            continue
        flags = msg.get_attr("IFA_FLAGS") or msg["flags"]
        if not flags & IFA_F_PERMANENT:  # SLAAC and privacy addresses come and go by themselves
            continue
        found.append(value)
    return sorted_addresses(found)


def route_of(msg: Any, index: int) -> StaticRoute | None:
    """A route message as a StaticRoute, or None when it is not one Burrow manages."""
    if msg.get_attr("RTA_TABLE") not in (None, RT_TABLE_MAIN) or msg["type"] != RTN_UNICAST:
        return None
    if msg["proto"] in FOREIGN_PROTOCOLS or msg.get_attr("RTA_OIF") != index:
        return None
    family = 4 if msg["family"] == socket.AF_INET else 6
    dst = msg.get_attr("RTA_DST") or ("0.0.0.0" if family == 4 else "::")
    network = ipaddress.ip_network(f"{dst}/{msg['dst_len']}", strict=False)
    if network.version == 6 and (network.subnet_of(LINK_LOCAL6) or network.subnet_of(MULTICAST6)):
        return None
    gateway = msg.get_attr("RTA_GATEWAY")
    return StaticRoute.model_validate({"destination": str(network), "gateway": gateway})


def live_routes(ipr: NetlinkSocket, index: int) -> list[StaticRoute]:
    found = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for msg in ipr.get_routes(family=family):
            route = route_of(msg, index)
            if route is not None:
                found.append(route)
    return sorted_routes(found)


def _settings(root: StateRoot) -> ApplianceSettings:
    return ApplianceSettings.load(root.appliance_settings)


def capture(root: StateRoot, *, opener: Opener = _iproute) -> dict[str, Any]:
    """The live network of the appliance as canonical, JSON-serialisable data."""
    settings = _settings(root)
    with _open(opener) as ipr:
        index = _index(ipr, settings.interface)
        addresses = live_addresses(ipr, index)
        routes = live_routes(ipr, index)
    management = {address_key(settings.address)}
    if settings.address6 is not None:
        management.add(address_key(settings.address6))
    captured = NetworkSettings(
        interface=settings.interface,
        hostname=settings.hostname,
        address=settings.address,
        address6=settings.address6,
        extra_addresses=[a for a in addresses if address_key(a) not in management],
        routes=routes,
        resolvers=settings.resolvers,
        addresses=addresses,
    )
    return captured.public()


# --- changing ----------------------------------------------------------------------------
def _addr(ipr: NetlinkSocket, command: str, index: int, value: IPInterface) -> None:
    ipr.addr(command, index=index, address=str(value.ip), prefixlen=value.network.prefixlen)


def _route(ipr: NetlinkSocket, command: str, index: int, route: StaticRoute) -> None:
    spec: dict[str, Any] = {"dst": str(route.destination), "oif": index}
    if route.gateway is not None:
        spec["gateway"] = str(route.gateway)
    ipr.route(command, **spec)


@dataclass(frozen=True)
class Step:
    """One change of the live network, how to undo it, and the request's field it comes from."""

    what: str
    field: str
    do: Callable[[], None]
    undo: Callable[[], None]


def _steps(
    ipr: NetlinkSocket,
    index: int,
    changes: tuple[list[IPInterface], list[IPInterface], list[StaticRoute], list[StaticRoute]],
    wanted: NetworkSettings,
) -> list[Step]:
    """The steps, in an order that keeps every gateway on-link while it is used."""
    add_a, del_a, add_r, del_r = changes
    inverse = {"add": "del", "del": "add"}

    def address(command: str, a: IPInterface, field: str) -> Step:
        what = f"{'add' if command == 'add' else 'remove'} address {a}"
        do, undo = (_bind(_addr, ipr, c, index, a) for c in (command, inverse[command]))
        return Step(what, field, do, undo)

    def route(command: str, r: StaticRoute, field: str) -> Step:
        what = f"{'add' if command == 'add' else 'remove'} route {r.text()}"
        do, undo = (_bind(_route, ipr, c, index, r) for c in (command, inverse[command]))
        return Step(what, field, do, undo)

    return [
        *(address("add", a, _address_field(wanted, a)) for a in add_a),
        *(route("del", r, "routes") for r in del_r),
        *(route("add", r, _route_field(wanted, r)) for r in add_r),
        *(address("del", a, "extra_addresses") for a in del_a),
    ]


def _address_field(wanted: NetworkSettings, value: IPInterface) -> str:
    for i, extra in enumerate(wanted.extra_addresses):
        if address_key(extra) == address_key(value):
            return f"extra_addresses[{i}]"
    return "address6" if value.version == 6 else "address"


def _route_field(wanted: NetworkSettings, route: StaticRoute) -> str:
    for i, other in enumerate(wanted.routes):
        if other.key() == route.key():
            return f"routes[{i}]"
    return "routes"


def _bind(func: Callable[..., None], *args: Any) -> Callable[[], None]:
    return lambda: func(*args)


def _why(exc: Exception) -> str:
    """The kernel's reason in words: pyroute2's NetlinkError carries an errno as ``code``."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code > 0:
        return f"{os.strerror(code)}, errno {code}"
    return str(exc) or type(exc).__name__


def run_steps(steps: list[Step]) -> None:
    """Run every step; on a failure undo the done ones in reverse order and raise."""
    done: list[Step] = []
    for step in steps:
        try:
            step.do()
        except Exception as exc:
            log.error("network: %s failed: %s; putting back what was there", step.what, exc)
            for back in reversed(done):
                try:
                    back.undo()
                except Exception as undo_exc:  # keep undoing the others
                    log.error("network: undoing %r failed: %s", back.what, undo_exc)
            message = (
                f"The kernel refused to {step.what} ({_why(exc)}); the network is as it was before."
            )
            hint = None
            if step.what.startswith("add route"):
                hint = "a gateway must be a host on an on-link network, not its broadcast address"
            raise DaemonError(message, field=step.field, hint=hint) from exc
        done.append(step)


def _parse(captured: dict[str, Any] | NetworkSettings) -> NetworkSettings:
    if isinstance(captured, NetworkSettings):
        return captured
    try:
        return NetworkSettings.model_validate(captured)
    except PydanticError as exc:
        found = problems.validation_problems(exc.errors())
        raise ValidationError(problems.summary(found), problems=found) from exc


def _new_settings(current: ApplianceSettings, wanted: NetworkSettings) -> ApplianceSettings:
    """The appliance settings that persist ``wanted`` (validated before anything changes)."""
    default = next(
        (r.gateway for r in wanted.routes if r.destination.prefixlen == 0 and r.gateway
         and r.destination.version == 4),
        None,
    )  # fmt: skip
    data = current.model_dump(mode="json") | {
        "hostname": wanted.hostname,
        "address": str(wanted.address),
        "address6": str(wanted.address6) if wanted.address6 is not None else None,
        "gateway": str(default) if default is not None else None,
        "resolvers": [str(r) for r in wanted.resolvers],
        "extra_addresses": [str(a) for a in sorted_addresses(wanted.extra_addresses)],
        "routes": [r.model_dump(mode="json") for r in sorted_routes(wanted.routes)],
    }
    try:
        return ApplianceSettings.model_validate(data)
    except PydanticError as exc:
        found = problems.validation_problems(exc.errors())
        raise ValidationError(problems.summary(found), problems=found) from exc


def _write_host_files(root: StateRoot, settings: ApplianceSettings) -> None:
    if settings.resolvers:
        write_atomic(
            root.root / "etc/resolv.conf",
            "".join(f"nameserver {r}\n" for r in settings.resolvers),
            mode=0o644,  # every program resolves names, named as bind among them
        )
    if root.root == Path("/"):  # a real appliance; never the hostname of a development machine
        with contextlib.suppress(OSError):
            socket.sethostname(settings.hostname)
        write_atomic(root.root / "etc/hostname", settings.hostname + "\n", mode=0o644)


def apply(
    root: StateRoot, captured: dict[str, Any] | NetworkSettings, *, opener: Opener = _iproute
) -> dict[str, Any]:
    """Make the live network and ``appliance.json`` match ``captured``; return the new capture.

    Raises ValidationError (naming the field) before changing anything, or DaemonError after
    putting back every step already taken.
    """
    wanted = _parse(captured)
    current = _settings(root)
    updates: dict[str, Any] = {"interface": current.interface}
    if wanted.address6 is None and current.address6 is not None:
        updates["address6"] = current.address6  # a capture without IPv6 keeps ours
    wanted = wanted.model_copy(update=updates)
    check(wanted)
    new = _new_settings(current, wanted)
    with _lock:
        with _open(opener) as ipr:
            index = _index(ipr, current.interface)
            todo = changes(live_addresses(ipr, index), live_routes(ipr, index), wanted)
            add_a, del_a, add_r, del_r = todo
            steps = _steps(ipr, index, todo, wanted)
            run_steps(steps)
            try:
                new.save(root.appliance_settings)
            except OSError as exc:
                for step in reversed(steps):
                    with contextlib.suppress(Exception):
                        step.undo()
                    log.info("network: undone %s", step.what)
                raise DaemonError(
                    f"The settings could not be saved ({exc}); nothing changed."
                ) from exc
        _write_host_files(root, new)
        log.info(
            "network applied: +%d -%d addresses, +%d -%d routes",
            len(add_a), len(del_a), len(add_r), len(del_r),
        )  # fmt: skip
    return capture(root, opener=opener)


def restore_persisted(root: StateRoot, *, opener: Opener = _iproute) -> None:
    """Add the persisted extra addresses and routes the kernel lacks (agent start, reboot).

    Removes nothing and never stops the agent: what cannot be added is logged.
    """
    try:
        settings = _settings(root)
    except (OSError, ValueError) as exc:
        log.error("network: settings unreadable, nothing re-applied: %s", exc)
        return
    if not settings.extra_addresses and not settings.routes:
        return
    try:
        with _lock, _open(opener) as ipr:
            index = _index(ipr, settings.interface)
            have_a = {address_key(a) for a in live_addresses(ipr, index)}
            for a in settings.extra_addresses:
                if address_key(a) not in have_a:
                    with _logged(f"add address {a}"):
                        _addr(ipr, "add", index, a)
            have_r = {r.key() for r in live_routes(ipr, index)}
            for r in settings.routes:
                if r.key() not in have_r:
                    with _logged(f"add route {r.text()}"):
                        _route(ipr, "add", index, r)
    except Exception as exc:
        log.error("network: persisted addresses and routes not re-applied: %s", exc)


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    try:
        yield
        log.info("network: %s (persisted)", what)
    except Exception as exc:
        log.error("network: could not %s: %s", what, exc)


# --- the appliance-agent's endpoints -----------------------------------------------------
router = APIRouter(prefix="/network", tags=["network"], responses=problems.RESPONSES)


@router.get("")
def get_network(request: Request) -> NetworkSettings:
    """The live network (``capture``)."""
    return NetworkSettings.model_validate(capture(request.app.state.root))


@router.put("")
def put_network(request: Request, change: NetworkChange) -> NetworkSettings:
    """Change hostname, extra addresses, routes and/or resolvers; answers the new capture.

    422 names every wrong field and changes nothing; 502 when the kernel refused a step
    (every step already taken is undone).
    """
    root: StateRoot = request.app.state.root
    current = NetworkSettings.model_validate(capture(root))
    try:
        wanted = current.changed(change)
    except PydanticError as exc:
        found = problems.validation_problems(exc.errors())
        raise ValidationError(problems.summary(found), problems=found) from exc
    return NetworkSettings.model_validate(apply(root, wanted))
