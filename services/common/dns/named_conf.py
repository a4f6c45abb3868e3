"""named.conf of an appliance, rendered the same way by the launcher and by the dns-agent.

The launcher renders it at every start and the agent whenever server options change; both take
the options the agent stored (``etc/bind/burrow-options.json``), so a restart keeps them.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from services.common.dns.options import ServerOptions
from services.common.files import write_atomic
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


#: A zones.conf written before the appliance's key was bound to 127.0.0.1 names the bare key.
_BARE_KEY = re.compile(r'(allow-(?:update|transfer) \{ )key "burrow-tsig"; ')
_PRIMARY_FILE = re.compile(r'(\n    type primary;\n    file "[^"\n]*";\n)(?!    allow-query )')
_ALLOW_QUERY = "    allow-query { !burrow-tsig-elsewhere; any; };\n"


def current_zones_conf(text: str) -> str:
    """``text`` (a zones.conf) with the appliance's key restricted as the templates now do:
    ``burrow-agent`` in the allow lists, the ``allow-query`` that keeps the key from elsewhere
    out of a primary zone's updates (see named.conf.j2). The same text when it already is."""
    text = _BARE_KEY.sub(r"\1burrow-agent; ", text)
    return _PRIMARY_FILE.sub(lambda m: m.group(1) + _ALLOW_QUERY, text)


def update_zones_conf(path: Path) -> bool:
    """Rewrite the zones.conf at ``path`` in place (mode and owner kept) if it is of an older
    release (see :func:`current_zones_conf`): a restored backup or an upgraded appliance then
    no longer takes the appliance's key from anywhere. True when it was rewritten."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return False
    new = current_zones_conf(text)
    if new == text:
        return False
    stat = path.stat()
    write_atomic(path, new, mode=stat.st_mode & 0o7777)
    os.chown(path, stat.st_uid, stat.st_gid)
    log.info("%s: the appliance's key is now taken from 127.0.0.1 only", path)
    return True
