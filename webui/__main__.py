"""Run the web console: ``python -m webui --root ROOT`` (443 over HTTPS, 80 redirects)."""

from __future__ import annotations

import argparse
import codecs
import logging
import os
import sys

from services.common.paths import StateRoot
from services.common.pki import CertPaths
from services.common.serve import Listener, serve
from webui.app import ConsoleConfig, create_app, create_redirect_app
from webui.central import DEFAULT_URL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="webui")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--redirect-port", type=int, default=80)
    parser.add_argument(
        "--central",
        default=os.environ.get("BURROW_CENTRAL_URL", DEFAULT_URL),
        help="Central's API (default: this appliance's, %(default)s)",
    )
    parser.add_argument(
        "--user",
        help="give up root for this user once the ports are bound and the key is read",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    root = StateRoot.at(args.root)
    # Codecs are looked up by name at their first use (Jinja compiles a template's string
    # literals with unicode-escape), which comes after the console has given root up: load
    # them now, while the interpreter's own files are certainly readable.
    for codec in ("unicode_escape", "raw_unicode_escape", "idna", "punycode"):
        codecs.lookup(codec)
    tls = CertPaths(root.pki / "webui.crt", root.pki / "webui.key")
    serve(
        Listener(create_app(ConsoleConfig.from_root(root, args.central)), args.port, tls=tls),
        Listener(create_redirect_app(), args.redirect_port),
        user=args.user,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
