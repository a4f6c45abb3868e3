"""unbound.conf of a caching appliance, rendered from its ``CachingSettings``.

burrow-launch renders it at every start and the dns-agent on each change; both go through
``write_config``, which checks the text with ``unbound-checkconf`` before it replaces the file
Unbound reads, so a configuration Unbound would refuse is never installed.

Names and addresses come from the typed settings; every string is written quoted. Unbound
listens on the machine's own addresses, each named (``interface_addresses``, read from the
kernel when the text is rendered; the dns-agent renders again when they change).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from services.common.caching.contract import CachingSettings, Target
from services.common.errors import BurrowError, ValidationError
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.proc import run

log = logging.getLogger(__name__)

#: Debian's root trust anchor (package dns-root-data), copied to the state root once; Unbound
#: keeps its copy up to date itself (RFC 5011).
ROOT_ANCHOR = Path("/usr/share/dns/root.key")
#: Unbound's port: 53 on an appliance; tests and benchmarks may pass another.
PORT = 53


def default_threads() -> int:
    """One thread per two CPUs, at least 1, at most 4: the appliance's other programs and the
    kernel's packet work need the rest. Answering from the cache on 2 CPUs, Unbound with two
    threads spent 14-16 % more CPU per query than Debian's stock configuration (one thread),
    with one thread 5-7 %, for no steadier query rate (``./build.sh bench caching``)."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


def interface_addresses(netns: str | None = None) -> list[str] | None:
    """Every address of every interface that is up, as Unbound's ``interface:`` lines take
    them, in ``listen_order``; None when the kernel's list cannot be read.

    Read from the kernel (``ip -j address show up``) in this process's network namespace, or
    in the named namespace ``netns`` (tests and benchmarks, which render for a namespace they
    are not in). An IPv6 link-local address carries its interface as scope (``fe80::1%eth0``,
    which Unbound 1.17 binds; left out if the interface's name holds other characters than
    letters, digits, ``-``, ``_`` and ``.``); an address whose duplicate address detection
    failed is left out (the kernel never lets it be used).
    """
    argv = ["ip", *(["-n", netns] if netns else []), "-j", "address", "show", "up"]
    try:
        out = run(argv, timeout=10).stdout
        links = json.loads(out)
    except (OSError, subprocess.SubprocessError, BurrowError, ValueError) as exc:
        log.warning("the interfaces' addresses cannot be read: %s", exc)
        return None
    found = []
    for link in links:
        for info in link.get("addr_info", []):
            if "local" not in info or info.get("dadfailed"):
                continue
            address = str(ipaddress.ip_address(info["local"]))
            if info.get("scope") == "link" and info.get("family") == "inet6":
                if not _plain_name(link["ifname"]):
                    continue  # a name unbound.conf cannot hold unquoted: not worth the risk
                address += f"%{link['ifname']}"
            found.append(address)
    return listen_order(found)


def _plain_name(name: str) -> bool:
    return bool(name) and all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in name)


def listen_order(addresses: Iterable[str]) -> list[str]:
    """``addresses`` without repeats, IPv4 before IPv6, each by number: the same set always
    renders the same unbound.conf."""

    def key(text: str) -> tuple[int, int, str]:
        address, _, scope = text.partition("%")
        ip = ipaddress.ip_address(address)
        return (ip.version, int(ip), scope)

    return sorted(set(addresses), key=key)


def conf_addresses(text: str) -> list[str] | None:
    """The addresses an unbound.conf text listens on (its ``interface:`` lines), or None when
    it listens on every address (``interface-automatic: yes``)."""
    found = []
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "interface-automatic" and value.strip() == "yes":
            return None
        if key == "interface":
            found.append(value.strip())
    return found


def _listen_lines(addresses: list[str] | None) -> list[str]:
    """``interface:`` lines for each address; ``interface-automatic`` when there are none.

    Unbound listens on exactly these, so each answer leaves from the address it was asked at
    (several addresses on one interface included), without ``interface-automatic``'s cost of
    reading every packet's destination (IP_PKTINFO: 3-5 % more CPU time per query answered
    from the cache). ``ip-freebind`` lets Unbound bind an address the kernel does not offer
    yet (an IPv6 address during duplicate address detection, one going away).
    """
    if not addresses:
        return ["    interface-automatic: yes"]
    for address in addresses:
        ip, sep, scope = address.partition("%")
        ipaddress.ip_address(ip)  # ValueError for anything else
        if sep and not _plain_name(scope):
            raise ValueError(f"{address!r} is not an address Unbound can listen on")
    return [
        "    interface-automatic: no",
        "    ip-freebind: yes",
        *(f"    interface: {address}" for address in listen_order(addresses)),
    ]


