"""Failed console logins count against the browser's address, not the console's.

The console logs users in from loopback; it names the browser's address to Central with the
key they share, so that one browser's failures lock that user out for that browser only. A
claim of another address without the key changes nothing.
"""

from __future__ import annotations

import subprocess

import httpx
import pytest

from services.sandbox.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

USER = "lock-test"
PASSWORD = "a-long-lock-test-password"


def _console_login(box: Sandbox, password: str) -> int:
    """A console login from this machine (the browser's address is the host link's)."""
    url = f"https://{box.address}"
    with httpx.Client(verify=box.tls_context(), timeout=30) as http:
        answer = http.post(
            url + "/login",
            data={"username": USER, "password": password},
            headers={"Origin": url},
        )
    return answer.status_code


def _console_login_from(box: Sandbox, ns: str) -> str:
    """The same login from another address: a client namespace on the appliance's network."""
    url = f"https://{box.address}"
    out = subprocess.run(
        ["ip", "netns", "exec", ns, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
         "--cacert", str(box.ca_file), "-H", f"Origin: {url}",
         "--data-urlencode", f"username={USER}", "--data-urlencode", f"password={PASSWORD}",
         url + "/login"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return out.stdout.strip()


def test_one_browsers_failures_do_not_lock_out_another(console_box: Sandbox) -> None:
    box = console_box
    token = box.central_token()
    created = box.https(1231, "/api/v1/users", 30, method="POST", token=token, json_body={
        "username": USER, "role": "read-only", "password": PASSWORD,
    })  # fmt: skip
    assert created.status_code == 201, created.text
    limit = int(box.https(1231, "/api/v1/settings", token=token).json()["login_max_failures"])
    for _ in range(limit):
        assert _console_login(box, "not-the-password") == 401
    # This browser is locked out now, even with the right password ...
    assert _console_login(box, PASSWORD) == 429
    # ... and a claim of another address straight to Central, without the key, is ignored.
    with httpx.Client(verify=box.tls_context(), timeout=30) as http:
        forged = http.post(
            f"https://{box.address}:1231/api/v1/auth/login",
            json={"username": USER, "password": PASSWORD},
            headers={"X-Burrow-Client": "198.51.100.77", "X-Burrow-Console-Key": "guess"},
        )
    assert forged.status_code == 429, forged.text

    # Another browser, at another address, logs in at once.
    client = box.add_client()
    address = box.network[20]
    subprocess.run(
        ["ip", "-n", client.ns, "address", "add", f"{address}/{box.network.prefixlen}",
         "dev", client.iface],
        check=True, timeout=10,
    )  # fmt: skip
    assert _console_login_from(box, client.ns) == "303"
