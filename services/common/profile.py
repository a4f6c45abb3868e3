"""Which kind of appliance this is: its profile, fixed when the image is built.

``dns-dhcp`` (the default) runs BIND and Kea; ``caching`` runs Unbound as a caching-only DNS
server and no DHCP. The image of a profile writes its name to ``etc/burrow/profile``; a sandbox
writes it there too (``./build.sh dev --profile caching``). No file means ``dns-dhcp``, so an
appliance made before profiles existed keeps being what it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from services.common.errors import SetupError
from services.common.files import write_atomic
from services.common.paths import StateRoot

Profile = Literal["dns-dhcp", "caching"]
PROFILES: tuple[Profile, ...] = ("dns-dhcp", "caching")
DEFAULT: Profile = "dns-dhcp"


def profile_file(root: StateRoot) -> Path:
    return root.etc / "profile"


def load(root: StateRoot) -> Profile:
    """The profile of the appliance at ``root``."""
    path = profile_file(root)
    if not path.exists():
        return DEFAULT
    name = path.read_text().strip()
    if name not in PROFILES:
        raise SetupError(
            f"{path} names the profile {name!r}, which Burrow does not know.",
            hint=f"write one of: {', '.join(PROFILES)}",
        )
    return name


def save(root: StateRoot, name: Profile) -> None:
    if name not in PROFILES:
        raise SetupError(f"unknown profile {name!r}", hint=f"one of: {', '.join(PROFILES)}")
    root.etc.mkdir(parents=True, exist_ok=True)
    write_atomic(profile_file(root), name + "\n", mode=0o640)