def _quoted(text: str) -> str:
    """``text`` in double quotes. Unbound's configuration reader has no escapes in quoted
    strings (a backslash reaches Unbound as it is), so a string holding a quote, a backslash or
    a line break cannot be written: names and paths never hold one."""
    if any(ch in text for ch in '"\\\n\r'):
        raise ValueError(f"{text!r} cannot be written in unbound.conf")
    return f'"{text}"'


def local_data(record: str) -> str:
    """A ``local-data`` value: the record in single quotes.

    Unbound's configuration reader takes a quoted string as it is, with no escapes, and hands
    it to its record parser, which reads zone-file escapes (``\\"`` and ``\\DDD``) inside the
    record's own quoted strings. Single quotes leave a TXT record's double quotes alone
    (checked with Unbound 1.17: ``"say \\"hi\\""`` is served as ``say "hi"``). The one
    character that cannot appear is the single quote itself: it is written ``\\039``, which
    the record parser reads back as ``'`` (in a quoted string and in a name alike).
    Records come in the normal form of ``services.common.caching.contract`` (printable ASCII,
    one line); anything else is refused rather than written.
    """
    if any(not (" " <= ch <= "~") for ch in record):
        raise ValueError(f"{record!r} is not one line of printable ASCII")
    return "'" + record.replace("'", "\\039") + "'"


def _targets(key: str, servers: list[Target]) -> list[str]:
    return [f"    {key}: {server.text()}" for server in servers]


def unbound_conf_text(
    root: StateRoot,
    settings: CachingSettings,
    *,
    threads: int | None = None,
    port: int = PORT,
    user: str = "unbound",
    addresses: Iterable[str] | None = None,
) -> str:
    """The whole unbound.conf for ``settings``, listening on ``addresses`` (this machine's,
    read from the kernel, unless given; on every address through ``interface-automatic`` if
    none can be read)."""
    threads = threads or default_threads()
    listen = list(addresses) if addresses is not None else interface_addresses()
    lines = [
        "# unbound.conf of this Burrow caching appliance. Generated from",
        f"# {root.caching_settings} by Burrow: change the settings, not this file.",
        "server:",
        f"    username: {_quoted(user)}",
        '    chroot: ""',
        f"    directory: {_quoted(str(root.unbound_lib))}",
        f"    pidfile: {_quoted(str(root.run / 'unbound.pid'))}",
        '    logfile: ""',
        "    use-syslog: no",
        "    log-time-ascii: yes",
        "    verbosity: 1",
        *_listen_lines(listen),
        f"    port: {port}",
        "    do-ip4: yes",
        "    do-ip6: yes",
        "    do-udp: yes",
        "    do-tcp: yes",
        f"    num-threads: {threads}",
        "    so-reuseport: yes",
        f"    msg-cache-size: {settings.msg_cache_mb}m",
        f"    rrset-cache-size: {settings.rrset_cache_mb}m",
        f"    prefetch: {'yes' if settings.prefetch else 'no'}",
        f"    cache-max-ttl: {settings.cache_max_ttl}",
        f"    cache-min-ttl: {settings.cache_min_ttl}",
        f"    serve-expired: {'yes' if settings.serve_expired else 'no'}",
        "    hide-identity: yes",
        "    hide-version: yes",
        "    qname-minimisation: yes",
        "    do-not-query-localhost: no",
        "    extended-statistics: yes",
        "    statistics-cumulative: no",
    ]
    if settings.dnssec_validation:
        lines.append('    module-config: "validator iterator"')
        lines.append(f"    auto-trust-anchor-file: {_quoted(str(root.unbound_trust_anchor))}")
    else:
        lines.append('    module-config: "iterator"')
    lines += [f"    domain-insecure: {_quoted(name)}" for name in settings.insecure_domains]
    # Unbound refuses every client unless a rule allows it; the most specific network wins.
    lines += [f"    access-control: {rule.network} {rule.action}" for rule in settings.access]
    # Unbound answers some zones itself unless told otherwise (unbound.conf(5), "default
    # zones"): test., invalid., onion., home.arpa. and the reverse zones of private and
    # reserved addresses (AS112) get NXDOMAIN, so a forward or stub zone there would never be
    # asked. A transparent local zone of the same name lifts that and changes nothing else.
    local_names = {zone.name for zone in settings.local_zones}
    delegated = [z.name for z in settings.forward_zones] + [z.name for z in settings.stub_zones]
    for name in dict.fromkeys(delegated):
        if name not in local_names:
            lines.append(f"    local-zone: {_quoted(name)} transparent")
    for zone in settings.local_zones:
        lines.append(f"    local-zone: {_quoted(zone.name)} {zone.type}")
        lines += [f"    local-data: {local_data(record)}" for record in zone.records]
    lines += [
        "",
        "remote-control:",
        "    control-enable: yes",
        f"    control-interface: {_quoted(str(root.unbound_control_socket))}",
        "    control-use-cert: no",
    ]
    if settings.forwarders:
        lines += ["", "forward-zone:", '    name: "."']
        lines += _targets("forward-addr", settings.forwarders)
        lines.append(f"    forward-first: {'yes' if settings.forward_first else 'no'}")
    for fzone in settings.forward_zones:
        lines += ["", "forward-zone:", f"    name: {_quoted(fzone.name)}"]
        lines += _targets("forward-addr", fzone.servers)
        lines.append(f"    forward-first: {'yes' if fzone.first else 'no'}")
    for szone in settings.stub_zones:
        lines += ["", "stub-zone:", f"    name: {_quoted(szone.name)}"]
        lines += _targets("stub-addr", szone.servers)
    return "\n".join(lines) + "\n"


