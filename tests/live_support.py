"""A real WebSocket client speaking graphql-transport-ws (the protocol of npm `graphql-ws`), on the
`websockets` package, and the app served by a real uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, AsyncIterator

import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.smtp import free_port

PROTOCOL = "graphql-transport-ws"
DEADLINE = 20.0

VIEWER_EVENTS = """subscription Live { viewerEvents { kind message occurredAt dueDate loanCount
  hold { id status pickupDeadline title { title } } } }"""


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """The app on a real uvicorn server in this event loop (its lifespan runs); the ws:// base."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_config=None,
                                           ws="websockets-sansio"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)


class LiveClient:
    """One socket: connection_init, subscribe, and the messages and close code that follow."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, *, cookie: str | None = None, origin: str | None = None,
                   cookie_name: str = "library_session") -> AsyncIterator[LiveClient]:
        headers = {}
        if cookie:
            headers["Cookie"] = f"{cookie_name}={cookie}"
        async with connect(url, subprotocols=[PROTOCOL], additional_headers=headers, origin=origin,
                           open_timeout=DEADLINE) as socket:
            yield cls(socket)

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, timeout: float = DEADLINE) -> dict[str, Any]:
        """The next message from the server (pings answered); fails after `timeout` seconds."""
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def subscribe(self, query: str = VIEWER_EVENTS, id: str = "1") -> None:
        await self.send({"type": "subscribe", "id": id, "payload": {"query": query}})

    async def next_event(self, timeout: float = DEADLINE) -> dict[str, Any]:
        """The payload of the next `next` message."""
        message = await self.receive(timeout)
        assert message["type"] == "next", message
        return message["payload"]

    async def next_of_kind(self, kind: str, timeout: float = DEADLINE) -> dict[str, Any]:
        """The next viewer event of this kind (one committed just before subscribing may come first)."""
        while True:
            event = (await self.next_event(timeout))["data"]["viewerEvents"]
            if event["kind"] == kind:
                return event

    async def closed(self, timeout: float = DEADLINE) -> tuple[int | None, str]:
        """Wait for the server to close the socket: its close code and reason."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(self.socket.recv(), timeout)
        return self.socket.close_code, self.socket.close_reason or ""


async def refused_status(url: str, **kwargs: Any) -> int:
    """The HTTP status with which a handshake is refused."""
    try:
        async with LiveClient.open(url, **kwargs):
            pass
    except InvalidStatus as error:
        return error.response.status_code
    raise AssertionError("the handshake was accepted")
