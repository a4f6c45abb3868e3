"""Run the diagnostic shell's SSH server: ``python -m services.shell --root ROOT [--port N]``.

Until a password or key for ``diag`` is set in ``etc/burrow/diag-shell.json`` every login is
refused; the server still answers the SSH handshake, which is its health check. Every
session, login and command is logged to stderr (supervisord keeps it in
``var/log/burrow/diag-shell.log``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from services.common import priority
from services.common.paths import StateRoot
from services.shell.server import ShellServer, host_key, listen

log = logging.getLogger("diag-shell")
PORT = 22


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="diag-shell")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--address", default="0.0.0.0", help="address to listen on")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    root = StateRoot.at(args.root)
    server = ShellServer(root, host_key(root))
    sock = listen(args.address, args.port)
    log.info("listening on %s port %d", args.address, args.port)
    priority.serving()
    try:
        server.serve(sock)
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
