"""``python -m central.discovery sweep NETWORK`` or ``neighbours ROUTER --profile JSON``: one
discovery, its findings as JSON on standard output and how long it took on standard error."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import time

from central.discovery import snmp, sweep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m central.discovery")
    sub = parser.add_subparsers(dest="what", required=True)
    ping = sub.add_parser("sweep", help="ping every address of an IPv4 network")
    ping.add_argument("network", type=ipaddress.IPv4Network)
    ping.add_argument("--rate", type=float, default=200.0, help="requests per second at most")
    ping.add_argument("--timeout", type=float, default=1.0, help="seconds to wait at the end")
    router = sub.add_parser("neighbours", help="read a router's ARP/neighbour table over SNMP")
    router.add_argument("address")
    router.add_argument("--profile", required=True, help="an SNMP profile as JSON")
    args = parser.parse_args(argv)
    started = time.monotonic()
    found: dict[str, float] | list[dict[str, object]]
    if args.what == "sweep":
        found = sweep.sweep(sweep.hosts(args.network), rate=args.rate, timeout=args.timeout)
    else:
        profile = snmp.SnmpProfile.model_validate_json(args.profile)
        try:
            entries = asyncio.run(snmp.neighbours(args.address, profile))
        except snmp.SnmpError as exc:
            print(f"neighbours: {args.address} answered nothing usable: {exc}", file=sys.stderr)
            return 2
        found = [{"address": e.address, "mac": e.mac, "if_index": e.if_index} for e in entries]
    json.dump(found, sys.stdout)
    print(file=sys.stdout)
    took = time.monotonic() - started
    print(f"{args.what}: {len(found)} found in {took:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
