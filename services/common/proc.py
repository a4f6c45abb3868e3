"""The one place through which Burrow runs other programs: logged, bounded, checked."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence

from services.common.errors import BurrowError

log = logging.getLogger(__name__)


class CommandError(BurrowError):
    """A program Burrow ran exited with a failure."""

    code = "command-failed"

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        first = output.strip().splitlines()[-1] if output.strip() else "no output"
        super().__init__(f"{argv[0]} failed with exit status {returncode}: {first}")
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    netns: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (optionally inside network namespace ``netns``) and return its result.

    Output is captured as text; stderr is merged into stdout so that errors read in order.
    """
    full = ["ip", "netns", "exec", netns, *argv] if netns else list(argv)
    log.debug("run: %s", shlex.join(full))
    proc = subprocess.run(
        full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
        input=input_text,
        check=False,
    )
    if check and proc.returncode != 0:
        raise CommandError(full, proc.returncode, proc.stdout)
    return proc
