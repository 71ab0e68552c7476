"""janus-client 0.9.0 (PyPI) under test, driven only through its public API.

Rule: janus-client is a benchmark-only dependency, imported lazily (it pulls in aiortc and PyAV)
in the benchmark's per-client worker process, never by the library or its tests. Its import calls
``logging.basicConfig(level=INFO)``; the root and ``janus_client`` loggers are set back to WARNING
right after, so it is measured as a user would run it (not writing every message to stderr).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from janus_fast.bench.adapter import (
    ECHOTEST,
    REQUEST_TIMEOUT,
    VIDEOROOM,
    Adapter,
    BenchError,
    is_joining,
    room_settings,
)
from janus_fast.bench.fast import compat_videoroom_request

REQUIREMENT = "janus-client==0.9.0"


def load_janus_client() -> Any:
    """Import janus_client (raises ImportError with an install hint when it is missing)."""
    try:
        module = importlib.import_module("janus_client")
    except ImportError as exc:
        raise ImportError(
            f"janus-client is not installed (pip install '{REQUIREMENT}'): {exc}"
        ) from exc
    for name in ("", "janus_client", "aiortc", "aioice"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return module


def installed_version() -> str | None:
    """Return the installed janus-client's version, or None when it is not installed."""
    try:
        from importlib.metadata import version

        return version("janus-client")
    except Exception:
        return None


class PeerClient(Adapter):
    """janus-client 0.9.0, driven through its public API as its users write it."""

    key = "janus-client"
    label = "janus-client 0.9.0"

    def __init__(self, api_secret: str | None = None, token: str | None = None) -> None:
        super().__init__(api_secret, token)
        self.jc = load_janus_client()
        base = self.jc.JanusPlugin

        class EchoTest(base):  # type: ignore[misc, valid-type]
            name = ECHOTEST

            async def on_receive(self, response: dict[str, Any]) -> None:
                pass

        class FanInRoom(base):  # type: ignore[misc, valid-type]
            name = VIDEOROOM

            def __init__(self, on_joining: Callable[[], None]) -> None:
                super().__init__()
                self.on_joining = on_joining

            async def on_receive(self, response: dict[str, Any]) -> None:
                if is_joining(response):
                    self.on_joining()

        self._plugin_class: Any = EchoTest
        self._room_class: Any = FanInRoom
        self.transport: Any = None

    async def open(self, url: str) -> None:
        """Create janus-client's transport for ``url`` and connect it."""
        self.transport = self.jc.JanusTransport.create_transport(
            base_url=url, api_secret=self.api_secret, token=self.token
        )
        await self.transport.connect()

    async def close(self) -> None:
        """Disconnect the transport."""
        if self.transport is not None:
            await self.transport.disconnect()
            self.transport = None

    async def ping(self) -> None:
        """Ping with ``transport.ping()``, reconnecting first if needed.

        janus-client disconnects with its last session.

        Raises:
            BenchError: the reply is not a ``pong``.
        """
        if not self.transport.connected:  # janus-client disconnects with its last session
            await self.transport.connect()
        reply = await self.transport.ping()
        if reply.get("janus") != "pong":
            raise BenchError(f"ping answered {reply.get('janus')!r}")

    async def create_session(self) -> Any:
        """Create a janus-client ``JanusSession`` and return it."""
        session = self.jc.JanusSession(transport=self.transport)
        await session.create()
        return session

    async def destroy_session(self, session: Any) -> None:
        """Destroy the session with ``session.destroy()``."""
        await session.destroy()

    async def attach(self, session: Any) -> Any:
        """Attach a janus-client ``JanusPlugin`` subclass for echotest and return it."""
        plugin = self._plugin_class()
        await plugin.attach(session)
        return plugin

    async def detach(self, handle: Any) -> None:
        """Detach with ``handle.destroy()``."""
        await handle.destroy()

    async def message(self, handle: Any) -> None:
        """Send the message, then ``get`` its ``event`` (with ``plugindata``) and its ``ack``."""
        transaction = await handle.send({"janus": "message", "body": {"audio": True}})
        try:
            event = await transaction.get({"janus": "event"}, timeout=REQUEST_TIMEOUT)
            await transaction.get({"janus": "ack"}, timeout=REQUEST_TIMEOUT)
        finally:
            await transaction.done()
        if "plugindata" not in event:
            raise BenchError("echotest event without plugindata")

    async def fanin_attach(self, session: Any, on_joining: Callable[[], None]) -> Any:
        """Attach a VideoRoom ``JanusPlugin`` whose ``on_receive`` counts ``joining`` events."""
        plugin = self._room_class(on_joining)
        await plugin.attach(session)
        return plugin

    async def fanin_create_room(self, handle: Any, room: int, publishers: int) -> None:
        """Create the room with a ``create`` request (``send`` → ``get`` → ``done``)."""
        await compat_videoroom_request(handle, room_settings(room, publishers), "success")

    async def fanin_join(self, handle: Any, room: int, display: str) -> None:
        """Join as publisher with a ``join`` request; complete on its event."""
        body = {"request": "join", "ptype": "publisher", "room": room, "display": display}
        await compat_videoroom_request(handle, body, "event")

    async def fanin_destroy_room(self, handle: Any, room: int) -> None:
        """Destroy the room with a ``destroy`` request."""
        await compat_videoroom_request(handle, {"request": "destroy", "room": room}, "success")
