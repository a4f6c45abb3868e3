"""``./build.sh dev``: run one whole appliance on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path

from services.common import profile as profiles
from services.common.errors import BurrowError
from services.sandbox.sandbox import DEFAULT_NETWORK, Sandbox, clean


def _admin_line(box: Sandbox) -> str:
    try:
        username, password = box.admin_credentials()
    except (FileNotFoundError, KeyError):
        return "set at first boot (etc/burrow/first-admin.json), or already changed"
    return f"{username} / {password}   (generated once; change it: POST /api/v1/me/password)"


def describe(box: Sandbox) -> str:
    if box.caching:
        return describe_caching(box)
    root = box.root.root
    a = box.address
    ca = box.ca_file
    pki = box.root.pki
    return f"""
Burrow sandbox {box.name!r} is running.
  state root       {root}
  network          {box.network} (this machine is {box.host_address}, the appliance {a})
  CA certificate   {box.ca_file}

  DNS              dig @{a} {box.zone} SOA
  Central API      curl --cacert {ca} https://{a}:1231/api/v1/health
  Central admin    {_admin_line(box)}
  Log in           curl --cacert {ca} -H 'Content-Type: application/json' \\
                       -d '{{"username": "...", "password": "..."}}' https://{a}:1231/api/v1/auth/login
  API docs         https://{a}:1231/api/v1/docs
  Web console      https://{a}/   (http://{a}/ redirects)
  Diagnostic shell ssh diag@{a}
  DNS agent        https://{a}:1337/health   (mutual TLS only: add
                       --cert {pki}/central-client.crt --key {pki}/central-client.key)
  DHCP agent       https://{a}:4151/health
  Appliance agent  https://{a}:4603/health
  DHCP             subnet {box.network} served on the sandbox bridge; a client:
                   ip netns add demo && ip link add demo0 type veth peer name eth0 netns demo ...
                   (or let the tests do it: they plug client namespaces into the bridge)
  Programs         {sys.executable} -m supervisor.supervisorctl \\
                       -c {box.root.supervisord_conf} status
  Logs             {box.root.logs}/
  Inside           ip netns exec {box.ns} bash

Press Ctrl-C to stop; everything started here is stopped and removed (the state root stays).
"""


def describe_caching(box: Sandbox) -> str:
    a = box.address
    ca = box.ca_file
    pki = box.root.pki
    return f"""
Burrow caching sandbox {box.name!r} is running (Unbound, no DHCP).
  state root       {box.root.root}
  network          {box.network} (this machine is {box.host_address}, the appliance {a})
  CA certificate   {ca}

  DNS              dig @{a} localhost. A   (this machine's network may query; see the
                       caching settings, {box.root.caching_settings})
  Unbound          ip netns exec {box.ns} unbound-control -c {box.root.unbound_conf} status
  Central API      curl --cacert {ca} https://{a}:1231/api/v1/health
  Central admin    {_admin_line(box)}
  Web console      https://{a}/   (http://{a}/ redirects)
  Diagnostic shell ssh diag@{a}
  DNS agent        https://{a}:1337/health   (mutual TLS only: add
                       --cert {pki}/central-client.crt --key {pki}/central-client.key)
  Appliance agent  https://{a}:4603/health
  Programs         {sys.executable} -m supervisor.supervisorctl \\
                       -c {box.root.supervisord_conf} status
  Logs             {box.root.logs}/
  Inside           ip netns exec {box.ns} bash

Press Ctrl-C to stop; everything started here is stopped and removed (the state root stays).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./build.sh dev", description="Run one whole Burrow appliance in a sandbox."
    )
    parser.add_argument("--name", default="a", help="sandbox name, 1-10 of [a-z0-9] (default a)")
    parser.add_argument(
        "--network",
        default=DEFAULT_NETWORK,
        help=f"sandbox network (default {DEFAULT_NETWORK}, or a /25 to /27 part of it); a "
        "network holding an address this machine needs (its own, its gateway, its resolvers, "
        "its package registries) is refused",
    )
    parser.add_argument("--root", help="state root (default /var/tmp/burrow/NAME, kept)")
    parser.add_argument("--fresh", action="store_true", help="start from an empty state root")
    parser.add_argument(
        "--profile",
        choices=profiles.PROFILES,
        default=profiles.DEFAULT,
        help="which appliance: dns-dhcp (BIND and Kea, the default) or caching (Unbound, no DHCP)",
    )
    parser.add_argument("--clean", metavar="NAME", help="remove what sandbox NAME left behind")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.clean:
        clean(args.clean)
        print(f"Removed what sandbox {args.clean!r} left behind.")
        return 0
    try:
        box = Sandbox(
            name=args.name,
            network=ipaddress.IPv4Network(args.network),
            root_dir=Path(args.root) if args.root else None,
            profile=args.profile,
        )
    except (BurrowError, ValueError) as exc:
        print(f"./build.sh dev: {exc}", file=sys.stderr)
        return 2
    if args.fresh and box.root_dir is not None:
        shutil.rmtree(box.root_dir, ignore_errors=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # A program started in the background of a non-interactive shell inherits SIGINT as
    # ignored, and Python keeps it so: Ctrl-C (or a SIGINT from a script) must stop it anyway.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    daemons = "Unbound" if box.caching else "named, Kea"
    print(f"Starting sandbox {box.name!r} ({daemons}, Central, agents under supervisord)...")
    try:
        box.start()
    except KeyboardInterrupt:
        print("Interrupted; cleaning up.")
        return 130
    except BurrowError as exc:
        print(f"./build.sh dev: {exc}", file=sys.stderr)
        return 1
    try:
        # Ctrl-C may come while this is still being written: it must stop cleanly too.
        print(describe(box), flush=True)
        while not stop.wait(0.5):
            if box.process is not None and box.process.poll() is not None:
                print("supervisord exited; stopping.", file=sys.stderr)
                break
    except KeyboardInterrupt:
        pass
    print("Stopping sandbox...")
    box.stop()
    print("Stopped; no processes, namespaces or links are left.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
