"""Changes to different zones proceed side by side; changes to one zone are taken in turn.

An import is held in progress at a known step by the dns-agent's hold point ``during-import``
(``services.common.faults``: the agent has taken the zone's lock, read and checked the file,
and waits until the test lets it go). Meanwhile a change to another zone, through Central and
straight through the agent, must complete and be answered by named; a change to the zone
being imported must wait for the import. Everything is asserted by the order of events, not
by how long anything took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.faults import fault_file
from services.sandbox.sandbox import Sandbox
from tests.central_dns.conftest import CentralDns, create
from tests.central_dns.test_outcome import _arm
from tests.harness.wait import wait_for

pytestmark = pytest.mark.sandbox


def zone_text(origin: str) -> str:
    return (
        f"$ORIGIN {origin}\n$TTL 300\n"
        f"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
        "@ IN NS ns1\nns1 IN A 198.51.100.53\nwww IN A 198.51.100.80\n"
    )


class Background(threading.Thread):
    """One request in a thread of its own; ``answer`` once it has answered."""

    def __init__(self, send: Callable[[], httpx.Response]) -> None:
        super().__init__(daemon=True)
        self.send = send
        self.answer: httpx.Response | None = None

    def run(self) -> None:
        self.answer = self.send()


@pytest.fixture
def held_import(central_dns: CentralDns) -> Iterator[Path]:
    """The hold point ``during-import`` armed; let go (and disarmed) at the end in any case."""
    box = central_dns.box
    _arm(box, "during-import")
    point = fault_file(box.root, "dns-agent", "during-import")
    try:
        yield point
    finally:
        point.unlink(missing_ok=True)


def _agent(box: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=f"https://{box.address}:1337", verify=box.tls_context(),
                        timeout=120)  # fmt: skip


def test_a_change_to_x_completes_while_an_import_into_y_is_in_progress(
    central_dns: CentralDns, held_import: Path
) -> None:
    api, box = central_dns, central_dns.box
    x_name, y_name = api.new_zone_name(), api.new_zone_name()
    x = api.create_zone(x_name, comment="zone X")
    body: dict[str, Any] = {"server_id": api.server_id, "name": y_name, "text": zone_text(y_name),
                            "comment": "import into Y"}  # fmt: skip
    importer = Background(lambda: api.call("POST", "/api/v1/dns/zones/import", body))
    importer.start()
    reached = held_import.with_name("during-import.reached")
    wait_for(reached.exists, timeout=60, what="the import to reach its hold point")

    # Through Central and straight through the agent: X changes while Y's import is held.
    changed = api.change(x["id"], [create("during", "A", "198.51.100.81")], comment="during")
    assert changed.status_code == 200, changed.text
    assert api.served(f"during.{x_name}", "A") == {"198.51.100.81"}
    with _agent(box) as agent:
        direct = agent.post(f"/zones/{x_name}/changes",
                            json={"changes": [create("direct", "A", "198.51.100.82")]})  # fmt: skip
        assert direct.status_code == 200, direct.text
    assert api.served(f"direct.{x_name}", "A") == {"198.51.100.82"}
    entry = api.history(x["id"])[0]
    assert entry["comment"] == "during" and entry["action"] == "change"

    # The import is still where it was held: not answered, Y neither served nor in Central.
    assert importer.answer is None and reached.exists()
    assert api.served(f"www.{y_name}", "A") == set()
    listed = api.ok(api.call("GET", f"/api/v1/dns/zones?filter=name:{y_name}"))
    assert listed["total"] == 0

    held_import.unlink()
    importer.join(timeout=120)
    assert importer.answer is not None, "the import did not finish once let go"
    assert importer.answer.status_code == 201, importer.answer.text
    assert api.served(f"www.{y_name}", "A") == {"198.51.100.80"}


def test_a_change_to_the_zone_being_imported_waits_for_the_import(
    central_dns: CentralDns, held_import: Path
) -> None:
    box = central_dns.box
    x_name, y_name = central_dns.new_zone_name(), central_dns.new_zone_name()
    with _agent(box) as agent, _agent(box) as other, _agent(box) as third:
        agent.post("/zones", json={"name": x_name}).raise_for_status()
        importer = Background(
            lambda: other.post("/zones/import", json={"name": y_name, "text": zone_text(y_name)})
        )
        importer.start()
        reached = held_import.with_name("during-import.reached")
        wait_for(reached.exists, timeout=60, what="the import to reach its hold point")
        # Sent first, to the zone being imported: it waits for the zone's lock.
        to_y = Background(
            lambda: third.post(f"/zones/{y_name}/changes",
                               json={"changes": [create("after", "A", "198.51.100.83")]})
        )  # fmt: skip
        to_y.start()
        # Sent second, to another zone: it is applied and answered first.
        to_x = agent.post(f"/zones/{x_name}/changes",
                          json={"changes": [create("first", "A", "198.51.100.84")]})  # fmt: skip
        assert to_x.status_code == 200, to_x.text
        # Without the zone's lock it would have answered 404 (no zone Y yet) long before now.
        to_y.join(timeout=2)
        assert to_y.answer is None and importer.answer is None

        held_import.unlink()
        importer.join(timeout=120)
        to_y.join(timeout=120)
        assert importer.answer is not None and importer.answer.status_code == 201
        # Had it not waited, it would have found no zone Y (404) instead of the imported one.
        assert to_y.answer is not None and to_y.answer.status_code == 200, to_y.answer
        assert central_dns.served(f"after.{y_name}", "A") == {"198.51.100.83"}
        assert central_dns.served(f"www.{y_name}", "A") == {"198.51.100.80"}
        agent.delete(f"/zones/{x_name}").raise_for_status()
        agent.delete(f"/zones/{y_name}").raise_for_status()
