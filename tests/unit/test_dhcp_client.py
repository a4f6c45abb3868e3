"""The typed client of the dhcp-agent against the agent's real routes over an in-memory Kea.

``AppTransport`` carries the client's requests into the agent application in this process
(the in-memory implementation of ``services.common.agent_client.Transport``); ``Flaky`` puts
the failures of a network in between: an agent that cannot be reached, and an answer lost
after the agent took the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from services.common import problems
from services.common.agent_client import (
    AnswerLostError,
    ConnectFailedError,
    OutcomeUnknownError,
)
from services.common.dhcp.client import DhcpAgentClient, agent_path
from services.common.dhcp.contract import (
    ClientClass,
    LeaseSearch,
    OptionDef,
    OptionValue,
    Reservation,
    Scope,
    ServerProperties,
    SharedNetwork,
)
from services.common.errors import ConflictError, NotFoundError, UnavailableError, ValidationError
from services.dhcp.api import dhcp_router
from services.dhcp.changes import ConfigEditor
from services.dhcp.kea_client import KeaClient
from services.dhcp.leases import LeaseBook
from services.dhcp.manage import DhcpServer
from services.dhcp.memory import MemoryKea
from tests.unit.test_dhcp_agent import AppClient


def agent_app(kea: MemoryKea) -> FastAPI:
    """The dhcp-agent's routes and problem answers over ``kea`` (no TLS, no enrolment)."""
    client = KeaClient(kea)
    app = FastAPI()
    problems.install(app, service="dhcp-agent")
    app.include_router(dhcp_router(DhcpServer(ConfigEditor(client)), LeaseBook(client)))
    return app


class AppTransport:
    """Requests into an ASGI application in this process."""

    def __init__(self, app: FastAPI, where: str = "198.51.100.9:4151") -> None:
        self.http = AppClient(app)
        self._where = where

    @property
    def where(self) -> str:
        return self._where

    def request(
        self, method: str, path: str, body: bytes | None, *, content_type: str, timeout: float
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type} if body is not None else {}
        answer = self.http.request(method, path, content=body, headers=headers)
        return answer.status_code, answer.content

    def close(self) -> None:
        return None


class Flaky:
    """A transport in front of another: ``down`` refuses every request before it is sent;
    ``lose`` loses the answer of the next request of those methods after the agent took it
    (``applied=False``: the request is lost before it reaches the agent)."""

    def __init__(self, inner: AppTransport) -> None:
        self.inner = inner
        self.down = False
        self.down_for: set[str] = set()  # paths ending so: refused
        self.lose: set[str] = set()
        self.applied = True
        self.sent: list[str] = []

    @property
    def where(self) -> str:
        return self.inner.where

    def request(
        self, method: str, path: str, body: bytes | None, *, content_type: str, timeout: float
    ) -> tuple[int, bytes]:
        bare = path.partition("?")[0]
        if self.down or any(bare.endswith(end) for end in self.down_for):
            raise ConnectFailedError("[Errno 111] Connection refused")
        self.sent.append(f"{method} {bare}")
        if method in self.lose:
            self.lose.discard(method)
            if self.applied:
                self.inner.request(method, path, body, content_type=content_type, timeout=timeout)
            raise AnswerLostError("Remote end closed connection without response")
        return self.inner.request(method, path, body, content_type=content_type, timeout=timeout)


SCOPE = Scope.model_validate(
    {
        "subnet": "198.51.100.0/27",
        "pools": [{"start": "198.51.100.10", "end": "198.51.100.20"}],
        "options": [{"name": "routers", "data": "198.51.100.1"}],
    }
)


@pytest.fixture
def kea() -> MemoryKea:
    return MemoryKea()


@pytest.fixture
def wire(kea: MemoryKea) -> Iterator[Flaky]:
    transport = Flaky(AppTransport(agent_app(kea)))
    try:
        yield transport
    finally:
        transport.inner.close()


@pytest.fixture
def agent(wire: Flaky) -> DhcpAgentClient:
    return DhcpAgentClient(wire)


def test_paths_quote_their_parts_and_leave_out_empty_terms() -> None:
    assert agent_path("v4", "scopes", 7, known_hash=None) == "/dhcp/v4/scopes/7"
    assert (
        agent_path("v6", "classes", "a/b", known_hash="ab")
        == "/dhcp/v6/classes/a%2Fb?known_hash=ab"
    )


