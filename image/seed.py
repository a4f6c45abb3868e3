"""Make a cloud-init NoCloud seed disk: a small FAT image labelled CIDATA, without mounting.

``python -m image.seed SEED.img DIR`` puts DIR's ``meta-data``, ``user-data`` and
``network-config`` on a new seed image; attach it with ``./build.sh run --seed SEED.img``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

SEED_KIB = 1024


def make_seed(path: Path, files: Mapping[str, str]) -> None:
    """Write a FAT seed image holding ``files`` (name -> text) at ``path``."""
    path.unlink(missing_ok=True)
    subprocess.run(
        ["mkfs.vfat", "-n", "CIDATA", "-C", str(path), str(SEED_KIB)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}
    with tempfile.TemporaryDirectory(prefix="burrow-seed-") as tmp:
        for name, text in files.items():
            source = Path(tmp, name)
            source.write_text(text)
            subprocess.run(
                ["mcopy", "-i", str(path), str(source), f"::/{name}"],
                check=True,
                capture_output=True,
                env=env,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m image.seed", description=__doc__)
    parser.add_argument("image", type=Path, help="the seed image to write")
    parser.add_argument("directory", type=Path, help="holds meta-data, user-data, network-config")
    args = parser.parse_args(argv)
    names = ("meta-data", "user-data", "network-config")
    files = {n: (args.directory / n).read_text() for n in names if (args.directory / n).is_file()}
    if not files:
        print(f"seed: {args.directory} has none of {', '.join(names)}.", file=sys.stderr)
        return 1
    make_seed(args.image, files)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
