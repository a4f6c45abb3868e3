"""Starting the appliance-agent's backup side: the producer thread and the 4604 receiver.

``start_backups(root)`` is called once by the appliance-agent after it has its certificate:
it makes appliance-state.json if needed, starts the producer (which pairs from appliance.json
``backup_peer`` at the first start), serves the restore receiver on 4604 (``BURROW_RESTORE_PORT``
overrides it) at the agent's own ``--host`` with the agent's certificate in a thread — and on
4605 for the Central of ``restore_from`` (services.appliance.backup.trusted) — and returns the
``/backup`` router for the mTLS listener.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time

import uvicorn
from fastapi import APIRouter

from services.appliance.backup import pairing, trusted
from services.appliance.backup import state as appliance_state
from services.appliance.backup.api import backup_router
from services.appliance.backup.producer import Producer
from services.appliance.backup.receiver import PORT, Restorer, receiver_app
from services.common.agent import agent_cert
from services.common.paths import StateRoot

log = logging.getLogger(__name__)

RECEIVER_PORT_ENV = "BURROW_RESTORE_PORT"


def _pair_from_settings(root: StateRoot, producer: Producer) -> None:
    delay = 5.0
    while True:
        try:
            if pairing.pair_from_settings(root) is not None:
                producer.request("full")
            return
        except Exception as exc:  # the peer may come up later: try again
            producer.last_error = f"pairing from appliance.json: {exc}"
            producer.write_status()
            log.warning("pairing from appliance.json failed, again in %.0f s: %s", delay, exc)
            time.sleep(delay)
            delay = min(300.0, delay * 2)


def agent_host(argv: list[str] | None = None) -> str:
    """The address the appliance-agent listens on (its ``--host``): the receiver uses it too."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="0.0.0.0")
    known, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return str(known.host)


def serve_receiver(
    root: StateRoot,
    producer: Producer,
    port: int = PORT,
    host: str = "0.0.0.0",
    restorer: Restorer | None = None,
) -> threading.Thread:
    """Serve the restore receiver on ``port`` (TLS, the agent's own certificate) in a thread.

    When the port cannot be bound (another agent on this host, as in Central's tests), the
    error is logged and the agent runs on without a receiver.
    """
    tls = agent_cert(root, "appliance-agent")
    config = uvicorn.Config(
        receiver_app(root, producer, restorer=restorer),
        host=host,
        port=port,
        ssl_certfile=str(tls.cert),
        ssl_keyfile=str(tls.key),
        log_level="info",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="restore-receiver", daemon=True)
    thread.start()
    return thread


def start_backups(root: StateRoot) -> APIRouter:
    """Start the producer and the receiver; the router of ``/backup`` for the agent."""
    appliance_state.load(root)
    producer = Producer(root)
    producer.write_status()
    producer.start()
    threading.Thread(
        target=_pair_from_settings, args=(root, producer), name="backup-pairing", daemon=True
    ).start()
    restorer = Restorer(root, producer)
    restorer.restart_watch()
    host = agent_host()
    serve_receiver(root, producer, int(os.environ.get(RECEIVER_PORT_ENV, PORT)), host, restorer)
    trusted.serve_trusted(
        root, lambda: receiver_app(root, producer, restorer=restorer, trusted=True), host
    )
    return backup_router(producer)
