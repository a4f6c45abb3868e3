"""SNMP discovery: the neighbour (ARP and IPv6 neighbour) table of a router, read with pysnmp.

A router answers which addresses it has seen on which interface with which MAC address in
two tables: IP-MIB's ``ipNetToPhysicalTable`` (RFC 4293, IPv4 and IPv6) and the older
``ipNetToMediaTable`` (RFC 1213, IPv4 only), which older routers alone have. The newer is
walked first and the older only when the newer is empty or missing (GETBULK of 100 rows for
v2c and v3, GETNEXT for v1).

An SNMP profile says how to reach a router: v1 or v2c with a community, or v3 as a user with
authPriv (HMAC-SHA-2, AES), the security realms of a network's routers.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from services.common.model import Input
from services.common.monitoring import AuthProtocol, PrivProtocol

#: ipNetToMediaPhysAddress: index ifIndex.a.b.c.d
MEDIA_PHYS = (1, 3, 6, 1, 2, 1, 4, 22, 1, 2)
#: ipNetToPhysicalPhysAddress: index ifIndex.addressType.length.octets...
PHYSICAL_PHYS = (1, 3, 6, 1, 2, 1, 4, 35, 1, 4)


class SnmpProfile(Input):
    """How to read one realm's routers: ``version`` 1 or 2c with ``community``, or 3 as
    ``user`` with authPriv."""

    version: Literal["1", "2c", "3"] = "2c"
    community: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    user: Annotated[str | None, Field(min_length=1, max_length=32)] = None
    auth_protocol: AuthProtocol = AuthProtocol.SHA256
    auth_passphrase: Annotated[str | None, Field(min_length=8, max_length=128)] = None
    priv_protocol: PrivProtocol = PrivProtocol.AES128
    priv_passphrase: Annotated[str | None, Field(min_length=8, max_length=128)] = None
    port: Annotated[int, Field(ge=1, le=65535)] = 161
    timeout: Annotated[float, Field(gt=0, le=30)] = 2.0
    retries: Annotated[int, Field(ge=0, le=5)] = 1

    @model_validator(mode="after")
    def _complete(self) -> SnmpProfile:
        if self.version in ("1", "2c") and not self.community:
            raise ValueError(f"SNMP v{self.version} needs a community")
        if self.version == "3" and not (
            self.user and self.auth_passphrase and self.priv_passphrase
        ):
            raise ValueError("SNMPv3 needs user, auth_passphrase and priv_passphrase (authPriv)")
        return self


@dataclass(frozen=True, order=True)
class Neighbour:
    """One entry of a router's neighbour table."""

    address: str
    mac: str
    if_index: int


def _mac(octets: bytes) -> str:
    return ":".join(f"{b:02x}" for b in octets)


def media_entry(index: tuple[int, ...], value: bytes) -> Neighbour | None:
    """An ``ipNetToMediaTable`` row: index ifIndex.a.b.c.d."""
    if len(index) != 5 or len(value) != 6:
        return None
    return Neighbour(str(ipaddress.IPv4Address(bytes(index[1:]))), _mac(value), index[0])


def physical_entry(index: tuple[int, ...], value: bytes) -> Neighbour | None:
    """An ``ipNetToPhysicalTable`` row: index ifIndex.type.length.octets (type 1: IPv4,
    2: IPv6; the zone-scoped types 3 and 4 are left out)."""
    if len(index) < 3 or len(value) != 6:
        return None
    if_index, kind, length, octets = index[0], index[1], index[2], index[3:]
    if len(octets) != length:
        return None
    if kind == 1 and length == 4:
        return Neighbour(str(ipaddress.IPv4Address(bytes(octets))), _mac(value), if_index)
    if kind == 2 and length == 16:
        return Neighbour(str(ipaddress.IPv6Address(bytes(octets))), _mac(value), if_index)
    return None


def _auth(profile: SnmpProfile) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    if profile.version != "3":
        return hlapi.CommunityData(profile.community, mpModel=0 if profile.version == "1" else 1)
    auth = {
        AuthProtocol.SHA224: hlapi.usmHMAC128SHA224AuthProtocol,
        AuthProtocol.SHA256: hlapi.usmHMAC192SHA256AuthProtocol,
        AuthProtocol.SHA384: hlapi.usmHMAC256SHA384AuthProtocol,
        AuthProtocol.SHA512: hlapi.usmHMAC384SHA512AuthProtocol,
    }[profile.auth_protocol]
    priv = {
        PrivProtocol.AES128: hlapi.usmAesCfb128Protocol,
        PrivProtocol.AES192: hlapi.usmAesBlumenthalCfb192Protocol,
        PrivProtocol.AES256: hlapi.usmAesBlumenthalCfb256Protocol,
    }[profile.priv_protocol]
    return hlapi.UsmUserData(
        profile.user, profile.auth_passphrase, profile.priv_passphrase,
        authProtocol=auth, privProtocol=priv,
    )  # fmt: skip


class SnmpError(Exception):
    """The router did not answer, or answered with an error."""


async def _walk(engine: Any, auth: Any, target: Any, root: tuple[int, ...], bulk: bool) -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    start = hlapi.ObjectType(hlapi.ObjectIdentity(root))
    if bulk:
        walk = hlapi.bulk_walk_cmd(
            engine, auth, target, hlapi.ContextData(), 0, 100, start, lexicographicMode=False
        )
    else:
        walk = hlapi.walk_cmd(
            engine, auth, target, hlapi.ContextData(), start, lexicographicMode=False
        )
    async for error_indication, error_status, error_index, var_binds in walk:
        if error_indication:
            raise SnmpError(str(error_indication))
        if error_status:
            raise SnmpError(f"{error_status.prettyPrint()} at {error_index}")
        for name, value in var_binds:
            oid = tuple(name)
            if oid[: len(root)] != root:
                return
            yield oid[len(root) :], bytes(value.asOctets())


async def neighbours(address: str, profile: SnmpProfile) -> list[Neighbour]:
    """The router's neighbour table (both tables joined), sorted."""
    from pysnmp.hlapi.v3arch import asyncio as hlapi

    engine = hlapi.SnmpEngine()
    try:
        target = await hlapi.UdpTransportTarget.create(
            (address, profile.port), timeout=profile.timeout, retries=profile.retries
        )
        auth = _auth(profile)
        bulk = profile.version != "1"
        found: dict[tuple[int, str], Neighbour] = {}
        for root, read in ((PHYSICAL_PHYS, physical_entry), (MEDIA_PHYS, media_entry)):
            if found:  # a router with the newer table lists its IPv4 entries there too
                break
            async for index, value in _walk(engine, auth, target, root, bulk):
                entry = read(index, value)
                if entry is not None:
                    found.setdefault((entry.if_index, entry.address), entry)
        return sorted(found.values())
    finally:
        engine.close_dispatcher()
