"""The caching image next to the DNS/DHCP image: size, boot to healthy and idle memory.

Both images are built if their inputs changed (``image.build``). Size: the qcow2 file (compressed)
and the raw disk's allocated bytes (a sparse 4 GiB file: what its partitions hold). Boot: each
run boots a fresh copy of an image with no first-boot settings (BIOS, DHCP), the same way as
``python -m tests.system.measure``; the runs alternate between the two images so that both see
the same load on a shared machine. Figures: medians of :data:`RUNS` runs of power-on to all
healthy and of the memory in use (``MemTotal - MemAvailable``, from the console banner) 30 s
after healthy.
"""

from __future__ import annotations

import statistics
import sys

from image import build as image_build
from image.vm import accel
from services.common.profile import Profile
from services.sandbox.sandbox import Sandbox
from tests.bench.report import Figure
from tests.system.measure import one_boot

RUNS = 3
PROFILES: tuple[Profile, ...] = ("caching", "dns-dhcp")
NAME = "image-caching"


def image_caching(_box: Sandbox) -> list[Figure]:
    figures: list[Figure] = []
    for profile in PROFILES:
        image_build.build(profile=profile)
        out = image_build.outputs(profile)
        figures.append(
            Figure(NAME, f"{out.qcow2.name}: size", out.qcow2.stat().st_size / 1024**2, "MiB")
        )
        allocated = out.raw.stat().st_blocks * 512 / 1024**2
        figures.append(Figure(NAME, f"{out.raw.name}: allocated of 4 GiB", allocated, "MiB"))
    runs: dict[Profile, list[dict[str, float]]] = {p: [] for p in PROFILES}
    for i in range(RUNS):
        for profile in PROFILES:
            qcow2 = image_build.outputs(profile).qcow2
            result = one_boot(qcow2, "bios", i, profile)
            print(
                f"bench: {NAME}: {profile} run {i + 1}: healthy {result['healthy_s']:.1f} s, "
                f"memory {result['memory_mb']:.0f} MB",
                file=sys.stderr,
            )
            runs[profile].append(result)
    for profile in PROFILES:
        results = runs[profile]
        for key, label, unit in (
            ("healthy_s", "power-on to all healthy", "s"),
            ("memory_mb", "memory in use 30 s after healthy", "MB"),
        ):
            values = ", ".join(f"{r[key]:.0f}" for r in results)
            figures.append(
                Figure(
                    NAME,
                    f"{profile}: {label}, BIOS, {accel()}, median of {RUNS} ({values})",
                    statistics.median(r[key] for r in results),
                    unit,
                )
            )
    return figures
