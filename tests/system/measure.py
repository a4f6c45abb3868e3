"""Boot-time figures of the image:
``python -m tests.system.measure [--runs N] [--uefi] [--profile dns-dhcp|caching]
[--cpu MODEL[,MODEL...]]``.

Each run boots a fresh copy of the profile's image (dist/burrow.qcow2, or
dist/burrow-caching.qcow2; built if needed) with no first-boot settings and reports, from
power-on: the console's "burrow: ready" (every supervisord program RUNNING) and all healthy
(DNS answers, Central's health and the web console over HTTPS), plus the memory in use that
the banner shows. Prints the median of each.

``--cpu`` names the emulated CPU models to compare (qemu's ``-cpu``; default: the one
``./build.sh run`` uses, image.vm.cpu_model()): each run boots once on each, alternating,
and the medians are printed per model.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

from image import build as image_build
from image.vm import accel, cpu_model, make_overlay
from services.common.profile import DEFAULT, PROFILES, Profile
from tests.system.appliance import Appliance


def one_boot(
    image: Path, firmware: str, index: int, profile: Profile = DEFAULT, cpu: str | None = None
) -> dict[str, float]:
    prefix = os.environ.get("BURROW_TEST_PREFIX", "t") + f"m{index}"
    with tempfile.TemporaryDirectory(prefix="burrow-measure-") as tmp:
        work = Path(tmp)
        make_overlay(image, work / "disk.qcow2")
        vm = Appliance(
            work,
            work / "disk.qcow2",
            None,
            prefix=prefix,
            firmware=firmware,
            profile=profile,
            cpu=cpu,
        )
        try:
            vm.start()
            vm.wait_console(r"burrow: ready")
            ready = time.monotonic() - vm.started
            healthy = vm.wait_healthy()
            time.sleep(30)  # let the first-start work settle before reading the memory figure
            memory = [int(m) for m in re.findall(r"Memory in use: (\d+) MB", vm.console())]
        finally:
            vm.stop()
    return {"ready_s": ready, "healthy_s": healthy, "memory_mb": float(memory[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.system.measure", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--uefi", action="store_true")
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT)
    parser.add_argument(
        "--cpu",
        default=None,
        help="emulated CPU models to boot on, comma-separated, alternated (default: "
        "the one ./build.sh run uses)",
    )
    args = parser.parse_args(argv)
    image_build.build(profile=args.profile)
    image = image_build.outputs(args.profile).qcow2
    firmware = "uefi" if args.uefi else "bios"
    models = [m.strip() for m in args.cpu.split(",") if m.strip()] if args.cpu else [cpu_model()]
    results: dict[str, list[dict[str, float]]] = {model: [] for model in models}
    index = 0
    for run_number in range(args.runs):
        for model in models:
            result = one_boot(image, firmware, index, args.profile, cpu=model)
            index += 1
            results[model].append(result)
            print(
                f"run {run_number + 1}, -cpu {model}: ready {result['ready_s']:.1f} s, "
                f"healthy {result['healthy_s']:.1f} s, memory {result['memory_mb']:.0f} MB, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for model, runs in results.items():
        print(f"{image.name}, {firmware}, {accel()}, -cpu {model}, {args.runs} runs, medians:")
        for key, label in (
            ("ready_s", "power-on to every program RUNNING (s)"),
            ("healthy_s", "power-on to all healthy (s)"),
            ("memory_mb", "memory in use, 30 s after healthy (MB)"),
        ):
            print(f"  {label}: {statistics.median(r[key] for r in runs):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
