"""ISC DHCP's dhcpd.conf (DHCPv4) or dhcpd6.conf (DHCPv6) translated into Burrow's DHCP model.

What is carried over (dhcpd.conf(5), dhcp-options(5), dhcp-eval(5) and the Kea 2.2 manual):

- ``subnet ... netmask ...`` → a scope; ``range`` (also ``range dynamic-bootp``) → pools;
  ``pool { ... }`` → pools with their options and, from ``allow``/``deny`` lists, a client
  class (``members of``, ``known-clients``, ``unknown-clients``: Kea's KNOWN and UNKNOWN);
  ``next-server``, ``filename``, ``server-name`` on a subnet → the Kea subnet's own fields.
- ``shared-network`` → a shared network with its options; its subnets join it; a pool
  directly in a shared network goes to the subnet that holds its range.
- ``option NAME VALUE`` at every level → Kea option data (ISC names mapped to Kea's names or
  codes: ``bootfile-name`` is ``boot-file-name``, ``ien116-name-servers`` is
  ``name-servers``, ...); ``option space`` and ``option NAME code N = TYPE`` → option
  definitions (types mapped); values of an RFC 3442 definition of code 121 are sent as the
  same bytes (Kea 2.2 has no definition of its own for it).
- ``default-lease-time``, ``max-lease-time``, ``min-lease-time`` → valid lifetime, maximum,
  minimum; with a lease time the renew and rebind timers dhcpd's clients take (half and
  seven eighths); DHCPv6: ``preferred-lifetime`` (timers 1/2 and 4/5 of it, or dhcpd6's
  ``option dhcp-renewal-time`` / ``dhcp-rebinding-time``).
- ``host`` with ``hardware ethernet`` or ``option dhcp-client-identifier`` and a
  ``fixed-address`` → a reservation in the scope that holds the address, with host name
  (``option host-name``, ``ddns-hostname`` or, with ``use-host-decl-names on``, the
  declaration's name), options and boot fields; without a ``fixed-address``, a reservation
  without an address in the subnet it is declared in (or the file's only subnet). DHCPv6:
  ``host-identifier option dhcp6.client-id`` (a DUID) and ``fixed-address6``.
- DHCPv6: ``subnet6``, ``range6``, ``prefix6`` (prefix delegation pools), ``pool6``,
  ``option dhcp6.NAME``.
- ``class`` with ``match if EXPR`` → a client class whose test is EXPR in Kea's expression
  language, where it maps (``substring``, ``suffix``, ``option NAME``, ``exists``,
  ``hardware``, ``and``/``or``/``not``, ``=``/``!=``, strings and hexadecimal data); options
  and boot fields of the class; ``match DATA`` with ``subclass`` values → one test over
  the values.
- ``group`` → its parameters pushed into the declarations inside it.
- ``authoritative`` and a global ``next-server``, ``filename``, ``server-name``.

Everything else is listed in ``not_carried`` with its line and the reason; nothing is dropped
without a word. Statements that need nothing in Kea (``ddns-update-style none``) are listed
too, with a reason saying so.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError as PydanticError

from services.common.dhcp.contract import (
    HOSTNAME,
    NAME,
    ClientClass,
    OptionDef,
    OptionValue,
    Pool,
    PrefixPool,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
)
from services.common.dhcp.isc.conf import Conf, ConfError, Statement, Token, parse
from services.common.dhcp.isc.expressions import NoEquivalentError, expression
from services.common.dhcp.isc.names import ISC_V4, ISC_V6, PROTOCOL_V4, PROTOCOL_V6, TYPES
from services.common.dhcp.options import (
    RESERVED_V4,
    RESERVED_V6,
    STANDARD_V4,
    STANDARD_V6,
    Family,
)

Json = dict[str, Any]

#: Statements that change nothing in Kea, with the reason.
_NOT_NEEDED = {
    "ddns-update-style": "Kea sends no DNS updates unless its DDNS server is configured",
    "log-facility": "the appliance's Kea logs through its own outputs",
    "pid-file-name": "the appliance runs Kea",
    "lease-file-name": "Kea keeps its own lease file",
}
#: Statements carried nowhere, with the reason.
_NOT_CARRIED = {
    "ddns-updates": "DNS updates are Kea's DDNS server's business (kea-dhcp-ddns), not imported",
    "ddns-domainname": "DNS updates are not imported",
    "ddns-rev-domainname": "DNS updates are not imported",
    "update-static-leases": "DNS updates are not imported",
    "ignore-client-updates": "DNS updates are not imported",
    "update-optimization": "DNS updates are not imported",
    "update-conflict-detection": "DNS updates are not imported",
    "key": "DNS update keys are not imported",
    "zone": "DNS update zones are not imported",
    "failover": "failover is Kea's High Availability hook, configured on its own",
    "ping-check": "Kea 2.2 does not ping an address before offering it",
    "ping-timeout": "Kea 2.2 does not ping an address before offering it",
    "one-lease-per-client": "Kea has no such setting",
    "get-lease-hostnames": "Kea does not look host names up in the DNS",
    "local-address": "the appliance owns Kea's interfaces",
    "local-port": "the appliance owns Kea's sockets",
    "server-identifier": "Kea sends the address of its interface",
    "omapi-port": "OMAPI is ISC DHCP's own interface; Kea is managed through Burrow",
    "omapi-key": "OMAPI is ISC DHCP's own interface; Kea is managed through Burrow",
    "stash-agent-options": "Kea has no such setting",
    "always-reply-rfc1048": "Kea has no such setting",
    "always-broadcast": "Kea has no such setting",
    "dynamic-bootp-lease-length": "BOOTP needs Kea's bootp hook, not imported",
    "boot-unknown-clients": "use a pool limited to KNOWN clients",
    "min-secs": "Kea has no such setting",
    "use-lease-addr-for-default-route": "Kea has no such setting",
    "vendor-option-space": "options of a vendor space sent in option 43 need option 43 "
    "defined to encapsulate that space in Kea; not imported",
    "site-option-space": "Kea has no such setting",
    "if": "conditional statements have no Kea equivalent (a class test may replace one)",
    "elsif": "conditional statements have no Kea equivalent",
    "else": "conditional statements have no Kea equivalent",
    "subclass": "a subclass of no class carried over (its class needs 'match DATA;')",
    "on": "event statements (on commit/release/expiry) run code in dhcpd; Kea has none",
    "execute": "dhcpd runs programs with execute; Kea's run_script hook is not imported",
    "log": "log statements of expressions have no Kea equivalent",
    "set": "variables of dhcpd's expressions have no Kea equivalent",
    "lease": "lease limits have no Kea equivalent",
}
_HEX = re.compile(r"^[0-9A-Fa-f]{1,2}(:[0-9A-Fa-f]{1,2})+$")
_NAME = re.compile(NAME)
_HOSTNAME = re.compile(HOSTNAME)


# --- results --------------------------------------------------------------------------
@dataclass(frozen=True)
class NotCarried:
    """A statement (or part of one) that the import leaves out, and why."""

    line: int
    statement: str
    reason: str


@dataclass
class Placed:
    """A scope made from the configuration, with the line it comes from and Kea subnet keys
    the model does not hold (``next-server``, ``boot-file-name``, ``server-hostname``)."""

    line: int
    scope: Scope
    extra: Json = field(default_factory=dict)
    #: The line of each reservation (same order as ``scope.reservations``).
    reservation_lines: list[int] = field(default_factory=list)
    #: Reservations placed here while the hosts are read (put into ``scope`` at the end).
    pending: list[Reservation] = field(default_factory=list)
    identifiers: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Translation:
    """What a dhcpd.conf becomes in Burrow's model."""

    scopes: list[Placed] = field(default_factory=list)
    shared_networks: list[tuple[int, SharedNetwork]] = field(default_factory=list)
    classes: list[tuple[int, ClientClass]] = field(default_factory=list)
    option_definitions: list[tuple[int, OptionDef]] = field(default_factory=list)
    options: list[OptionValue] = field(default_factory=list)
    properties: ServerProperties = field(default_factory=ServerProperties)
    #: Kea top-level keys the model does not hold (authoritative, boot-file-name, ...).
    extra: Json = field(default_factory=dict)
    #: Hosts without a fixed address and outside any subnet: Kea's global reservations.
    global_reservations: list[tuple[int, Reservation]] = field(default_factory=list)
    not_carried: list[NotCarried] = field(default_factory=list)


