"""Run Central: ``python -m central --root ROOT``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from central.app import create_app
from central.core.config import PORT, CentralConfig
from services.common.paths import StateRoot
from services.common.serve import Listener, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="central")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--host", default="0.0.0.0")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = CentralConfig.from_root(StateRoot.at(args.root), port=args.port, host=args.host)
    serve(Listener(create_app(config), config.port, host=config.host, tls=config.tls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
