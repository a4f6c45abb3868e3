"""The wire model of a lease to add or to change (Kea's lease4-add / lease4-update,
lease6-add / lease6-update; Kea manual 16.12, "lease_cmds").

Adding a DHCPv4 lease needs ``address`` and ``hw_address``; a DHCPv6 lease ``address``,
``duid`` and ``iaid``, and a delegated prefix (``type`` ``IA_PD``) its ``prefix_len`` too.
A change names only what changes: the fields left out keep the lease's current values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.common.model import Input


class LeaseInput(Input):
    """A lease to add (``address`` required) or the fields of a lease to change."""

    address: str | None = Field(default=None, max_length=64, description="address or prefix")
    subnet_id: int | None = Field(default=None, ge=1, le=4294967294)
    hw_address: str | None = Field(default=None, max_length=64)
    client_id: str | None = Field(default=None, max_length=400)
    duid: str | None = Field(default=None, max_length=400)
    iaid: int | None = Field(default=None, ge=0, le=4294967295)
    type: Literal["IA_NA", "IA_PD"] | None = None
    prefix_len: int | None = Field(default=None, ge=1, le=128)
    hostname: str | None = Field(default=None, max_length=253)
    valid_lifetime: int | None = Field(default=None, ge=1, le=4294967295)
    preferred_lifetime: int | None = Field(default=None, ge=1, le=4294967295)
    state: Literal[0, 1] | None = Field(default=None, description="0 assigned, 1 declined")
