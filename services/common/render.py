"""Template rendering with Jinja2 and StrictUndefined: a missing value is an error, not a blank.

Templates live in ``rootfs/usr/share/burrow/templates`` of the source tree, which the image
lays at ``/usr/share/burrow/templates``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

_SOURCE_TEMPLATES = Path(__file__).resolve().parents[2] / "rootfs/usr/share/burrow/templates"
_IMAGE_TEMPLATES = Path("/usr/share/burrow/templates")


def templates_dir() -> Path:
    """The templates of this installation: the source tree's when running from it."""
    override = os.environ.get("BURROW_TEMPLATES")
    if override:
        return Path(override)
    if _SOURCE_TEMPLATES.is_dir():
        return _SOURCE_TEMPLATES
    return _IMAGE_TEMPLATES


@cache
def _environment(directory: str) -> jinja2.Environment:
    env = jinja2.Environment(  # noqa: S701 - configuration files, not HTML
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["tojson"] = lambda value: json.dumps(value)
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` with ``context``."""
    return _environment(str(templates_dir())).get_template(template).render(**context)
