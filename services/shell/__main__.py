"""Run the diagnostic shell's SSH server: ``python -m services.shell --root ROOT``.

Until a password or key for ``diag`` is set, every login is refused; the server still
answers the SSH handshake, which is its health check.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading

import paramiko

from services.common.paths import StateRoot

log = logging.getLogger("diag-shell")
PORT = 22


class RefuseAll(paramiko.ServerInterface):  # type: ignore[misc]
    """No credentials configured yet: refuse every authentication."""

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"


def host_key(root: StateRoot) -> paramiko.PKey:
    """The SSH host key, made at first start and kept."""
    path = root.lib / "ssh_host_ed25519_key"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from services.common.files import write_atomic

        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        write_atomic(path, pem, mode=0o600)
    return paramiko.Ed25519Key.from_private_key_file(str(path))


def handle(conn: socket.socket, key: paramiko.PKey) -> None:
    transport = paramiko.Transport(conn)
    transport.add_server_key(key)
    try:
        transport.start_server(server=RefuseAll())
        transport.accept(timeout=30)
    except (paramiko.SSHException, EOFError, OSError):
        pass
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="diag-shell")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    key = host_key(StateRoot.at(args.root))
    server = socket.create_server(("0.0.0.0", args.port), reuse_port=False)
    log.info("listening on port %d", args.port)
    while True:
        conn, _addr = server.accept()
        threading.Thread(target=handle, args=(conn, key), daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
