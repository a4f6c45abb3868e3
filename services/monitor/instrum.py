"""pysnmp's MIB instrumentation for the agent: GET and GETNEXT served from a ``MibView``.

pysnmp's command responders call ``read_variables`` / ``read_next_variables`` of the
context's instrumentation with ``acFun``, the VACM check (RFC 3415): it raises when the
requester has no access at all and answers True for an OID outside its view. GETBULK is served
by the responder through repeated ``read_next_variables``.

Two checks come before that, for what VACM does not cover here: SNMPv1 is refused (Burrow
speaks v2c and v3), and a v2c community is accepted only from its source networks. A request
refused by them gets no answer at all, as one with a wrong community gets none: pysnmp sends
nothing for an error that is not an SMI error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from pysnmp.error import PySnmpError
from pysnmp.proto import rfc1902, rfc1905

from services.monitor.mib import MibView

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SNMPV1, SNMPV2C = 1, 2


class RefusedError(PySnmpError):  # type: ignore[misc]
    """The request is dropped without an answer."""


class ViewInstrum:
    """Read-only instrumentation over the latest ``MibView``."""

    def __init__(self, view: Callable[[], MibView], networks: dict[str, list[Network]]) -> None:
        self._view = view
        #: community security name -> the source networks it is accepted from
        self.networks = networks

    def _check_source(self, context: dict[str, Any]) -> None:
        engine = context["snmpEngine"]
        request = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
        model = int(request["securityModel"])
        if model == SNMPV1:
            raise RefusedError("SNMPv1 is not served")
        if model == SNMPV2C:
            allowed = self.networks.get(str(request["securityName"]), [])
            try:
                source = ipaddress.ip_address(request["transportAddress"][0])
            except (ValueError, IndexError, TypeError) as exc:
                raise RefusedError("no source address") from exc
            if not any(source in network for network in allowed):
                raise RefusedError(f"community not accepted from {source}")

    def read_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        self._check_source(context)
        view = self._view()
        ac = context.get("acFun")
        out: list[tuple[Any, Any]] = []
        for idx, (name, _) in enumerate(var_binds):
            value = view.get(tuple(name))
            if value is None or (ac and ac("read", (name, value), **dict(context, idx=idx))):
                out.append((name, rfc1905.noSuchObject))
            else:
                out.append((name, value))
        return out

    def read_next_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        self._check_source(context)
        view = self._view()
        ac = context.get("acFun")
        out: list[tuple[Any, Any]] = []
        for idx, (name, _) in enumerate(var_binds):
            for oid, value in view.after(tuple(name)):
                found = rfc1902.ObjectName(oid)
                if ac and ac("read", (found, value), **dict(context, idx=idx)):
                    continue
                out.append((found, value))
                break
            else:
                out.append((name, rfc1905.endOfMibView))
        return out

    def write_variables(self, *var_binds: Any, **context: Any) -> list[tuple[Any, Any]]:
        raise RefusedError("the agent is read-only")
