"""ISC DHCP's option names and types (dhcp-options(5)) and their Kea equivalents (Kea 2.2
manual, 8.2.10 and 9.2.10): what ``translate`` and ``expressions`` look names up in."""

from __future__ import annotations

#: ISC DHCPv4 option names (dhcp-options(5)) → (code, kind of value). Kinds: ip (one IPv4
#: address), ips (a list), text, fqdn, fqdns (a list), uint, int, flag, ippairs, hex.
ISC_V4: dict[str, tuple[int, str]] = {
    "subnet-mask": (1, "ip"), "time-offset": (2, "int"), "routers": (3, "ips"),
    "time-servers": (4, "ips"), "ien116-name-servers": (5, "ips"),
    "domain-name-servers": (6, "ips"), "log-servers": (7, "ips"), "cookie-servers": (8, "ips"),
    "lpr-servers": (9, "ips"), "impress-servers": (10, "ips"),
    "resource-location-servers": (11, "ips"), "host-name": (12, "text"),
    "boot-size": (13, "uint"), "merit-dump": (14, "text"), "domain-name": (15, "fqdn"),
    "swap-server": (16, "ip"), "root-path": (17, "text"), "extensions-path": (18, "text"),
    "ip-forwarding": (19, "flag"), "non-local-source-routing": (20, "flag"),
    "policy-filter": (21, "ips"), "max-dgram-reassembly": (22, "uint"),
    "default-ip-ttl": (23, "uint"), "path-mtu-aging-timeout": (24, "uint"),
    "path-mtu-plateau-table": (25, "uint"), "interface-mtu": (26, "uint"),
    "all-subnets-local": (27, "flag"), "broadcast-address": (28, "ip"),
    "perform-mask-discovery": (29, "flag"), "mask-supplier": (30, "flag"),
    "router-discovery": (31, "flag"), "router-solicitation-address": (32, "ip"),
    "static-routes": (33, "ippairs"), "trailer-encapsulation": (34, "flag"),
    "arp-cache-timeout": (35, "uint"), "ieee802-3-encapsulation": (36, "flag"),
    "default-tcp-ttl": (37, "uint"), "tcp-keepalive-interval": (38, "uint"),
    "tcp-keepalive-garbage": (39, "flag"), "nis-domain": (40, "text"),
    "nis-servers": (41, "ips"), "ntp-servers": (42, "ips"),
    "vendor-encapsulated-options": (43, "hex"), "netbios-name-servers": (44, "ips"),
    "netbios-dd-server": (45, "ips"), "netbios-node-type": (46, "uint"),
    "netbios-scope": (47, "text"), "font-servers": (48, "ips"),
    "x-display-manager": (49, "ips"), "vendor-class-identifier": (60, "text"),
    "nwip-domain": (62, "text"), "nisplus-domain": (64, "text"), "nisplus-servers": (65, "ips"),
    "tftp-server-name": (66, "text"), "bootfile-name": (67, "text"),
    "mobile-ip-home-agent": (68, "ips"), "smtp-server": (69, "ips"), "pop-server": (70, "ips"),
    "nntp-server": (71, "ips"), "www-server": (72, "ips"), "finger-server": (73, "ips"),
    "irc-server": (74, "ips"), "streettalk-server": (75, "ips"),
    "streettalk-directory-assistance-server": (76, "ips"), "user-class": (77, "hex"),
    "nds-servers": (85, "ips"), "nds-tree-name": (86, "text"), "nds-context": (87, "text"),
    "domain-search": (119, "fqdns"), "tftp-server-address": (150, "ips"),
}  # fmt: skip
#: Options of the protocol itself: the server decides them, they are not configured data.
PROTOCOL_V4 = {
    "dhcp-requested-address": "the client asks for it",
    "dhcp-lease-time": "set the lease time with default-lease-time (valid lifetime)",
    "dhcp-option-overload": "Kea decides overloading itself",
    "dhcp-message-type": "part of the protocol",
    "dhcp-server-identifier": "Kea sends its own address",
    "dhcp-parameter-request-list": "the client sends it",
    "dhcp-message": "Kea writes its own messages",
    "dhcp-max-message-size": "the client sends it",
    "dhcp-renewal-time": "Kea computes it from its renew timer",
    "dhcp-rebinding-time": "Kea computes it from its rebind timer",
    "dhcp-client-identifier": "outside a host declaration the client sends it",
    "fqdn": "Kea answers the client FQDN option itself (DDNS settings)",
    "relay-agent-information": "the relay sends it",
}
#: Codes of options in Kea's expressions (``option[60].hex``).
EXPRESSION_CODES = {name: code for name, (code, _kind) in ISC_V4.items()} | {
    "dhcp-client-identifier": 61,
    "dhcp-parameter-request-list": 55,
    "dhcp-requested-address": 50,
    "dhcp-max-message-size": 57,
    "fqdn": 81,
    "relay-agent-information": 82,
}
#: ISC DHCPv6 option names (``dhcp6.NAME``, dhcp-options(5)) → (code, kind of value).
ISC_V6: dict[str, tuple[int, str]] = {
    "preference": (7, "uint"), "unicast": (12, "ip6"), "sip-servers-names": (21, "fqdns"),
    "sip-servers-addresses": (22, "ip6s"), "name-servers": (23, "ip6s"),
    "domain-search": (24, "fqdns"), "nis-servers": (27, "ip6s"), "nisp-servers": (28, "ip6s"),
    "nis-domain-name": (29, "fqdns"), "nisp-domain-name": (30, "fqdns"),
    "sntp-servers": (31, "ip6s"), "info-refresh-time": (32, "uint"),
    "bootfile-url": (59, "text"),
}  # fmt: skip
PROTOCOL_V6 = {
    name: "part of the protocol: the client, the relay or Kea itself sends it"
    for name in ("client-id", "server-id", "ia-na", "ia-ta", "ia-addr", "oro", "elapsed-time",
                 "relay-msg", "auth", "status-code", "interface-id", "reconf-msg",
                 "reconf-accept", "ia-pd", "ia-prefix", "fqdn", "user-class", "vendor-class",
                 "remote-id", "subscriber-id", "clt-time")
} | {"rapid-commit": "Kea's rapid-commit is a setting of the scope; not imported"}  # fmt: skip
EXPRESSION_CODES_V6 = {name: code for name, (code, _kind) in ISC_V6.items()} | {
    "client-id": 1, "server-id": 2, "oro": 6, "user-class": 15, "vendor-class": 16,
    "vendor-opts": 17, "interface-id": 18, "remote-id": 37, "fqdn": 39, "client-arch-type": 61,
}  # fmt: skip
RELAY_SUBOPTIONS = {"agent.circuit-id": 1, "agent.remote-id": 2}
#: ISC option types (``option NAME code N = TYPE``) → Kea's.
TYPES = {
    "ip-address": "ipv4-address",
    "ip6-address": "ipv6-address",
    "text": "string",
    "string": "binary",
    "boolean": "boolean",
    "domain-name": "fqdn",
    "zerolen": "empty",
}
