"""Request bodies of Central's DHCP API: the shared wire models plus a save comment."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from services.common.dhcp.contract import (
    ClientClass,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
    Strict,
)

Comment = Annotated[str, Field(max_length=1000, description="save comment")]


class ScopeBody(Scope):
    """A scope to create or to replace (pools, relays, lifetimes, options, reservations)."""

    comment: Comment = ""


class ReservationBody(Reservation):
    """A reservation to add to a scope."""

    comment: Comment = ""


class SharedNetworkBody(SharedNetwork):
    """A shared network to create or replace."""

    comment: Comment = ""


class OptionsBody(Strict):
    """The server-wide (global) options, replacing those set."""

    options: list[OptionValue]
    comment: Comment = ""


class OptionDefBody(OptionDef):
    """A custom option definition."""

    comment: Comment = ""


class ClassBody(ClientClass):
    """A client class; ``global``: on every managed DHCP server, changes replicated to all."""

    global_: bool = Field(default=False, alias="global")
    comment: Comment = ""


class PropertiesBody(ServerProperties):
    """Server properties to change (those left out stay as they are)."""

    comment: Comment = ""


class ConfigBody(Strict):
    """A whole daemon configuration (``{"Dhcp4": …}``), checked by Kea's config-test first."""

    config: dict[str, Any]
    expected_hash: str | None = Field(
        default=None, max_length=64, description="refuse (409) if the server changed since"
    )
    comment: Comment = ""


def wire(body: Strict, *exclude: str) -> dict[str, Any]:
    """The body as the agent takes it: without Central's own fields."""
    return body.model_dump(mode="json", exclude={"comment", "global_", *exclude})
