"""burrow-restore: apply an exported backup bundle to this appliance.

``python -m services.appliance.restore --root ROOT FILE`` (``burrow-restore FILE``) checks
the bundle completely first (every chunk's hash, the tree from the root): a tampered or
damaged file is refused with one sentence and changes nothing. Then it applies it as a
restore pushed by the peer would be (services.appliance.backup.apply): the programs are
stopped through supervisord when it runs, every file is written with its mode and owner,
the network capture is applied, the programs restarted and waited for, and the appliance
becomes ``active``. With no supervisord running (a stopped appliance) the files are written
and the appliance starts restored the next time it starts.

An ``active`` appliance is restored only with ``--force``: it would lose its own state.
Progress goes to the terminal, one line a step.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from services.appliance.backup import state as appliance_state
from services.appliance.backup.apply import apply_bundle
from services.common.backup.bundle import DirectoryChunkStore, read_bundle_file
from services.common.backup.format import BackupFormatError
from services.common.paths import StateRoot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="burrow-restore", description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path, help="a bundle exported from the peer Central")
    parser.add_argument("--root", default=os.environ.get("BURROW_ROOT", "/"))
    parser.add_argument("--force", action="store_true", help="restore over an active appliance")
    args = parser.parse_args(argv)
    root = StateRoot.at(args.root)

    def say(state: str, step: str) -> None:
        print(f"[{state}] {step}", flush=True)

    if not args.file.is_file():
        print(f"burrow-restore: {args.file} is not a file.", file=sys.stderr)
        return 2
    store = DirectoryChunkStore()
    try:
        say("checking", f"reading and checking {args.file}")
        try:
            bundle = read_bundle_file(args.file, store)
        except BackupFormatError as exc:
            print(f"burrow-restore: refused: {exc.message}.", file=sys.stderr)
            return 1
        header = bundle.header
        say(
            "checking",
            f"{header['kind']} backup of {header['hostname']} ({header['address']}) made "
            f"{header['created_at']}: {len(bundle.manifest['files'])} files",
        )
        if root.appliance_settings.parent.exists():
            current = appliance_state.load(root)
            if current.state == "active" and not args.force:
                print(
                    "burrow-restore: refused: this appliance is active (in use); "
                    "give --force to replace its state with the backup.",
                    file=sys.stderr,
                )
                return 1
        try:
            apply_bundle(root, bundle, say, restart_agent=True)
        except (OSError, TimeoutError, BackupFormatError) as exc:
            print(f"burrow-restore: the restore failed: {exc}", file=sys.stderr)
            return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
