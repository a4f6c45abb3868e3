"""The sockets ``services.common.serve`` serves on: every accepted connection has TCP_NODELAY.

Without it, Nagle's algorithm held each response's body (written after its headers) until the
client's delayed acknowledgement, 40 ms later: every request on a kept-alive connection took
at least 40 ms (issue 14's benchmark found it).
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from services.common.serve import _tcp_socket, bind


async def _nodelay_of_accepted(sock: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            conn = transport.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Probe, sock=sock)
    async with server:
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()


def test_uvicorn_socket_made_tcp_gives_nodelay() -> None:
    config = uvicorn.Config(app=None, host="127.0.0.1", port=0)
    sock = _tcp_socket(config.bind_socket())
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_nodelay_of_accepted(sock)) != 0


def test_bound_worker_socket_gives_nodelay_and_shares_the_port() -> None:
    first = bind("127.0.0.1", 0, reuse_port=True)
    second = bind("127.0.0.1", first.getsockname()[1], reuse_port=True)  # a second worker
    second.close()
    assert asyncio.run(_nodelay_of_accepted(first)) != 0
