"""Run the monitor program: ``python -m services.monitor --root ROOT [--address A]``.

It serves SNMP on the port of ``monitoring.json`` (161 unless set) and collects the figures
that Central's ``/metrics`` shows.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from services.common import priority
from services.common.paths import StateRoot
from services.monitor.agent import SnmpAgent
from services.monitor.notify import Notifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="monitor")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--address", default="0.0.0.0", help="address SNMP listens on")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = StateRoot.at(args.root)
    agent = SnmpAgent(root, address=args.address)
    agent.hooks.append(Notifier(root))
    priority.serving()
    try:
        asyncio.run(agent.serve_forever())
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
