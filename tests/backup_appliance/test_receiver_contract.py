"""The restore receiver's contract on a real, fresh appliance (port 4604): every error in the
one problem format.

Kinds provoked: no restore code (401), a wrong one (403), too many wrong ones (429 with
Retry-After), a bundle that is not one (422 naming ``bundle``), too large (413, for the bundle
route at ``MAX_BUNDLE`` and for every other route at ``MAX_BODY``), not found (404) and an
appliance in use (409). The receiver asks for no client certificate: the code is what
authenticates a push here.
"""

from __future__ import annotations

import pytest

from services.appliance.backup.receiver import MAX_BODY, MAX_BUNDLE
from services.common.appliance.contract import (
    RESTORE_CODE_HEADER,
    ApplianceState,
    Identity,
    RestoreProgress,
)
from services.common.files import read_json
from services.sandbox.sandbox import Sandbox
from tests.backup_appliance.helpers import declared, no_verify, receiver
from tests.harness.problems import assert_problem, check_problem

pytestmark = pytest.mark.sandbox

PORT = 4604


def test_every_refusal_of_the_receiver_is_one_problem_format(sandbox: Sandbox) -> None:
    box = sandbox
    identity = Identity.model_validate(receiver(box, "GET", "/identity").json())
    assert identity.state == "uninitialized" and identity.address == box.address
    code = read_json(box.root.lib / "appliance-state.json")["restore_code"]

    # unauthenticated: no code at all
    answer = receiver(box, "POST", "/restore", content=b"bundle")
    problem = assert_problem(answer, 401, RESTORE_CODE_HEADER)
    assert problem["hint"]
    # forbidden: a wrong code
    wrong = {RESTORE_CODE_HEADER: "AAAAAAAAAA"}
    assert_problem(receiver(box, "POST", "/restore", content=b"x", headers=wrong), 403)
    assert_problem(receiver(box, "POST", "/initialize", headers=wrong), 403, RESTORE_CODE_HEADER)

    # validation: a body that is not a bundle; nothing is applied, the next push may come
    right = {RESTORE_CODE_HEADER: code.lower()}  # read from a console: any case
    answer = receiver(box, "POST", "/restore", content=b"not a bundle" * 100, headers=right)
    assert_problem(answer, 422, "bundle")
    progress = RestoreProgress.model_validate(receiver(box, "GET", "/restore").json())
    assert progress.state == "failed" and progress.error
    assert not (box.root.lib / "backup/restore/bundle").exists()
    assert not list((box.root.lib / "backup/restore").glob("chunks-*"))  # its chunks went too
    assert receiver(box, "GET", "/identity").json()["state"] == "uninitialized"

    # too large: refused from the declared length, before a byte of the body is read
    status, kind, body = declared(box.address, PORT, "/restore", no_verify(), MAX_BUNDLE + 1,
                                  method="POST")  # fmt: skip
    check_problem(status, kind, body, 413)
    status, kind, body = declared(box.address, PORT, "/initialize", no_verify(), MAX_BODY + 1,
                                  method="POST")  # fmt: skip
    check_problem(status, kind, body, 413)

    # not found
    assert_problem(receiver(box, "GET", "/no/such/thing"), 404)

    # "use as a new appliance" with the code; then a restore is a conflict
    state = ApplianceState.model_validate(
        receiver(box, "POST", "/initialize", headers=right).json()
    )
    assert state.state == "active" and state.appliance_id == identity.appliance_id
    answer = receiver(box, "POST", "/restore", content=b"x", headers=right)
    assert_problem(answer, 409, "state")

    # too many wrong codes: 429 with Retry-After, even for the right one, for 5 minutes
    for _ in range(4):  # the right codes above reset the count
        receiver(box, "POST", "/initialize", headers=wrong)
    answer = receiver(box, "POST", "/initialize", headers=wrong)
    assert answer.status_code == 403
    locked = receiver(box, "POST", "/initialize", headers=right)
    assert_problem(locked, 429)
    assert 0 < int(locked.headers["Retry-After"]) <= 300
