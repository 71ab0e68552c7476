"""janus_fast under test: the janus-client-compatible API and the native API.

Rule: ``FastCompat`` uses only what janus-client programs use (``JanusSession``, ``JanusPlugin``,
``plugin.send`` → ``MessageTransaction.get`` → ``done``, ``transport.ping``); ``FastNative`` uses
the native calls (``transport._request`` with an ``Expect``, ``plugin.request``) where they exist
and the same calls as ``FastCompat`` for sessions and handles (there is no faster path there).
"""

from __future__ import annotations

from typing import Any

from janus_fast import Expect, JanusPlugin, JanusSession, JanusTransport
from janus_fast.bench.adapter import REQUEST_TIMEOUT, Adapter, BenchError


class _EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


class FastCompat(Adapter):
    key = "fast"
    label = "janus_fast (compat API)"

    def __init__(self, api_secret: str | None = None, token: str | None = None) -> None:
        super().__init__(api_secret, token)
        self.transport: JanusTransport | None = None

    def _transport(self) -> JanusTransport:
        assert self.transport is not None, "open() first"
        return self.transport

    async def open(self, url: str) -> None:
        self.transport = JanusTransport.create_transport(
            url, api_secret=self.api_secret, token=self.token, config={"timeout": REQUEST_TIMEOUT}
        )
        await self.transport.connect()

    async def close(self) -> None:
        if self.transport is not None:
            await self.transport.disconnect()
            self.transport = None

    async def ping(self) -> None:
        reply = await self._transport().ping()
        if reply.get("janus") != "pong":
            raise BenchError(f"ping answered {reply.get('janus')!r}")

    async def create_session(self) -> Any:
        session = JanusSession(transport=self._transport())
        await session.create()
        return session

    async def destroy_session(self, session: Any) -> None:
        await session.destroy()

    async def attach(self, session: Any) -> Any:
        plugin = _EchoTest()
        await plugin.attach(session)
        return plugin

    async def detach(self, handle: Any) -> None:
        await handle.destroy()

    async def message(self, handle: Any) -> None:
        transaction = await handle.send({"janus": "message", "body": {"audio": True}})
        try:
            await transaction.get({"janus": "event"}, timeout=REQUEST_TIMEOUT)
            await transaction.get({"janus": "ack"}, timeout=REQUEST_TIMEOUT)
        finally:
            await transaction.done()


class FastNative(FastCompat):
    key = "fast-native"
    label = "janus_fast (native API)"

    async def ping(self) -> None:
        await self._transport()._request({"janus": "ping"}, Expect.PONG)

    async def message(self, handle: Any) -> None:
        await handle.request({"audio": True})
