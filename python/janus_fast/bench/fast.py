"""janus_fast under test: the janus-client-compatible API and the native API.

Rule: ``FastCompat`` uses only what janus-client programs use (``JanusSession``, ``JanusPlugin``,
``plugin.send`` → ``MessageTransaction.get`` → ``done``, ``transport.ping``); ``FastNative`` uses
the native calls (``transport.send_request`` with an ``Expect``, ``plugin.request``) where they
exist and the same calls as ``FastCompat`` for sessions and handles (there is no faster path there).
Fan-in (W7): ``FastCompat`` counts ``joining`` events in a ``JanusPlugin.on_receive`` override and
makes VideoRoom requests with ``send``/``get``; ``FastNative`` uses the typed VideoRoom client
(``create_room``, ``join_as_publisher``) and an ``on_event(JOINING, ...)`` callback.
``FastPool`` (W9) is ``FastNative`` through a ``JanusPool``, ``FastPoolCompat`` is ``FastCompat``
through one: the URL is a comma list of WebSocket URLs, sessions come from ``pool.session()``
(unkeyed: least loaded), pings go round robin over the pool's per-server transports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from janus_fast import Expect, JanusPlugin, JanusSession, JanusTransport
from janus_fast.bench.adapter import (
    REQUEST_TIMEOUT,
    VIDEOROOM,
    Adapter,
    BenchError,
    is_joining,
    room_settings,
)


class _EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


class _FanInRoom(JanusPlugin):
    """A VideoRoom handle as a janus-client program writes one: events through ``on_receive``."""

    name = VIDEOROOM

    def __init__(self, on_joining: Callable[[], None]) -> None:
        super().__init__()
        self.on_joining = on_joining

    async def on_receive(self, response: dict[str, Any]) -> None:
        if is_joining(response):
            self.on_joining()


async def compat_videoroom_request(handle: Any, body: dict[str, Any], reply: str) -> None:
    """Send a VideoRoom request through janus-client's API (``send`` → ``get`` → ``done``).

    Shared by janus_fast and janus-client.

    Args:
        handle: the client's VideoRoom plugin handle.
        body: the VideoRoom request body.
        reply: the ``janus`` type of the reply that completes it (``success``, ``event``).

    Raises:
        BenchError: the plugin answered with an error.
    """
    transaction = await handle.send({"janus": "message", "body": body})
    try:
        message = await transaction.get({"janus": reply}, timeout=REQUEST_TIMEOUT)
    finally:
        await transaction.done()
    data = (message.get("plugindata") or {}).get("data") or {}
    if "error" in data or "error_code" in data:
        raise BenchError(f"VideoRoom {body.get('request')}: {data.get('error')}")


class FastCompat(Adapter):
    """janus_fast through its janus-client-compatible API (``send`` → ``get`` → ``done``)."""

    key = "fast"
    label = "janus_fast (compat API)"

    def __init__(self, api_secret: str | None = None, token: str | None = None) -> None:
        super().__init__(api_secret, token)
        self.transport: JanusTransport | None = None

    def _transport(self) -> JanusTransport:
        assert self.transport is not None, "open() first"
        return self.transport

    async def open(self, url: str) -> None:
        """Create the transport for ``url`` and connect it."""
        self.transport = JanusTransport.create_transport(
            url, api_secret=self.api_secret, token=self.token, config={"timeout": REQUEST_TIMEOUT}
        )
        await self.transport.connect()

    async def close(self) -> None:
        """Disconnect the transport."""
        if self.transport is not None:
            await self.transport.disconnect()
            self.transport = None

    async def ping(self) -> None:
        """Ping with ``transport.ping()``; ``BenchError`` unless the reply is a ``pong``."""
        reply = await self._transport().ping()
        if reply.get("janus") != "pong":
            raise BenchError(f"ping answered {reply.get('janus')!r}")

    async def create_session(self) -> Any:
        """Create a ``JanusSession`` on the transport and return it."""
        session = JanusSession(transport=self._transport())
        await session.create()
        return session

    async def destroy_session(self, session: Any) -> None:
        """Destroy the session with ``session.destroy()``."""
        await session.destroy()

    async def attach(self, session: Any) -> Any:
        """Attach a ``JanusPlugin`` subclass for echotest and return it."""
        plugin = _EchoTest()
        await plugin.attach(session)
        return plugin

    async def detach(self, handle: Any) -> None:
        """Detach with ``handle.destroy()``."""
        await handle.destroy()

    async def message(self, handle: Any) -> None:
        """Send the message, then ``get`` its ``event`` and its ``ack``."""
        transaction = await handle.send({"janus": "message", "body": {"audio": True}})
        try:
            await transaction.get({"janus": "event"}, timeout=REQUEST_TIMEOUT)
            await transaction.get({"janus": "ack"}, timeout=REQUEST_TIMEOUT)
        finally:
            await transaction.done()

    async def fanin_attach(self, session: Any, on_joining: Callable[[], None]) -> Any:
        """Attach a VideoRoom ``JanusPlugin`` whose ``on_receive`` counts ``joining`` events."""
        plugin = _FanInRoom(on_joining)
        await plugin.attach(session)
        return plugin

    async def fanin_create_room(self, handle: Any, room: int, publishers: int) -> None:
        """Create the room with a compat-API ``create`` request."""
        await compat_videoroom_request(handle, room_settings(room, publishers), "success")

    async def fanin_join(self, handle: Any, room: int, display: str) -> None:
        """Join as publisher with a compat-API ``join`` request; complete on its event."""
        body = {"request": "join", "ptype": "publisher", "room": room, "display": display}
        await compat_videoroom_request(handle, body, "event")

    async def fanin_destroy_room(self, handle: Any, room: int) -> None:
        """Destroy the room with a compat-API ``destroy`` request."""
        await compat_videoroom_request(handle, {"request": "destroy", "room": room}, "success")


class FastNative(FastCompat):
    """janus_fast through its native API (``send_request``, ``request``, the plugin clients)."""

    key = "fast-native"
    label = "janus_fast (native API)"

    async def ping(self) -> None:
        """Ping with ``send_request(..., Expect.PONG)``."""
        await self._transport().send_request({"janus": "ping"}, Expect.PONG)

    async def message(self, handle: Any) -> None:
        """Send the message with ``handle.request()``: complete on its event (after the ack)."""
        await handle.request({"audio": True})

    async def fanin_attach(self, session: Any, on_joining: Callable[[], None]) -> Any:
        """Attach a ``JanusVideoRoomPlugin`` with an ``on_event(JOINING)`` callback."""
        from janus_fast.plugins.videoroom import JanusVideoRoomPlugin, VideoRoomEventType

        plugin = JanusVideoRoomPlugin()
        plugin.on_event(VideoRoomEventType.JOINING, lambda _data: on_joining())
        await plugin.attach(session)
        return plugin

    async def fanin_create_room(self, handle: Any, room: int, publishers: int) -> None:
        """Create the room with ``create_room()``."""
        settings = room_settings(room, publishers)
        del settings["request"], settings["room"]
        await handle.create_room(room_id=room, **settings)

    async def fanin_join(self, handle: Any, room: int, display: str) -> None:
        """Join with ``join_as_publisher()``."""
        await handle.join_as_publisher(room, display=display)

    async def fanin_destroy_room(self, handle: Any, room: int) -> None:
        """Destroy the room with ``destroy_room()``."""
        await handle.destroy_room(room)


class _Pooled(FastCompat):
    """A ``JanusPool`` of the comma-separated URLs in place of one transport."""

    def __init__(self, api_secret: str | None = None, token: str | None = None) -> None:
        super().__init__(api_secret, token)
        self.pool: Any = None
        self.transports: list[JanusTransport] = []
        self.turn = 0

    async def open(self, url: str) -> None:
        """Start a ``JanusPool`` of the comma-separated URLs in ``url``."""
        from janus_fast.pool import JanusPool

        urls = [part for part in url.split(",") if part]
        # W9 runs only against the benchmark's own servers, which need no credentials.
        self.pool = JanusPool(urls, timeout=REQUEST_TIMEOUT)
        await self.pool.start()
        self.transports = [self.pool.server(name).transport for name in self.pool.servers]

    async def close(self) -> None:
        """Close the pool."""
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    def next_transport(self) -> JanusTransport:
        """Return the next of the pool's per-server transports, round robin."""
        self.turn += 1
        return self.transports[self.turn % len(self.transports)]

    async def create_session(self) -> Any:
        """Create a session on the server the pool places it on."""
        return await self.pool.session()


class FastPool(_Pooled, FastNative):
    """W9 through the native API, over a ``JanusPool``."""

    key = "fast-native"
    label = "janus_fast (native API, JanusPool)"

    async def ping(self) -> None:
        """Ping the pool's servers in turn with ``send_request(..., Expect.PONG)``."""
        await self.next_transport().send_request({"janus": "ping"}, Expect.PONG)


class FastPoolCompat(_Pooled):
    """W9 through the janus-client-compatible API: ``transport.ping()``, ``send`` → ``get``."""

    key = "fast"
    label = "janus_fast (compat API, JanusPool)"

    async def ping(self) -> None:
        """Ping the pool's servers in turn with ``transport.ping()``."""
        reply = await self.next_transport().ping()
        if reply.get("janus") != "pong":
            raise BenchError(f"ping answered {reply.get('janus')!r}")