def test_one_typed_method_per_route(agent: DhcpAgentClient, kea: MemoryKea) -> None:
    created = agent.create_scope("v4", SCOPE)
    assert created.scope.id == 1 and created.change.changed
    assert [str(s.subnet) for s in agent.scopes("v4")] == ["198.51.100.0/27"]
    assert agent.scope("v4", 1).pools[0].end.exploded == "198.51.100.20"
    wider = SCOPE.model_copy(update={"valid_lifetime": 600})
    assert agent.update_scope("v4", 1, wider).changed
    reservation = Reservation(hw_address="02:00:00:00:00:01", ip_addresses=["198.51.100.25"])  # type: ignore[list-item]
    assert agent.add_reservation("v4", 1, reservation).changed
    assert agent.delete_reservation("v4", 1, "hw_address", "02-00-00-00-00-01").changed
    agent.put_class("v4", ClientClass(name="lab", test="member('ALL')"))
    assert [c.name for c in agent.classes("v4")] == ["lab"]
    agent.add_option_definition("v4", OptionDef(code=224, name="site", type="string"))
    assert [d.code for d in agent.option_definitions("v4")] == [224]
    agent.set_options("v4", [OptionValue(code=224, data="north")])
    assert [o.data for o in agent.options("v4")] == ["north"]
    agent.put_shared_network("v4", SharedNetwork(name="campus"))
    assert [n.name for n in agent.shared_networks("v4")] == ["campus"]
    agent.set_properties("v4", ServerProperties(decline_probation_period=3600))
    assert agent.properties("v4").decline_probation_period == 3600
    state = agent.config("v4")
    assert state.config is not None and agent.config_hash("v4").hash == state.hash
    assert agent.replace_config("v4", state.config, expected_hash=state.hash).changed is False
    lease = {"ip-address": "198.51.100.11", "subnet-id": 1, "hw-address": "02:00:00:00:00:0b",
             "valid-lft": 600, "cltt": 1}  # fmt: skip
    kea.add_lease("dhcp4", lease)
    assert [x.address for x in agent.leases("v4").leases] == ["198.51.100.11"]
    found = agent.search_leases("v4", LeaseSearch(hw_address="02:00:00:00:00:0b"))
    assert [x.address for x in found] == ["198.51.100.11"]
    assert [u.assigned for u in agent.statistics("v4")] == [1]
    agent.delete_lease("v4", "198.51.100.11")
    assert agent.set_options("v4", []).changed
    assert agent.delete_option_definition("v4", "dhcp4", 224).changed
    assert agent.delete_shared_network("v4", "campus").changed
    assert agent.delete_class("v4", "lab").changed
    assert agent.delete_scope("v4", 1).changed


def test_every_problem_of_the_agent_passes_through_in_order(agent: DhcpAgentClient) -> None:
    bad = Scope.model_validate({
        "subnet": "198.51.100.0/27",
        "pools": [{"start": "198.51.100.40", "end": "198.51.100.50"}],
        "options": [{"code": 250, "data": "1"}],
    })  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        agent.create_scope("v4", bad)
    assert refused.value.status == 422
    assert [p.field for p in refused.value.problems] == [
        "pools[0].start", "pools[0].end", "options[0].code",
    ]  # fmt: skip
    with pytest.raises(NotFoundError) as missing:
        agent.scope("v4", 99)
    assert missing.value.field == "scope_id"


def test_a_stale_known_hash_stays_409(agent: DhcpAgentClient) -> None:
    with pytest.raises(ConflictError) as stale:
        agent.create_scope("v4", SCOPE, known_hash="0" * 64)
    assert stale.value.status == 409 and stale.value.field == "known_hash"


def test_an_agent_that_cannot_be_reached_is_503_with_retry_after(
    agent: DhcpAgentClient, wire: Flaky
) -> None:
    wire.down = True
    with pytest.raises(UnavailableError) as down:
        agent.create_scope("v4", SCOPE)
    assert down.value.status == 503 and down.value.headers["Retry-After"]
    assert "Errno" not in down.value.message


def test_a_lost_answer_to_a_change_is_an_unknown_outcome(
    agent: DhcpAgentClient, wire: Flaky, kea: MemoryKea
) -> None:
    wire.lose = {"POST"}
    with pytest.raises(OutcomeUnknownError) as lost:
        agent.create_scope("v4", SCOPE)
    assert lost.value.status == 504
    assert kea.running["dhcp4"]["Dhcp4"]["subnet4"][0]["subnet"] == "198.51.100.0/27"
    wire.lose = {"GET"}
    with pytest.raises(UnavailableError):  # a read that lost its answer changed nothing
        agent.scopes("v4")


def test_strict_types_are_refused_before_anything_is_sent(agent: DhcpAgentClient) -> None:
    body: dict[str, Any] = {"subnet": "198.51.100.0/27", "valid_lifetime": "4000"}
    with pytest.raises(Exception, match="valid_lifetime"):
        Scope.model_validate(body)
