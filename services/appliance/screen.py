"""tty1, the hypervisor's screen: the banner, and Enter opens the network settings' menu.

``python -m services.appliance.screen --root /``, run by burrow-console.service. It shows the
banner that burrow-banner keeps current in ``etc/issue`` (``services.appliance.console``),
read again every 10 s, with "Press Enter to change the network settings." under it. Enter
opens the menu (``services.appliance.firstboot.change_network``); the process ends after it
and systemd starts a fresh one.

This program waits for a key for the appliance's whole life, so it loads nothing but the few
standard modules that waiting needs (about 5 MB of memory, against 9 MB when it made the
banner itself); the menu's modules are imported only after Enter.
"""

from __future__ import annotations

import os
import select
import sys

#: What the screen shows until burrow-banner has written the banner of this boot.
STARTING = "Burrow appliance: starting\n"
#: The first words of every banner (``services.appliance.console.banner``).
BANNER_START = "Burrow appliance"


def banner_text(root: str) -> str:
    """The banner as burrow-banner last wrote it to ``etc/issue``, escapes undone."""
    try:
        with open(os.path.join(root, "etc/issue"), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return STARTING
    if not text.startswith(BANNER_START):  # the image's own issue: no banner yet
        return STARTING
    # agetty reads backslash escapes in etc/issue, so the banner's backslashes are doubled.
    return text.replace("\\\\", "\\")


def root_from(argv: list[str]) -> str:
    """``--root ROOT`` (default ``/``); nothing else is accepted."""
    if not argv:
        return "/"
    if len(argv) == 2 and argv[0] == "--root":
        return argv[1]
    raise SystemExit("usage: python -m services.appliance.screen [--root ROOT]")


def main(argv: list[str] | None = None) -> int:
    root = root_from(sys.argv[1:] if argv is None else argv)
    while True:
        sys.stdout.write("\033[2J\033[H")
        sys.stdout.write(banner_text(root))
        sys.stdout.write("\nPress Enter to change the network settings.\n")
        sys.stdout.flush()
        ready, _w, _x = select.select([sys.stdin], [], [], 10.0)
        if ready:
            sys.stdin.readline()
            break
    # Only now the heavy modules: parsing and applying settings needs pydantic and pyroute2.
    from services.appliance.firstboot import change_network
    from services.common.paths import StateRoot

    change_network(StateRoot.at(root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
