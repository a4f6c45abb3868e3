"""unbound.conf of a caching appliance, rendered from its ``CachingSettings``.

burrow-launch renders it at every start and the dns-agent on each change; both go through
``write_config``, which checks the text with ``unbound-checkconf`` before it replaces the file
Unbound reads, so a configuration Unbound would refuse is never installed.

Names and addresses come from the typed settings; every string is written quoted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from services.common.caching.contract import CachingSettings, Target
from services.common.errors import ValidationError
from services.common.files import write_atomic
from services.common.paths import StateRoot
from services.common.proc import run

#: Debian's root trust anchor (package dns-root-data), copied to the state root once; Unbound
#: keeps its copy up to date itself (RFC 5011).
ROOT_ANCHOR = Path("/usr/share/dns/root.key")
#: Unbound's port: 53 on an appliance; tests and benchmarks may pass another.
PORT = 53


def default_threads() -> int:
    """One thread per CPU, at most 4: Unbound scales with threads (each with its own cache of
    requests), and the caches themselves are shared."""
    return max(1, min(4, os.cpu_count() or 1))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _targets(key: str, servers: list[Target]) -> list[str]:
    return [f"    {key}: {server.text()}" for server in servers]


def unbound_conf_text(
    root: StateRoot,
    settings: CachingSettings,
    *,
    threads: int | None = None,
    port: int = PORT,
    user: str = "unbound",
) -> str:
    """The whole unbound.conf for ``settings``."""
    threads = threads or default_threads()
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
        "    interface-automatic: yes",
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
    for zone in settings.local_zones:
        lines.append(f"    local-zone: {_quoted(zone.name)} {zone.type}")
        lines += [f"    local-data: {_quoted(record)}" for record in zone.records]
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


def check(text: str) -> None:
    """Refuse ``text`` unless ``unbound-checkconf`` accepts it (its words in the error)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="burrow-unbound-") as tmp:
        tmp.write(text)
        tmp.flush()
        result = run(["unbound-checkconf", tmp.name], check=False, timeout=30)
    if result.returncode != 0:
        words = result.stdout.strip().replace(tmp.name, "unbound.conf")
        raise ValidationError(f"Unbound refuses this configuration: {words}")


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
) -> str:
    """Check and install unbound.conf for ``settings``; returns the text installed."""
    text = unbound_conf_text(root, settings, threads=threads, port=port, user=user)
    for directory in (root.unbound_etc, root.unbound_lib, root.run):
        directory.mkdir(parents=True, exist_ok=True)
    check(text)
    write_atomic(root.unbound_conf, text, mode=0o644)
    return text