def _field_of(words: str, settings: CachingSettings | None) -> str | None:
    """The settings' field that unbound-checkconf's complaint is about, when it names one."""
    if settings is None:
        return None
    for line in words.splitlines():
        _, found, record = line.partition("Bad local-data RR ")
        if not found:
            continue
        for z, zone in enumerate(settings.local_zones):
            for r, data in enumerate(zone.records):
                if local_data(data)[1:-1] == record.strip():
                    return f"local_zones[{z}].records[{r}]"
    return None


def check(text: str, settings: CachingSettings | None = None) -> None:
    """Refuse ``text`` unless ``unbound-checkconf`` accepts it (its words in the error, and the
    field of ``settings`` they are about when they name one, such as a record Unbound cannot
    parse)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="burrow-unbound-") as tmp:
        tmp.write(text)
        tmp.flush()
        result = run(["unbound-checkconf", tmp.name], check=False, timeout=30)
    if result.returncode != 0:
        words = result.stdout.strip().replace(tmp.name, "unbound.conf")
        # "[1796597227] unbound-checkconf[16031:0] error: ..." -> "error: ..."
        lines = [line.split("] ", 2)[-1] for line in words.splitlines() if line.strip()]
        said = "; ".join(lines[-3:]) or "no reason given"
        raise ValidationError(
            f"Unbound refuses this configuration: {said}", field=_field_of(words, settings)
        )


def ensure_trust_anchor(root: StateRoot) -> None:
    """Copy Debian's root trust anchor into the state root unless Unbound keeps one there."""
    root.unbound_lib.mkdir(parents=True, exist_ok=True)
    if not root.unbound_trust_anchor.exists() and ROOT_ANCHOR.exists():
        shutil.copyfile(ROOT_ANCHOR, root.unbound_trust_anchor)


def write_config(
    root: StateRoot,
    settings: CachingSettings,
    *,
    threads: int | None = None,
    port: int = PORT,
    user: str = "unbound",
    addresses: Iterable[str] | None = None,
) -> str:
    """Check and install unbound.conf for ``settings`` (listening on ``addresses``, as
    ``unbound_conf_text``); returns the text installed."""
    try:
        text = unbound_conf_text(
            root, settings, threads=threads, port=port, user=user, addresses=addresses
        )
    except ValueError as exc:
        raise ValidationError(f"This cannot be written in unbound.conf: {exc}") from exc
    for directory in (root.unbound_etc, root.unbound_lib, root.run):
        directory.mkdir(parents=True, exist_ok=True)
    if settings.dnssec_validation:
        ensure_trust_anchor(root)  # unbound-checkconf refuses a missing anchor file
    check(text, settings)
    write_atomic(root.unbound_conf, text, mode=0o644)
    return text
