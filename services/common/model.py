"""The base of every request body Burrow takes: unknown fields refused, nothing coerced.

pydantic's lax mode turns ``"60"`` into 60 and ``"yes"`` into True. A request model derived
from ``Input`` takes whole numbers, numbers, booleans and text only as JSON gives them: every
``int``, ``float``, ``bool`` and ``str`` in its fields (inside lists, dictionaries, unions and
``Annotated`` too) is made strict when the class is made. Addresses and networks come as text
(JSON has no type of their own) and a number is refused for them; enumerations and dates stay
as they are.

Before-validators still see the raw value, so a field that takes ``"1h30m"`` on purpose parses
it there.
"""

from __future__ import annotations

import ipaddress
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict

_SCALARS = (int, bool, float, str)
#: pydantic takes a number for an address (``IPv4Address(7)``): these take text only.
_TEXT_ONLY = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)


def _text_only(value: Any) -> Any:
    if isinstance(value, bool | int | float):
        raise ValueError('must be text, e.g. "198.51.100.1"')
    return value


def strict_annotation(annotation: Any) -> Any:
    """``annotation`` with every int, float, bool and str in it made strict."""
    if annotation in _SCALARS:
        return Annotated[annotation, Strict()]
    if annotation in _TEXT_ONLY:
        return Annotated[annotation, BeforeValidator(_text_only)]
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        return Annotated[(strict_annotation(inner), *meta)]
    if origin in (Union, types.UnionType):
        return Union[tuple(strict_annotation(a) for a in get_args(annotation))]  # noqa: UP007
    if origin in (list, set, frozenset):
        (item,) = get_args(annotation)
        return origin[strict_annotation(item)]
    if origin is dict:
        key, value = get_args(annotation)
        return dict[key, strict_annotation(value)]  # type: ignore[valid-type,misc]
    if origin is tuple:
        items = tuple(a if a is Ellipsis else strict_annotation(a) for a in get_args(annotation))
        return tuple[items]  # type: ignore[valid-type]
    return annotation


class Input(BaseModel):
    """A request body: unknown fields are refused and scalars are never coerced."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        changed = False
        for field in cls.model_fields.values():
            strict = strict_annotation(field.annotation)
            if strict != field.annotation:
                field.annotation = strict
                changed = True
        if changed:
            cls.model_rebuild(force=True)
