"""named.conf of an appliance, rendered the same way by the launcher and by the dns-agent.

The launcher renders it at every start and the agent whenever server options change; both take
the options the agent stored (``etc/bind/burrow-options.json``), so a restart keeps them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from services.common.dns.options import ServerOptions
from services.common.paths import StateRoot
from services.common.render import render

log = logging.getLogger(__name__)


def options_path(root: StateRoot) -> Path:
    """Where the dns-agent keeps the server options it set."""
    return root.bind_etc / "burrow-options.json"


def zones_conf_path(root: StateRoot) -> Path:
    """The zone statements; written by the launcher once, owned by the dns-agent after."""
    return root.bind_etc / "zones.conf"


def stored_options(root: StateRoot) -> ServerOptions:
    """The stored options; the defaults when there are none or they cannot be read."""
    try:
        return ServerOptions.load(options_path(root))
    except (OSError, ValueError, PydanticValidationError) as exc:
        log.warning("ignoring unreadable server options %s: %s", options_path(root), exc)
        return ServerOptions()


def named_conf_text(root: StateRoot, options: ServerOptions, zones_conf: Path | None = None) -> str:
    """named.conf for ``root`` with ``options``, including ``zones_conf``."""
    return render(
        "named.conf.j2",
        rndc_key=str(root.rndc_key),
        tsig_key=str(root.tsig_key),
        cache_dir=str(root.bind_cache),
        pid_file=str(root.named_run / "named.pid"),
        session_key=str(root.named_run / "session.key"),
        zones_conf=str(zones_conf or zones_conf_path(root)),
        **options.template_vars(),
    )
