"""Central's typed client of the dns-agent against the real agent: models in and out, problem
JSON back as Burrow's exceptions."""

from __future__ import annotations

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
