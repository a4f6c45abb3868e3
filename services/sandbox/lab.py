"""A lab: several sandboxes (whole appliances) and client namespaces on one shared L2 network.

The lab is a namespace ``burrowlab-NAME`` holding a bridge ``br0``. This machine reaches it
through one veth, ``bl-NAME`` (``network[1]``), so it reaches every sandbox of the lab. Each
sandbox that joins (``lab.sandbox(...)``) gets its usual namespace ``burrow-<prefix><name>``
whose ``up0`` is plugged into the lab bridge (port ``s-<prefix><name>``) instead of a host
link, at address ``network[index]`` and ``network6[index]`` (index 2 to 9; the lab picks the
lowest free one unless told). Clients (``lab.add_client(mac)``) are namespaces plugged into
the lab bridge too, so a client outlives a destroyed sandbox and renews from its replacement.

DHCP on a shared segment: only a sandbox made with ``dhcp=True`` seeds a DHCPv4/DHCPv6 subnet
on the lab network; the others seed none, so two Kea servers never answer the same client.

A replacement: stop sandbox A (its namespace goes, the lab and the others stay), then
``lab.sandbox("c", index=A.index)`` starts C on A's address with a fresh state root and a
different name. ``Lab.close()`` (or leaving ``with Lab(...) as lab:``) stops every sandbox and
client it made, removes its namespaces and link, and the state roots it made itself.

    with Lab(name="l", network=ipaddress.IPv4Network("198.51.100.0/27")) as lab:
        a = lab.sandbox("a", dhcp=True)      # 198.51.100.2, serves DHCP
        b = lab.sandbox("b")                 # 198.51.100.3
        lease = dhclient(lab.add_client("02:00:00:00:00:01"))
"""

from __future__ import annotations

import ipaddress
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from services.common.errors import SetupError
from services.common.proc import run
from services.common.profile import DEFAULT as DEFAULT_PROFILE
from services.common.profile import Profile
from services.sandbox import netns
from services.sandbox.sandbox import (
    ALLOWED_NETWORKS,
    FIRST_INDEX,
    LAST_INDEX,
    NAME_RE,
    Client,
    Sandbox,
    network6_of,
    plug_client,
)


