"""DNS as the dns-agent speaks it, from the appliance itself: the appliance's key
``burrow-tsig`` over the appliance's own loopback (named takes that key from 127.0.0.1 only).

Tests read a zone whole or change it behind the agent's back this way; a client elsewhere
uses a TSIG key of its own, made through Central (see tests/central_dns/test_keys_dnssec.py).
"""

from __future__ import annotations

import dns.query
import dns.tsig
import dns.update
import dns.zone

from services.dns.transport import load_key
from services.sandbox.sandbox import Sandbox
from tests.harness.netns import call_in


def appliance_key(box: Sandbox) -> dns.tsig.Key:
    return load_key(box.root.tsig_key)


def transfer(
    box: Sandbox, zone: str, *, relativize: bool = True, timeout: float = 20
) -> dns.zone.Zone:
    """``zone`` as named serves it, by an AXFR signed with the appliance's key from 127.0.0.1."""
    key = appliance_key(box)
    return call_in(
        box.ns,
        lambda: dns.zone.from_xfr(
            dns.query.xfr("127.0.0.1", zone, keyring=key, timeout=timeout, relativize=relativize),
            relativize=relativize,
        ),
    )


def update(box: Sandbox, zone: str) -> dns.update.UpdateMessage:
    """An UPDATE of ``zone`` signed with the appliance's key, for :func:`send`."""
    return dns.update.UpdateMessage(zone, keyring=appliance_key(box))


def send(box: Sandbox, message: dns.update.UpdateMessage, timeout: float = 10) -> int:
    """The rcode named answers ``message`` with, sent over TCP to 127.0.0.1 on the appliance."""
    return call_in(
        box.ns, lambda: int(dns.query.tcp(message, "127.0.0.1", timeout=timeout).rcode())
    )