# --- the walk -------------------------------------------------------------------------
@dataclass
class _Params:
    """Parameters in force at a point of the file (a group passes its own down)."""

    options: list[tuple[int, OptionValue]] = field(default_factory=list)
    lifetimes: dict[str, int] = field(default_factory=dict)
    boot: Json = field(default_factory=dict)  # next-server, boot-file-name, server-hostname
    use_host_decl_names: bool = False
    deny_unknown: bool = False
    #: The file's top level: its parameters are Kea's server-wide ones, which every scope
    #: inherits in Kea too; they are not copied into the declarations.
    is_global: bool = False

    def child(self) -> _Params:
        if self.is_global:
            return _Params(use_host_decl_names=self.use_host_decl_names)
        return _Params(list(self.options), dict(self.lifetimes), dict(self.boot),
                       self.use_host_decl_names, self.deny_unknown)  # fmt: skip


@dataclass
class _Host:
    line: int
    name: str
    statements: list[Statement]
    params: _Params
    #: The subnet the host is declared in, if any.
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None


@dataclass
class _LoosePool:
    """A pool directly in a shared network: placed in the subnet that holds its range."""

    line: int
    pool: Pool | PrefixPool
    network: str


class _Translator:
    def __init__(self, family: Family) -> None:
        self.family: Family = family
        self.v6 = family == "v6"
        self.base = "dhcp6" if self.v6 else "dhcp"
        self.out = Translation()
        self.spaces: set[str] = set()
        self.definitions: dict[tuple[str, str], OptionDef] = {}
        self.classless: set[str] = set()  # names given to code 121 (RFC 3442 routes)
        self.class_names: dict[str, str] = {}  # ISC name -> Kea name
        self.hosts: list[_Host] = []
        self.loose_pools: list[_LoosePool] = []
        self.range_words = ("range6", "prefix6") if self.v6 else ("range",)
        self.pool_word = "pool6" if self.v6 else "pool"
        self.lines: dict[int, int] = {}  # the line of a prefix pool, by id()
        self.subclasses: dict[str, list[Statement]] = {}  # ISC class name -> its subclasses
        self.global_identifiers: set[tuple[str, str]] = set()

    # --- reporting ------------------------------------------------------------------
    def drop(self, statement: Statement, reason: str) -> None:
        text = statement.text()
        if statement.block is not None:
            text += " { ... }"
        self.out.not_carried.append(NotCarried(statement.line, text[:200], reason))

    # --- top level ---------------------------------------------------------------------
    def run(self, conf: Conf) -> Translation:
        top = _Params(is_global=True)
        for statement in conf.statements:
            if statement.keyword == "subclass" and len(statement.tokens) >= 2:
                self.subclasses.setdefault(statement.tokens[1].value, []).append(statement)
        # Definitions and classes first: options and pools anywhere may use them.
        for statement in conf.statements:
            if statement.keyword == "option" and self._is_definition(statement):
                self.definition(statement)
            elif statement.keyword == "option" and statement.words()[1:2] == ["space"]:
                self.space(statement)
            elif statement.keyword == "class" and statement.block is not None:
                self.klass(statement, top)
        for statement in conf.statements:
            if statement.keyword == "option" and (
                self._is_definition(statement) or statement.words()[1:2] == ["space"]
            ):
                continue
            if statement.keyword == "class" and statement.block is not None:
                continue
            if (
                statement.keyword == "subclass"
                and statement.tokens[1:2]
                and (statement.tokens[1].value in self.class_names)
            ):
                continue  # carried in its class's test
            self.statement(statement, top, level="global")
        self.out.options = [o for _line, o in top.options]
        self.global_lifetimes(top)
        self.out.extra.update(top.boot)
        self.place_loose_pools()
        self.place_hosts()
        return self.out

    def global_lifetimes(self, params: _Params) -> None:
        values = _lifetimes(params.lifetimes, self.family)
        if values:
            self.out.properties = ServerProperties.model_validate(values)

    def statement(self, st: Statement, params: _Params, *, level: str) -> None:
        """A statement in the global scope, a group or a shared network (``level``)."""
        keyword = st.keyword
        if keyword == ("subnet6" if self.v6 else "subnet") and st.block is not None:
            self.subnet(st, params, network=params_network(level))
        elif keyword == "subnet6":
            self.drop(st, "DHCPv6 subnets belong in a dhcpd6.conf, imported as DHCPv6")
        elif keyword == "subnet":
            self.drop(st, "DHCPv4 subnets belong in a dhcpd.conf, imported as DHCPv4")
        elif keyword == "shared-network" and st.block is not None and level == "global":
            self.shared_network(st, params)
        elif keyword == "host" and st.block is not None:
            name = st.tokens[1].value if len(st.tokens) > 1 else ""
            self.hosts.append(_Host(st.line, name, st.block, params.child()))
        elif keyword == "group" and st.block is not None:
            inner = params.child()
            for member in st.block:
                if not self.parameter(member, inner, where="group"):
                    self.statement(member, inner, level=level)
        elif keyword == "class" and st.block is not None:
            self.drop(st, "a class inside a block: Kea's classes are server-wide; declare it "
                      "at the top of the file")  # fmt: skip
        elif (
            keyword in ("pool", "pool6")
            and st.block is not None
            and level.startswith("shared-network:")
        ):
            self.pool(st, params, None, network=level.partition(":")[2])
        elif level == "global" and keyword == "authoritative" and self.v6:
            self.drop(st, "not needed: Kea's DHCPv6 server answers as dhcpd6 does when "
                      "authoritative")  # fmt: skip
        elif level == "global" and keyword == "authoritative":
            self.out.extra["authoritative"] = True
        elif level == "global" and st.words()[:2] == ["not", "authoritative"]:
            self.out.extra["authoritative"] = False
        elif not self.parameter(st, params, where=level):
            self.unknown(st)

    def unknown(self, st: Statement) -> None:
        keyword = st.keyword
        words = st.words()
        if keyword in _NOT_NEEDED and not (keyword == "ddns-update-style" and
                                           words[1:2] != ["none"]):  # fmt: skip
            self.drop(st, "not needed: " + _NOT_NEEDED[keyword])
        elif keyword in _NOT_CARRIED:
            self.drop(st, _NOT_CARRIED[keyword])
        elif keyword == "ddns-update-style":
            self.drop(st, "DNS updates are Kea's DDNS server's business, not imported")
        elif words[1:2] == ["leasequery"]:
            self.drop(st, "leasequery needs Kea's lease_query hook, which Debian's Kea 2.2 lacks")
        elif keyword in ("allow", "deny", "ignore"):
            self.drop(st, f"'{' '.join(words[:3])}' is only carried over in a pool")
        elif keyword in ("range", "pool"):
            self.drop(st, "an address range outside a subnet or shared network")
        elif keyword == "authoritative" or words[:2] == ["not", "authoritative"]:
            self.drop(st, "Kea's 'authoritative' is server-wide; set it at the top of the file")
        else:
            self.drop(st, f"'{keyword or st.text()}' is not a statement this import carries over")

    # --- parameters (options, lifetimes, boot fields) -----------------------------------
    def parameter(self, st: Statement, params: _Params, *, where: str) -> bool:
        """Take a parameter statement into ``params``; False when ``st`` is none."""
        keyword = st.keyword
        words = st.words()
        if st.block is not None:
            return False
        if (
            self.v6
            and keyword == "option"
            and words[1:2] in (["dhcp-renewal-time"], ["dhcp-rebinding-time"])
        ):
            # dhcpd -6 takes T1 and T2 from these DHCPv4 options (dhcpd.conf(5))
            number = _number(words[2:])
            if number is None:
                self.drop(st, f"{words[1]} needs a number of seconds")
            else:
                params.lifetimes[words[1]] = number
            return True
        if keyword == "option":
            if self._is_definition(st):
                self.drop(st, "option definitions are server-wide in Kea; define it at the top "
                          "of the file")  # fmt: skip
                return True
            if len(words) >= 2 and words[1] == "space":
                self.drop(st, "option spaces are server-wide; declare it at the top of the file")
                return True
            made = self.option(st)
            if made is not None:
                params.options = [(n, o) for n, o in params.options if not _same(o, made)]
                params.options.append((st.line, made))
            return True
        if keyword in ("default-lease-time", "max-lease-time", "min-lease-time") or (
            self.v6 and keyword == "preferred-lifetime"
        ):
            number = _number(words[1:])
            if number is None:
                self.drop(st, f"{keyword} needs a number of seconds")
            else:
                params.lifetimes[keyword] = number
            return True
        if keyword in ("next-server", "filename", "server-name"):
            if self.v6:
                self.drop(st, "BOOTP fields are DHCPv4 only (DHCPv6 has bootfile-url)")
            else:
                self.boot_field(st, params.boot)
            return True
        if keyword == "use-host-decl-names":
            params.use_host_decl_names = words[1:2] in (["on"], ["true"])
            return True
        if words[:2] == ["deny", "unknown-clients"] or words[:2] == ["ignore", "unknown-clients"]:
            if where.startswith("subnet"):
                params.deny_unknown = True
                return True
            return False
        return False

    def boot_field(self, st: Statement, boot: Json) -> None:
        keyword, words = st.keyword, st.words()
        value = words[1] if len(words) == 2 else None
        if value is None:
            self.drop(st, f"{keyword} takes one value")
        elif keyword == "next-server":
            try:
                boot["next-server"] = str(ipaddress.IPv4Address(value))
            except ValueError:
                self.drop(st, "next-server by name: dhcpd looks it up at start; Kea needs the "
                          "address")  # fmt: skip
        elif keyword == "filename":
            boot["boot-file-name"] = value
        else:
            boot["server-hostname"] = value

    # --- options --------------------------------------------------------------------------
    @staticmethod
    def _is_definition(st: Statement) -> bool:
        words = st.words()
        return len(words) >= 4 and words[2] == "code" and "=" in words

    def definition(self, st: Statement) -> None:
        words = st.words()
        if len(words) >= 2 and words[1] == "space":
            return self.space(st)
        full = words[1]
        space, _, name = full.rpartition(".")
        try:
            code = int(words[3])
        except ValueError:
            return self.drop(st, f"{words[3]!r} is not an option code")
        if words[4:5] != ["="]:
            return self.drop(st, "an option definition is 'option NAME code N = TYPE'")
        kind = _option_type(st.tokens[5:])
        if kind is None:
            return self.drop(st, "this option type has no Kea equivalent")
        kea_type, array, record_types, encapsulate = kind
        if space in ("", self.base) and (space or not self.v6):
            space = ""
            if code in (RESERVED_V6 if self.v6 else RESERVED_V4):
                known = (STANDARD_V6 if self.v6 else STANDARD_V4).get(code)
                if code == 121 and not self.v6:
                    self.classless.add(name)
                    why = (
                        f"not needed: Kea sends code 121 as data; values of {name} are carried over"
                    )
                    return self.drop(st, why)
                what = known.name if known else f"option {code}"
                return self.drop(st, f"code {code} is Kea's own ({what}): values of {name} "
                                 "would be sent as Kea defines them; not imported")  # fmt: skip
        elif space not in self.spaces:
            return self.drop(st, f"option space {space!r} is not declared ('option space "
                             f"{space};' before it)")  # fmt: skip
        if space == "agent" or space == "server":
            return self.drop(st, f"ISC's {space} space has no Kea equivalent")
        try:
            made = OptionDef(code=code, name=name, type=kea_type, array=array,
                             space=space or None, record_types=record_types,
                             encapsulate=encapsulate)  # fmt: skip
        except PydanticError as exc:
            return self.drop(st, "Kea does not take this definition: " + _first_error(exc))
        self.definitions[(space, name)] = made
        self.out.option_definitions.append((st.line, made))
        return None

    def space(self, st: Statement) -> None:
        words = st.words()
        name = words[2] if len(words) >= 3 else ""
        if not re.match(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", name):
            return self.drop(st, f"{name!r} is not a name Kea takes for an option space")
        rest = words[3:]
        widths = " ".join(rest)
        if rest and widths not in ("code width 1 length width 1", "code width 1",
                                   "length width 1"):  # fmt: skip
            self.drop(st, "option space widths other than 1 have no Kea equivalent for DHCPv4; "
                      "the space is declared with Kea's widths")  # fmt: skip
        self.spaces.add(name)
        return None

    def option(self, st: Statement) -> OptionValue | None:
        """An ``option NAME VALUE`` statement as Kea option data, or None (listed)."""
        if len(st.tokens) < 2:
            self.drop(st, "an option without a name")
            return None
        full = st.tokens[1].value
        values = _values(st.tokens[2:])
        space, _, name = full.rpartition(".")
        if self.v6 and space in ("", "dhcp"):
            self.drop(st, "a DHCPv4 option in a DHCPv6 configuration (dhcpd -6 ignores it)")
            return None
        if self.v6 and space == "dhcp6":
            return self._option_v6(st, name, values)
        if space in ("", "dhcp"):
            if name in PROTOCOL_V4:
                self.drop(st, f"not carried: {PROTOCOL_V4[name]}")
                return None
            custom = self.definitions.get(("", name))
            if name in self.classless:
                routes = _classless_routes(values)
                if routes is None:
                    self.drop(st, "the routes are not 'width, destination bytes, router' groups")
                    return None
                return OptionValue(code=121, data=routes, csv_format=False)
            if custom is not None:
                return self._typed(st, custom.type, custom.array, values, name=name)
            return self._by_isc_name(st, name, values)
        custom = self.definitions.get((space, name))
        if custom is None:
            self.drop(st, f"option {full} has no definition ('option {full} code N = TYPE')")
            return None
        return self._typed(st, custom.type, custom.array, values, name=name, space=space)

    def _option_v6(self, st: Statement, name: str, values: list[Token]) -> OptionValue | None:
        if name in PROTOCOL_V6:
            self.drop(st, f"not carried: {PROTOCOL_V6[name]}")
            return None
        custom = self.definitions.get(("", name))
        if custom is not None:
            return self._typed(st, custom.type, custom.array, values, name=name)
        return self._by_isc_name(st, name, values)

    def _by_isc_name(self, st: Statement, name: str, values: list[Token]) -> OptionValue | None:
        """An option by dhcpd's own name: Kea's name for it where Kea has one, else its code."""
        known = (ISC_V6 if self.v6 else ISC_V4).get(name)
        if known is None:
            self.drop(st, f"Kea has no DHCPv6 option named {name!r}; define it first "
                      "('option dhcp6.NAME code N = TYPE')" if self.v6 else
                      f"Kea has no option named {name!r}; define it first "
                      "('option NAME code N = TYPE')")  # fmt: skip
            return None
        code, kind = known
        data = self._data(st, kind, values)
        if data is None:
            return None
        text, csv = data
        standard = (STANDARD_V6 if self.v6 else STANDARD_V4).get(code)
        if standard is not None:
            return OptionValue(name=standard.name, data=text, csv_format=csv)
        return OptionValue(code=code, data=text, csv_format=csv)

    def _typed(
        self, st: Statement, kea_type: str, array: bool, values: list[Token], *, name: str,
        space: str | None = None,
    ) -> OptionValue | None:  # fmt: skip
        kind = {
            "ipv4-address": "ips" if array else "ip",
            "ipv6-address": "ip6s" if array else "ip6",
            "string": "text",
            "fqdn": "fqdns" if array else "fqdn",
            "boolean": "flag",
            "binary": "hex",
            "empty": "empty",
        }.get(kea_type, "uint" if kea_type.startswith("uint") else "int"
              if kea_type.startswith("int") else "raw")  # fmt: skip
        data = self._data(st, kind, values)
        if data is None:
            return None
        return OptionValue(name=name, space=space, data=data[0], csv_format=data[1])

    def _data(self, st: Statement, kind: str, values: list[Token]) -> tuple[str, bool] | None:
        """Kea's ``data`` and ``csv-format`` for ISC values of ``kind``, or None (listed)."""
        words = [t.value for t in values]
        if kind == "empty":
            return "", True
        if not values:
            self.drop(st, "an option without a value")
            return None
        if kind in ("ip6", "ip6s", "ip", "ips", "ippairs"):
            v6 = kind.startswith("ip6")
            address = ipaddress.IPv6Address if v6 else ipaddress.IPv4Address
            try:
                addresses = [str(address(w)) for w in words]
            except ValueError:
                why = ("a value is not an IPv6 address (dhcpd looks names up at start; Kea "
                       "needs the addresses)") if v6 else ("a value is a name, not an address: "
                       "dhcpd looks names up at start; Kea needs the addresses")  # fmt: skip
                self.drop(st, why)
                return None
            if kind in ("ip", "ip6") and len(addresses) > 1:
                self.drop(st, "this option takes one address")
                return None
            return ", ".join(addresses), True
        if kind in ("fqdn", "fqdns", "text") and all(t.kind == "string" for t in values):
            if kind == "text" and len(values) > 1:
                self.drop(st, "this option takes one text")
                return None
            return ", ".join(w.replace(",", "\\,") for w in words), True
        if kind in ("text", "hex", "raw") and len(values) == 1 and values[0].kind == "word" \
                and _HEX.match(words[0]):  # fmt: skip
            return _hex(words[0]).replace(":", ""), False
        if kind == "hex" and len(values) == 1 and values[0].kind == "string":
            return words[0].encode("latin-1", errors="replace").hex(), False
        if kind in ("uint", "int"):
            if all(re.match(r"^-?\d+$", w) for w in words):
                return ", ".join(words), True
        if kind == "flag" and len(words) == 1 and words[0] in ("on", "off", "true", "false"):
            return ("true" if words[0] in ("on", "true") else "false"), True
        if kind == "raw":
            return ", ".join(words), True
        self.drop(st, "the value is not of the option's type")
        return None

    # --- classes ----------------------------------------------------------------------
    def klass(self, st: Statement, params: _Params) -> None:
        raw_name = st.tokens[1].value if len(st.tokens) > 1 else ""
        name = _kea_name(raw_name)
        if name is None:
            return self.drop(st, f"{raw_name!r} cannot be a Kea class name")
        test = ""
        options: list[OptionValue] = []
        boot: Json = {}
        for inner in st.block or []:
            words = inner.words()
            if words[:2] == ["match", "if"]:
                try:
                    test = expression(inner.tokens[2:], self.family)
                except NoEquivalentError as exc:
                    return self.drop(st, f"its test (line {inner.line}) has no Kea equivalent: "
                                     f"{exc}")  # fmt: skip
            elif inner.keyword == "match":
                try:
                    test = self.subclass_test(raw_name, inner.tokens[1:])
                except NoEquivalentError as exc:
                    return self.drop(st, f"its match (line {inner.line}) and subclasses have no "
                                     f"Kea equivalent: {exc}")  # fmt: skip
            elif inner.keyword == "option" and not self._is_definition(inner):
                value = self.option(inner)
                if value is not None:
                    options.append(value)
            elif inner.keyword in ("next-server", "filename", "server-name") and not self.v6:
                self.boot_field(inner, boot)
            else:
                self.unknown(inner)
        if not test:
            return self.drop(st, "a class without a 'match if' test: Kea would put no client "
                             "in it")  # fmt: skip
        try:
            made = ClientClass(
                name=name, test=test, options=options, next_server=boot.get("next-server"),
                server_hostname=boot.get("server-hostname"),
                boot_file_name=boot.get("boot-file-name"),
            )  # fmt: skip
        except PydanticError as exc:
            return self.drop(st, "Kea does not take this class: " + _first_error(exc))
        if name != raw_name:
            why = f"renamed {name!r} (Kea's class names)"
            self.out.not_carried.append(NotCarried(st.line, f'class "{raw_name}"', why))
        self.class_names[raw_name] = name
        self.out.classes.append((st.line, made))
        return None

    def subclass_test(self, name: str, data: list[Token]) -> str:
        """``match DATA;`` with its ``subclass "name" VALUE;`` statements as one Kea test:
        ``DATA == VALUE1 or DATA == VALUE2 ...`` (a subclass with a block of its own is
        listed: its options would need a class of their own)."""
        if data[:1] and data[0].value == "if":
            raise NoEquivalentError("unexpected 'if'")
        if data[:2] and [t.value for t in data[:2]] == ["spawn", "with"]:
            raise NoEquivalentError("'spawn with' makes a class per client")
        members = self.subclasses.get(name, [])
        if not members:
            raise NoEquivalentError("the class has no subclasses")
        terms = []
        for member in members:
            if member.block:
                self.drop(member, "a subclass with statements of its own: its value is carried "
                          "into the class test, its statements are not")  # fmt: skip
            value = member.tokens[2:] if len(member.tokens) >= 3 else []
            if len(value) != 1:
                raise NoEquivalentError(f"the subclass on line {member.line} has no one value")
            tokens = [*data, Token("punct", "=", member.line), value[0]]
            terms.append(expression(tokens, self.family))
        return " or ".join(terms) if len(terms) == 1 else " or ".join(f"({t})" for t in terms)

    # --- shared networks, subnets and pools ----------------------------------------------
    def shared_network(self, st: Statement, params: _Params) -> None:
        raw = st.tokens[1].value if len(st.tokens) > 1 else ""
        name = _kea_name(raw)
        if name is None:
            return self.drop(st, f"{raw!r} cannot be a Kea shared network name")
        if name != raw:
            self.out.not_carried.append(NotCarried(st.line, f"shared-network {raw}",
                                                   f"renamed {name!r} (Kea's names)"))  # fmt: skip
        inner = _Params()  # a shared network's own parameters stay on it in Kea
        inner.use_host_decl_names = params.use_host_decl_names
        at = len(self.out.scopes)
        for member in st.block or []:
            # Lease times and boot fields of the network go to its subnets (Burrow's model
            # keeps them on scopes): see ``pushed`` below.
            if not self.parameter(member, inner, where=f"shared-network:{name}"):
                self.statement(member, inner, level=f"shared-network:{name}")
        outer = _Params() if params.is_global else params
        pushed = _Params(list(outer.options), {**outer.lifetimes, **inner.lifetimes},
                         {**outer.boot, **inner.boot})  # fmt: skip
        for placed in self.out.scopes[at:]:
            self._inherit(placed, pushed)
        try:
            network = SharedNetwork(name=name, options=[o for _n, o in inner.options])
        except PydanticError as exc:
            return self.drop(st, "Kea does not take this shared network: " + _first_error(exc))
        self.out.shared_networks.append((st.line, network))
        return None

    def _inherit(self, placed: Placed, outer: _Params) -> None:
        """Give a scope the lifetimes and boot fields of an enclosing block it does not set."""
        values = _lifetimes(outer.lifetimes, self.family)
        update = {k: v for k, v in values.items() if getattr(placed.scope, k) is None}
        if update:
            placed.scope = placed.scope.model_copy(update=update)
        for key, value in outer.boot.items():
            placed.extra.setdefault(key, value)
        missing = [o for _n, o in outer.options
                   if not any(_same(o, mine) for mine in placed.scope.options)]  # fmt: skip
        if missing:
            placed.scope = placed.scope.model_copy(
                update={"options": [*missing, *placed.scope.options]}
            )

    def subnet(self, st: Statement, params: _Params, network: str | None) -> None:
        words = st.words()
        subnet: ipaddress.IPv4Network | ipaddress.IPv6Network
        if self.v6:
            if len(words) != 2:
                return self.drop(st, "a subnet6 is 'subnet6 PREFIX/LENGTH'")
            try:
                subnet = ipaddress.IPv6Network(words[1])
            except ValueError as exc:
                return self.drop(st, f"not an IPv6 subnet: {exc}")
        else:
            if len(words) != 4 or words[2] != "netmask":
                return self.drop(st, "a subnet is 'subnet ADDRESS netmask MASK'")
            try:
                subnet = ipaddress.IPv4Network(f"{words[1]}/{words[3]}")
            except ValueError as exc:
                return self.drop(st, f"not an IPv4 subnet: {exc}")
        own = params.child() if network is None else _Params()
        own.use_host_decl_names = params.use_host_decl_names
        pools: list[Pool | PrefixPool] = []
        for inner in st.block or []:
            keyword = inner.keyword
            if keyword in self.range_words and inner.block is None:
                pools += self.ranges(inner, None, [])
            elif keyword == self.pool_word and inner.block is not None:
                pools += self.pool(inner, own, subnet, network=None)
            elif keyword in ("host", "group") and inner.block is not None:
                # Kea gives a reservation its scope's options: only the host's own (and its
                # groups') are kept
                self.subnet_hosts(
                    inner, _Params(use_host_decl_names=own.use_host_decl_names), subnet
                )
            elif keyword == "authoritative" and not self.v6:
                self.out.extra["authoritative"] = True
                self.drop(inner, "not needed per subnet: 'authoritative' is set server-wide")
            elif not self.parameter(inner, own, where="subnet"):
                self.unknown(inner)
        if own.deny_unknown:
            pools = [p if p.client_class else p.model_copy(update={"client_class": "KNOWN"})
                     for p in pools]  # fmt: skip
        inside: list[Pool] = []
        for pool in pools:
            if not isinstance(pool, Pool):
                continue
            if pool.start in subnet and pool.end in subnet:
                inside.append(pool)
                continue
            self.out.not_carried.append(
                NotCarried(
                    st.line, f"range {pool.start} {pool.end}", f"outside the subnet {subnet}"
                )
            )
        prefixes: list[PrefixPool] = []
        for prefix in (p for p in pools if isinstance(p, PrefixPool)):
            clash = next((p for p in inside if p.start in prefix.prefix or p.end in prefix.prefix),
                         None)  # fmt: skip
            if clash is None:
                prefixes.append(prefix)
                continue
            why = (f"overlaps the address range {clash.start} - {clash.end}: Kea refuses a "
                   "prefix pool over addresses of a pool")  # fmt: skip
            line = self.lines.get(id(prefix), st.line)
            self.out.not_carried.append(NotCarried(line, f"prefix6 {prefix.prefix}", why))
        try:
            scope = Scope.model_validate(
                {"subnet": subnet, "pools": inside, "pd_pools": prefixes, "shared_network": network,
                 "options": [o for _n, o in own.options], **_lifetimes(own.lifetimes, self.family)}
            )  # fmt: skip
        except PydanticError as exc:
            return self.drop(st, "Kea does not take this subnet: " + _first_error(exc))
        self.out.scopes.append(Placed(st.line, scope, dict(own.boot)))
        return None

    def subnet_hosts(
        self, st: Statement, params: _Params,
        subnet: ipaddress.IPv4Network | ipaddress.IPv6Network,
    ) -> None:  # fmt: skip
        """A host, or a group of hosts, inside a subnet."""
        if st.keyword == "host":
            name = st.tokens[1].value if len(st.tokens) > 1 else ""
            self.hosts.append(_Host(st.line, name, st.block or [], params, subnet))
            return
        inner = params.child()
        for member in st.block or []:
            if member.keyword in ("host", "group") and member.block is not None:
                self.subnet_hosts(member, inner, subnet)
            elif not self.parameter(member, inner, where="group"):
                self.drop(member, "a group inside a subnet is carried over for its hosts and "
                          "their parameters only")  # fmt: skip

    def ranges(self, st: Statement, client_class: str | None,
               options: list[OptionValue]) -> list[Pool | PrefixPool]:  # fmt: skip
        if self.v6:
            return self.ranges6(st, client_class, options)
        words = st.words()[1:]
        if words[:1] == ["dynamic-bootp"]:
            words = words[1:]
            self.drop(st, "dynamic-bootp: the range is carried over, but Kea answers BOOTP "
                      "clients only with its bootp hook")  # fmt: skip
        try:
            addresses = [ipaddress.IPv4Address(w) for w in words]
        except ValueError:
            self.drop(st, "a range is one or two IPv4 addresses")
            return []
        if len(addresses) not in (1, 2):
            self.drop(st, "a range is one or two IPv4 addresses")
            return []
        start, end = addresses[0], addresses[-1]
        if end < start:
            start, end = end, start
        return [Pool(start=start, end=end, client_class=client_class, options=options)]

    def ranges6(self, st: Statement, client_class: str | None,
                options: list[OptionValue]) -> list[Pool | PrefixPool]:  # fmt: skip
        words = st.words()[1:]
        if "temporary" in words:
            self.drop(st, "temporary addresses (IA_TA) are not imported")
            return []
        try:
            if st.keyword == "prefix6":
                if len(words) != 3 or not words[2].startswith("/"):
                    raise ValueError("a prefix6 is 'prefix6 START END /LENGTH'")
                length = int(words[2][1:])
                first = ipaddress.IPv6Address(words[0])
                last = ipaddress.IPv6Address(int(ipaddress.IPv6Address(words[1])) +
                                             2 ** (128 - length) - 1)  # fmt: skip
                # Kea's prefix pools are one prefix each: a range of several is several pools
                nets = list(ipaddress.summarize_address_range(first, last))
                if any(n.prefixlen > length for n in nets):
                    raise ValueError(f"{words[0]} to {words[1]} is not a whole number of /"
                                     f"{length} prefixes")  # fmt: skip
                made = [PrefixPool(prefix=n, delegated_len=length, client_class=client_class,
                                   options=options) for n in nets]  # fmt: skip
                self.lines.update((id(m), st.line) for m in made)
                return list(made)
            if len(words) == 1 and "/" in words[0]:
                net = ipaddress.IPv6Network(words[0])
                start, end = net[0], net[-1]
            elif len(words) == 2:
                start, end = ipaddress.IPv6Address(words[0]), ipaddress.IPv6Address(words[1])
            else:
                raise ValueError("a range6 is 'range6 START END' or 'range6 PREFIX/LENGTH'")
        except (ValueError, PydanticError) as exc:
            reason = _first_error(exc) if isinstance(exc, PydanticError) else str(exc)
            self.drop(st, reason)
            return []
        return [Pool(start=min(start, end), end=max(start, end), client_class=client_class,
                     options=options)]  # fmt: skip

    def pool(self, st: Statement, params: _Params,
             subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None,
             *, network: str | None) -> list[Pool | PrefixPool]:  # fmt: skip
        options: list[OptionValue] = []
        allow: list[str] = []
        deny: list[str] = []
        ranges: list[Statement] = []
        for inner in st.block or []:
            words = inner.words()
            if inner.keyword in self.range_words:
                ranges.append(inner)
            elif inner.keyword == "option" and not self._is_definition(inner):
                made = self.option(inner)
                if made is not None:
                    options.append(made)
            elif inner.keyword in ("allow", "deny", "ignore"):
                term = self._permit(inner, words[1:])
                if term is not None:
                    (allow if inner.keyword == "allow" else deny).append(term)
            elif inner.keyword in ("default-lease-time", "max-lease-time", "min-lease-time"):
                self.drop(inner, "Kea's pools have no lifetimes of their own: set it on the "
                          "subnet")  # fmt: skip
            elif inner.keyword == "failover":
                self.drop(inner, _NOT_CARRIED["failover"])
            else:
                self.unknown(inner)
        client_class = self._pool_class(st, allow, deny)
        pools: list[Pool | PrefixPool] = []
        for rng in ranges:
            pools += self.ranges(rng, client_class, options)
        if network is not None:
            self.loose_pools += [_LoosePool(st.line, p, network) for p in pools]
            return []
        return pools

    def _permit(self, st: Statement, words: list[str]) -> str | None:
        text = " ".join(words)
        if text in ("known-clients", "known clients"):
            return "member('KNOWN')"
        if text in ("unknown-clients", "unknown clients"):
            return "member('UNKNOWN')"
        if text == "all clients":
            return "true"
        if words[:2] == ["members", "of"] and len(words) == 3:
            name = self.class_names.get(words[2])
            if name is None:
                self.drop(st, f"there is no class {words[2]!r} carried over")
                return None
            return f"member('{name}')"
        self.drop(st, f"'{st.keyword} {text}' has no Kea equivalent")
        return None

    def _pool_class(self, st: Statement, allow: list[str], deny: list[str]) -> str | None:
        """The class a pool is limited to by its permit lists (None: every client)."""
        allow = [a for a in allow if a != "true"] if "true" not in allow else []
        if not allow and not deny:
            return None
        if len(allow) == 1 and not deny:
            return _member(allow[0])
        if not allow and len(deny) == 1 and deny[0] in ("member('KNOWN')", "member('UNKNOWN')"):
            return "UNKNOWN" if deny[0] == "member('KNOWN')" else "KNOWN"
        parts = [" or ".join(allow)] if allow else []
        parts += [f"not {d}" for d in deny]
        test = " and ".join(f"({p})" if " or " in p else p for p in parts)
        name = f"isc-pool-line-{st.line}"
        self.out.classes.append((st.line, ClientClass(name=name, test=test)))
        self.out.not_carried.append(
            NotCarried(
                st.line,
                "pool { allow/deny ... }",
                f"not needed: the permit lists became the class {name!r} (test {test})",
            )
        )
        return name

    def place_loose_pools(self) -> None:
        for loose in self.loose_pools:
            if isinstance(loose.pool, PrefixPool):  # delegated prefixes are off-link
                first = next((p for p in self.out.scopes
                              if p.scope.shared_network == loose.network), None)  # fmt: skip
                if first is None:
                    self.out.not_carried.append(NotCarried(
                        loose.line, f"prefix6 {loose.pool.prefix}",
                        f"shared network {loose.network!r} has no subnet"))  # fmt: skip
                else:
                    first.scope = first.scope.model_copy(
                        update={"pd_pools": [*first.scope.pd_pools, loose.pool]}
                    )
                continue
            pool = loose.pool
            target = next(
                (p for p in self.out.scopes if p.scope.shared_network == loose.network and
                 pool.start in p.scope.subnet and pool.end in p.scope.subnet),
                None,
            )  # fmt: skip
            if target is None:
                self.out.not_carried.append(
                    NotCarried(
                        loose.line,
                        f"range {pool.start} {pool.end}",
                        f"no subnet of shared network {loose.network!r} holds this range",
                    )
                )
                continue
            target.scope = target.scope.model_copy(update={"pools": [*target.scope.pools, pool]})

    # --- hosts --------------------------------------------------------------------------
    def place_hosts(self) -> None:
        # Scopes by network, for each prefix length there is: a host's address finds its
        # scope in a few look-ups, not by trying every scope.
        self.by_network: dict[int, dict[Any, Placed]] = {}
        for placed in self.out.scopes:
            net = placed.scope.subnet
            self.by_network.setdefault(net.prefixlen, {}).setdefault(net, placed)
        for host in self.hosts:
            self.host(host)
        for placed in self.out.scopes:
            if placed.pending:
                placed.scope = placed.scope.model_copy(
                    update={"reservations": [*placed.scope.reservations, *placed.pending]}
                )

    def addressless(
        self, host: _Host, head: Statement, ident: tuple[str, str], prefixes: list[str],
        hostname: str | None, options: list[OptionValue],
    ) -> None:  # fmt: skip
        """A host without a fixed address: dhcpd gives it its parameters on any subnet with a
        dynamic address. In Kea: a reservation without an address in the subnet the host is
        declared in, or in the only subnet of the file; otherwise a global reservation (Kea
        then looks reservations up globally too: ``reservations_global``)."""
        target: Placed | None = None
        if host.subnet is not None:
            target = self.by_network.get(host.subnet.prefixlen, {}).get(host.subnet)
        elif len(self.out.scopes) == 1:
            target = self.out.scopes[0]
        if target is not None and host.subnet is None:
            why = (f"not needed: without a fixed address it is reserved in "
                   f"{target.scope.subnet}, the file's only subnet (no address)")  # fmt: skip
            self.out.not_carried.append(NotCarried(host.line, f"host {host.name}", why))
        self.reserve(target, host, head, ident, None, prefixes, hostname, options)

    def scope_of(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Placed | None:
        for length in sorted(self.by_network, reverse=True):
            network = ipaddress.ip_network((address, length), strict=False)
            found = self.by_network[length].get(network)
            if found is not None:
                return found
        return None

    def host(self, host: _Host) -> None:
        head = Statement([Token("word", "host", host.line), Token("word", host.name, host.line)],
                         host.line, host.statements)  # fmt: skip
        params = host.params
        found: dict[str, str] = {}  # identifier kind -> value
        addresses: list[str] = []
        prefixes: list[str] = []
        hostname: str | None = None
        for inner in host.statements:
            words = inner.words()
            keyword = inner.keyword
            if words[:2] == ["hardware", "ethernet"] and len(words) == 3:
                found["hw_address"] = _hex(words[2])
            elif keyword == "hardware":
                self.drop(inner, "only ethernet hardware addresses are carried over")
            elif keyword == ("fixed-address6" if self.v6 else "fixed-address"):
                addresses = [t.value for t in _values(inner.tokens[1:])]
            elif self.v6 and keyword == "fixed-prefix6":
                prefixes += [t.value for t in _values(inner.tokens[1:])]
            elif keyword == "host-identifier":
                self.host_identifier(inner, found)
            elif words[:2] == ["option", "dhcp-client-identifier"] and not self.v6:
                client_id = _client_id(inner.tokens[2:])
                if client_id is None:
                    self.drop(inner, "the client identifier is neither text nor hexadecimal")
                else:
                    found["client_id"] = client_id
            elif words[:2] == ["option", "host-name"] and len(inner.tokens) == 3:
                hostname = inner.tokens[2].value
            elif keyword == "ddns-hostname" and len(inner.tokens) == 2:
                hostname = hostname or inner.tokens[1].value
            elif not self.parameter(inner, params, where="host"):
                self.unknown(inner)
        options = [o for _n, o in params.options]
        if hostname is None and params.use_host_decl_names:
            hostname = host.name
        # A Kea reservation has one identifier: an explicit host-identifier first, then
        # (DHCPv4) the hardware address before the client id, (DHCPv6) the DUID first.
        order = ("duid", "hw_address") if self.v6 else ("circuit_id", "hw_address", "client_id")
        kinds = [k for k in order if k in found]
        if not kinds:
            return self.drop(head, "a host without 'hardware ethernet', a client identifier or "
                             "a host-identifier Kea knows")  # fmt: skip
        for other in kinds[1:]:
            why = f"a Kea reservation has one identifier: {kinds[0]} is used, not {other}"
            self.out.not_carried.append(NotCarried(host.line, f"host {host.name}", why))
        ident = (kinds[0], found[kinds[0]])
        if not addresses:
            return self.addressless(host, head, ident, prefixes, hostname, options)
        chosen: tuple[Placed, ipaddress.IPv4Address | ipaddress.IPv6Address] | None = None
        address: ipaddress.IPv4Address | ipaddress.IPv6Address
        for text in addresses:
            try:
                address = ipaddress.IPv6Address(text) if self.v6 else ipaddress.IPv4Address(text)
            except ValueError:
                self.drop(head, f"fixed-address {text} is a name: dhcpd looks it up at start; "
                          "Kea needs the address")  # fmt: skip
                continue
            placed = self.scope_of(address)
            if placed is None:
                self.drop(head, f"fixed-address {address} is in none of the subnets")
            elif chosen is not None:
                self.drop(head, f"fixed-address {address}: a Kea reservation has one address; "
                          f"{chosen[1]} is used")  # fmt: skip
            else:
                chosen = (placed, address)
        if chosen is None:
            return None
        placed, address = chosen
        self.reserve(placed, host, head, ident, address, prefixes, hostname, options)
        return None

    def host_identifier(self, st: Statement, found: dict[str, str]) -> None:
        """``host-identifier option NAME VALUE;``: Kea reserves by the relay's circuit id
        (DHCPv4) and by the DUID (DHCPv6, ``dhcp6.client-id``)."""
        words = st.words()
        name = words[2] if len(words) >= 3 and words[1] == "option" else ""
        value = st.tokens[3:] if len(st.tokens) >= 4 else []
        if self.v6 and name == "dhcp6.client-id":
            duid = _client_id(value)
            if duid is None:
                self.drop(st, "the DUID is neither text nor hexadecimal")
            else:
                found["duid"] = duid
        elif not self.v6 and name == "agent.circuit-id" and len(value) == 1:
            token = value[0]
            if token.kind == "string" and "'" not in token.value and token.value.isprintable():
                found["circuit_id"] = f"'{token.value}'"
            elif token.kind == "word" and _HEX.match(token.value):
                found["circuit_id"] = _hex(token.value)
            else:
                self.drop(st, "the circuit id is neither text nor hexadecimal")
        else:
            self.drop(st, f"Kea does not reserve by {name or 'this identifier'} (it does by "
                      "hardware address, client id, DUID, circuit id and flex-id)")  # fmt: skip

    def reserve(
        self, placed: Placed | None, host: _Host, head: Statement, ident: tuple[str, str],
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, prefixes: list[str],
        hostname: str | None, options: list[OptionValue],
    ) -> None:  # fmt: skip
        """Put a host's reservation into ``placed``, or among the global ones when None
        (listed instead when Kea cannot take it)."""
        params = host.params
        if hostname is not None and not _HOSTNAME.match(hostname):
            self.drop(head, f"the host name {hostname!r} is not one Kea takes; left out")
            hostname = None
        try:
            reservation = Reservation.model_validate({
                ident[0]: ident[1],
                "ip_addresses": [address] if address is not None else [],
                "prefixes": [ipaddress.IPv6Network(p) for p in prefixes],
                "hostname": hostname, "options": options,
                "next_server": params.boot.get("next-server"),
                "server_hostname": params.boot.get("server-hostname"),
                "boot_file_name": params.boot.get("boot-file-name"),
            })  # fmt: skip
        except (PydanticError, ValueError) as exc:
            reason = _first_error(exc) if isinstance(exc, PydanticError) else str(exc)
            return self.drop(head, "Kea does not take this reservation: " + reason)
        identifier = reservation.identifier
        if placed is None:
            if identifier in self.global_identifiers:
                return self.drop(head, f"{identifier[1]} is reserved already (globally)")
            self.global_identifiers.add(identifier)
            self.out.global_reservations.append((host.line, reservation))
            return None
        if identifier in placed.identifiers:
            return self.drop(head, f"{identifier[1]} is reserved already in "
                             f"{placed.scope.subnet}")  # fmt: skip
        placed.identifiers.add(identifier)
        placed.pending.append(reservation)
        placed.reservation_lines.append(host.line)
        return None


def params_network(level: str) -> str | None:
    return level.partition(":")[2] if level.startswith("shared-network:") else None


# --- small translations ------------------------------------------------------------------
def _same(a: OptionValue, b: OptionValue) -> bool:
    return (a.name, a.code, a.space) == (b.name, b.code, b.space)


def _number(words: list[str]) -> int | None:
    if len(words) == 1 and words[0].isdigit() and int(words[0]) < 2**32:
        return int(words[0])
    return None


#: dhcpd's lease times and the property each is in Kea (``preferred-lifetime``: DHCPv6 only).
_LIFETIMES = {"default-lease-time": "valid_lifetime", "max-lease-time": "max_valid_lifetime",
              "min-lease-time": "min_valid_lifetime"}  # fmt: skip
#: The DHCPv6 times and timers a dhcpd6.conf sets itself.
_LIFETIMES_V6 = {"preferred-lifetime": "preferred_lifetime", "dhcp-renewal-time": "renew_timer",
                 "dhcp-rebinding-time": "rebind_timer"}  # fmt: skip


def _lifetimes(values: dict[str, int], family: Family = "v4") -> dict[str, Any]:
    """ISC lease times as Kea's lifetimes, with dhcpd's timers (DHCPv4: T1 1/2 and T2 7/8 of
    the lease time; DHCPv6: 1/2 and 4/5 of the preferred lifetime) unless a dhcpd6.conf sets
    them."""
    names = {**_LIFETIMES, **_LIFETIMES_V6} if family == "v6" else _LIFETIMES
    given = {name: values[key] for key, name in names.items() if key in values}
    base, (times, part) = (
        ("preferred_lifetime", (4, 5)) if family == "v6" else ("valid_lifetime", (7, 8))
    )
    out: dict[str, Any] = {}
    if base in given:
        out = {"renew_timer": given[base] // 2, "rebind_timer": given[base] * times // part}
    return {**out, **given}


def _values(tokens: list[Token]) -> list[Token]:
    """The values of a list ``a, b, "c"`` (commas left out)."""
    return [t for t in tokens if not (t.kind == "punct" and t.value == ",")]


def _hex(raw: str) -> str:
    return ":".join(part.rjust(2, "0").lower() for part in raw.split(":"))


def _client_id(tokens: list[Token]) -> str | None:
    if len(tokens) != 1:
        return None
    token = tokens[0]
    if token.kind == "string":
        data = token.value.encode("latin-1", errors="replace")
        return ":".join(f"{b:02x}" for b in data) if len(data) >= 2 else None
    return _hex(token.value) if _HEX.match(token.value) else None


def _kea_name(raw: str) -> str | None:
    if _NAME.match(raw):
        return raw
    cleaned = re.sub(r"[^A-Za-z0-9_.:-]+", "-", raw).strip("-")[:128]
    return cleaned if cleaned and _NAME.match(cleaned) else None


def _member(term: str) -> str:
    return term.removeprefix("member('").removesuffix("')")


def _first_error(exc: PydanticError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))


def _option_type(tokens: list[Token]) -> tuple[str, bool, str, str] | None:
    """An ISC option type as Kea's (type, array, record types, encapsulated space)."""
    words = [t.value for t in tokens]
    array = False
    if words[:2] == ["array", "of"]:
        array, words = True, words[2:]
    if words[:1] == ["encapsulate"] and len(words) == 2 and not array:
        return "empty", False, "", words[1]
    if words[:1] == ["{"] and words[-1:] == ["}"]:
        fields = [w for w in words[1:-1] if w != ","]
        kinds = _type_list(fields)
        if kinds is None or not kinds:
            return None
        if len(kinds) == 1:
            return kinds[0], array, "", ""
        return "record", array, ", ".join(kinds), ""
    kinds = _type_list(words)
    if kinds is None or len(kinds) != 1:
        return None
    if words[:1] == ["domain-list"]:
        return "fqdn", True, "", ""
    return kinds[0], array, "", ""


def _type_list(words: list[str]) -> list[str] | None:
    kinds: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in TYPES:
            kinds.append(TYPES[word])
            i += 1
        elif word == "domain-list":
            kinds.append("fqdn")
            i += 2 if words[i + 1 : i + 2] == ["compressed"] else 1
        elif word in ("unsigned", "signed") and words[i + 1 : i + 2] == ["integer"]:
            bits = words[i + 2] if i + 2 < len(words) else ""
            if bits not in ("8", "16", "32"):
                return None
            kinds.append(("uint" if word == "unsigned" else "int") + bits)
            i += 3
        elif word == "integer" and i + 1 < len(words) and words[i + 1] in ("8", "16", "32"):
            kinds.append("int" + words[i + 1])
            i += 2
        else:
            return None
    return kinds


def _classless_routes(values: list[Token]) -> str | None:
    """RFC 3442 routes written as ISC bytes (``24, 192, 168, 1, 10, 0, 0, 1``) as hexadecimal
    data, checked to be whole routes (Kea 2.2 has no definition of code 121: it sends the
    bytes as they are)."""
    try:
        data = [int(t.value) for t in values]
    except ValueError:
        return None
    routes: list[str] = []
    i = 0
    while i < len(data):
        width = data[i]
        size = (width + 7) // 8
        if width > 32 or i + 1 + size + 4 > len(data):
            return None
        dest = data[i + 1 : i + 1 + size] + [0] * (4 - size)
        router = data[i + 1 + size : i + 5 + size]
        if any(not 0 <= b <= 255 for b in dest + router):
            return None
        routes.append(bytes(data[i : i + 5 + size]).hex())
        i += 5 + size
    return "".join(routes) if routes else None


# --- entry point -------------------------------------------------------------------------
def translate(conf: Conf, family: Family = "v4") -> Translation:
    """A parsed dhcpd.conf (``v4``) or dhcpd6.conf (``v6``) in Burrow's model, with what is
    not carried over."""
    translation = _Translator(family).run(conf)
    translation.not_carried.sort(key=lambda n: n.line)
    return translation


def translate_text(text: str, family: Family = "v4") -> Translation:
    """Parse and translate a dhcpd.conf; ``ConfError`` names the line of a syntax error."""
    return translate(parse(text), family)


__all__ = ["ConfError", "NotCarried", "Placed", "Translation", "translate", "translate_text"]