@dataclass
class Lab:
    """One shared test network and the sandboxes and clients on it (see the module docstring).

    ``prefix`` is put before every sandbox name (test runs use their BURROW_TEST_PREFIX);
    ``root_base`` is where state roots are made when ``sandbox()`` is given none.
    """

    name: str
    network: ipaddress.IPv4Network
    prefix: str = ""
    root_base: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    boxes: list[Sandbox] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    made_roots: list[Path] = field(default_factory=list)
    created: bool = False

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise SetupError(
                f"Lab name {self.name!r} is not allowed.",
                hint="use 1 to 10 lower-case letters or digits",
            )
        if not any(self.network.subnet_of(allowed) for allowed in ALLOWED_NETWORKS):
            raise SetupError(f"Network {self.network} is not part of 198.51.100.0/24.")
        if self.network.prefixlen > 27:
            raise SetupError(f"Network {self.network} is too small.", hint="use /24 to /27")

    # --- names ------------------------------------------------------------------
    @property
    def ns(self) -> str:
        return f"burrowlab-{self.name}"

    @property
    def host_link(self) -> str:
        return f"bl-{self.name}"

    @property
    def host_address(self) -> str:
        return str(self.network[1])

    @property
    def network6(self) -> ipaddress.IPv6Network:
        return network6_of(self.network)

    # --- lifecycle --------------------------------------------------------------
    def create(self) -> None:
        """Make the lab namespace, its bridge and this machine's link (``network[1]``)."""
        clash = netns.network_clash(self.network)
        if clash:
            raise SetupError(
                f"{clash[0].upper()}{clash[1:]}.",
                hint="choose another network, a part of 198.51.100.0/24",
            )
        if netns.exists(self.ns) or netns.link_exists(self.host_link):
            raise SetupError(
                f"A lab named {self.name!r} is already running or was left behind.",
                hint=f"remove it with: ./build.sh dev --clean {self.name}",
            )
        netns.add(self.ns)
        self.created = True
        try:
            ns = self.ns
            link = ["ip", "link", "add", self.host_link, "type", "veth"]
            run([*link, "peer", "name", "up0", "netns", ns])
            # The lab bridge only forwards: it has no address, so no neighbour caches it.
            netns.add_bridge(ns, "up0", addresses=False)
            run(["ip", "-n", ns, "link", "set", "up0", "up"])
            run(["ip", "-n", ns, "link", "set", "br0", "up"])
            prefix = self.network.prefixlen
            run(["ip", "addr", "add", f"{self.host_address}/{prefix}", "dev", self.host_link])
            run(["ip", "link", "set", self.host_link, "up"])
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop every sandbox and client of the lab; remove its namespaces, link and roots."""
        for box in self.boxes:
            box.stop()
        self.boxes.clear()
        for client in self.clients:
            netns.delete(client.ns)
        self.clients.clear()
        if self.created:
            netns.delete(self.ns)
            netns.delete_link(self.host_link)
            self.created = False
        for root in self.made_roots:
            shutil.rmtree(root, ignore_errors=True)
        self.made_roots.clear()

    def __enter__(self) -> Lab:
        if not self.created:
            self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sandboxes --------------------------------------------------------------
    def live(self) -> list[Sandbox]:
        """The lab's sandboxes whose namespace exists (started, not stopped)."""
        return [box for box in self.boxes if netns.exists(box.ns)]

    def free_index(self) -> int:
        used = {box.index for box in self.live()}
        for index in range(FIRST_INDEX, LAST_INDEX + 1):
            if index not in used:
                return index
        raise SetupError(f"Lab {self.name!r} has no free appliance address left.")

    def check_joining(self, box: Sandbox) -> None:
        """Refuse a sandbox whose address a running sandbox of the lab has, or a dead lab."""
        if not self.created or not netns.exists(self.ns):
            raise SetupError(f"Lab {self.name!r} is not running.", hint="create() it first")
        for other in self.live():
            if other is not box and other.index == box.index:
                raise SetupError(
                    f"Address {box.address} is taken by sandbox {other.name!r} of the lab.",
                    hint="stop that sandbox first, or choose another index",
                )

    def sandbox(
        self,
        name: str,
        *,
        index: int | None = None,
        address: str | None = None,
        dhcp: bool = False,
        root_dir: Path | None = None,
        start: bool = True,
        timeout: float = 90.0,
        profile: Profile = DEFAULT_PROFILE,
    ) -> Sandbox:
        """A sandbox named ``prefix + name`` on the lab, started unless ``start=False``.

        Its address is ``network[index]``, or ``address`` (on the lab network), or the lowest
        free one. ``dhcp=True``: it seeds the lab's DHCP subnets (give it to one sandbox only).
        Without ``root_dir`` a fresh state root is made (and removed by ``close()``). With
        ``start=False`` the caller may write first-boot settings into the root, then call
        ``box.start()``. ``profile``: ``caching`` for a caching appliance (Unbound, no DHCP).
        """
        if address is not None:
            ip = ipaddress.IPv4Address(address)
            if ip not in self.network:
                raise SetupError(f"Address {address} is not on the lab network {self.network}.")
            index = int(ip) - int(self.network.network_address)
        if index is None:
            index = self.free_index()
        if root_dir is None:
            root_dir = Path(tempfile.mkdtemp(prefix="bw-", dir=self.root_base))
            self.made_roots.append(root_dir)
        box = Sandbox(
            name=self.prefix + name,
            network=self.network,
            root_dir=root_dir,
            lab=self,
            index=index,
            dhcp=dhcp,
            profile=profile,
        )
        self.check_joining(box)
        self.boxes.append(box)
        if start:
            box.start(timeout=timeout)
        return box

    # --- clients ----------------------------------------------------------------
    def add_client(self, mac: str | None = None) -> Client:
        """A client namespace ``burrowlab-NAME-cN`` with ``eth0`` on the lab bridge."""
        index = len(self.clients) + 1
        client = plug_client(self.ns, f"c{index}", f"{self.ns}-c{index}", mac)
        self.clients.append(client)
        return client
