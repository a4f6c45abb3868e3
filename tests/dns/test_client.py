"""Central's typed client of the dns-agent against the real agent: models in and out, problem
JSON back as Burrow's exceptions."""

from __future__ import annotations

import contextlib

import pytest

from services.common.dns.client import DnsAgentClient
from services.common.dns.contract import (
    Change,
    ChangeSet,
    RecordData,
    ZoneCreate,
    ZoneImport,
    ZoneUpdate,
)
from services.common.errors import ConflictError, NotFoundError, ValidationError
from services.sandbox.sandbox import Sandbox
from tests.dns.conftest import answer_set, rdata

pytestmark = pytest.mark.sandbox


def test_central_client_round_trip(shared_sandbox: Sandbox) -> None:
    tls = shared_sandbox.tls_context()  # Central's client certificate
    with DnsAgentClient.over_https(f"https://{shared_sandbox.address}:1337", tls) as agent:
        zone = agent.create_zone(ZoneCreate(name="client.test", ttl=900))
        assert zone.name == "client.test." and zone.serial
        record = RecordData(name="api", type="AAAA", data="2001:db8::53")
        result = agent.apply(
            "client.test", ChangeSet(changes=[Change(action="create", record=record)])
        )
        assert result.serial > zone.serial and result.method == "update"
        served = answer_set(shared_sandbox, "api.client.test.", "AAAA")
        assert served == {rdata("AAAA", "2001:db8::53", "client.test.")}
        content = agent.records("client.test.")
        assert any(r.name == "api.client.test." and r.ttl == 900 for r in content.records)
        assert "client.test." in {z.name for z in agent.zones()}
        updated = agent.update_zone("client.test", ZoneUpdate(notify="yes"))
        assert updated.notify == "yes"
        exported = agent.export("client.test").text
        with pytest.raises(ConflictError):
            agent.import_zone(ZoneImport(name="client.test", text=exported))

        with pytest.raises(ValidationError) as info:
            agent.apply("client.test", ChangeSet(changes=[Change(action="create", record=record)]))
        assert info.value.field == "changes[0].record"
        assert info.value.problems[0].message.startswith("the record already exists")
        assert info.value.problems[0].extra == {"name": "api", "type": "AAAA"}
        agent.delete_zone("client.test.")
        with pytest.raises(NotFoundError):
            agent.zone("client.test.")


#: A zone read the quick way (plain entries) with a few entries only the reader parses.
QUICK_ZONE = """$ORIGIN quick-import.test.
$TTL 300
@ IN SOA ( ns1 hostmaster 7 7200 3600 1209600 300 )
@ IN NS ns1
ns1 IN A 198.51.100.53
Host IN A 198.51.100.54
host IN AAAA 2001:DB8:0::54
mail IN MX 10 Host
www 60 IN CNAME host
txt IN TXT "v=spf1 mx -all" "second string"
_sip._tcp IN SRV 0 5 5060 host
  IN TXT "inherited; with a semicolon"
"""


@pytest.mark.parametrize("quick", [True, False])
def test_an_import_answers_the_records_named_serves(shared_sandbox: Sandbox, quick: bool) -> None:
    """With ``records``, the import's answer holds the zone's records exactly as named serves
    them (its zone transfer, read back): read the quick way, and the thorough way (strict
    host names)."""
    tls = shared_sandbox.tls_context()
    with DnsAgentClient.over_https(f"https://{shared_sandbox.address}:1337", tls) as agent:
        request = ZoneImport(name="quick-import.test", text=QUICK_ZONE, strict_hostnames=not quick)
        try:
            imported = agent.import_zone(request, records=True)
            assert imported.content is not None
            assert imported.content.serial == 7 == imported.serial
            served = agent.records("quick-import.test.")
            assert imported.content.soa == served.soa
            # Owners compare without regard to case (named writes a name's records under the
            # case it met first; Central stores owners lowercased); data exactly.
            assert sorted((n.lower(), t, ttl, d) for n, t, ttl, d in imported.content.rows) == (
                sorted((r.name.lower(), r.type, r.ttl or 0, r.data) for r in served.records)
            )
            assert len(imported.content.rows) == 9
        finally:
            with contextlib.suppress(NotFoundError):
                agent.delete_zone("quick-import.test.")
