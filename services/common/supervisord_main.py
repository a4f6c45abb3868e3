"""Run supervisord with a shorter main-loop wait, so a crashed program restarts at once.

supervisord reaps a dead child in one pass of its main loop and restarts it in the next;
between the two it waits in ``poll()`` for up to one second (a fixed value in
``Supervisor.runforever``) unless some pipe is active. That wait is most of a crash's
downtime. Here the wait is capped at 50 ms: restarts begin within 50 ms of a crash, at the
cost of about twenty cheap loop passes a second.

supervisor 4.2 imports ``pkg_resources`` (setuptools) only to resolve ``module:attribute``
specifications such as the ``[rpcinterface:supervisor]`` factory. Importing it scans every
installed distribution: some 8 MB of memory for supervisord's whole life and a second of CPU
at boot under software emulation. ``main`` gives supervisor a small stand-in that resolves
those specifications with importlib.

``--state-root ROOT`` (before supervisord's own options): supervisord records every crash and
FATAL of its programs under ROOT itself (``services.common.crash_records``). Nothing else about
supervisord changes.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

MAX_WAIT = 0.05


class EntryPointSpec:
    """What supervisor asks of ``pkg_resources.EntryPoint``: ``parse("x=mod:attr").resolve()``."""

    def __init__(self, module: str, attrs: list[str]) -> None:
        self.module = module
        self.attrs = attrs

    @classmethod
    def parse(cls, text: str) -> EntryPointSpec:
        _name, _eq, spec = text.partition("=")
        module, _colon, attrs = spec.strip().partition(":")
        if not module or not all(part.isidentifier() for part in module.split(".")):
            raise ValueError(f"not a module:attribute specification: {spec!r}")
        return cls(module, [a for a in attrs.strip().split(".") if a])

    def resolve(self) -> Any:
        found: Any = importlib.import_module(self.module)
        for attr in self.attrs:
            found = getattr(found, attr)
        return found


def install_pkg_resources_stand_in() -> None:
    """Let supervisor import ``pkg_resources`` without setuptools' scan of every package."""
    if "pkg_resources" in sys.modules:
        return
    module = types.ModuleType("pkg_resources", "Burrow's stand-in for supervisor (see above).")
    module.EntryPoint = EntryPointSpec  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = module


def _prompt_poller(base: type[Any]) -> type[Any]:
    class PromptPoller(base):  # type: ignore[misc]
        """The platform's poller, with every wait capped at ``MAX_WAIT`` seconds."""

        def poll(self, timeout: float) -> Any:
            return super().poll(min(timeout, MAX_WAIT))

    return PromptPoller


def take_state_root(argv: list[str]) -> str | None:
    """Remove ``--state-root ROOT`` from the front of ``argv``; ROOT, if it was given."""
    if len(argv) >= 2 and argv[0] == "--state-root":
        root = argv[1]
        del argv[:2]
        return root
    return None


def main() -> None:
    install_pkg_resources_stand_in()
    from supervisor import poller, supervisord

    # ServerOptions builds its poller from ``supervisor.poller.Poller`` at start-up.
    poller.Poller = _prompt_poller(poller.Poller)
    args = sys.argv[1:]
    root = take_state_root(args)
    sys.argv[1:] = args  # supervisord reads its own options from sys.argv
    if root is not None:
        from services.common.crash_records import EventRecorder, install
        from services.common.paths import StateRoot

        install(EventRecorder(StateRoot.at(root)))
    supervisord.main()


if __name__ == "__main__":
    main()
