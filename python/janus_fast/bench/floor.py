"""The pure-Python floor: the least a correct asyncio Janus client must do per request.

Rule: WebSocket — ``websockets`` + ``orjson`` + a dict of futures keyed by transaction; HTTP —
one pooled ``aiohttp`` session + ``orjson``, one long poll per session. No validation beyond what
completion needs: a request completes on its first reply, a plugin ``message`` on its ack *and*
its event (or on an error/success). No per-request deadline either: the workload's overall
deadline bounds a lost reply. Events without a transaction go to the listener registered for their
``sender`` (a dict lookup, W7's fan-in). This is the baseline a native client has to beat.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import itertools
from collections.abc import Callable
from typing import Any

import orjson

from janus_fast.bench.adapter import (
    ECHOTEST,
    VIDEOROOM,
    Adapter,
    BenchError,
    is_joining,
    room_settings,
)

JsonDict = dict[str, Any]


def _complete(pending: dict[str, list[Any]], message: JsonDict) -> None:
    entry = pending.get(message.get("transaction"))  # type: ignore[arg-type]
    if entry is None:
        return
    kind = message.get("janus")
    if kind == "ack" or kind == "event":
        entry[1] -= 1
        if entry[1] > 0:
            return
    del pending[message["transaction"]]
    future = entry[0]
    if not future.done():
        future.set_result(message)


class _FloorBase(Adapter):
    def __init__(self, api_secret: str | None = None, token: str | None = None) -> None:
        super().__init__(api_secret, token)
        self.pending: dict[str, list[Any]] = {}
        #: handle id → callable taking each event without a transaction from that handle.
        self.listeners: dict[int, Callable[[JsonDict], None]] = {}
        self._ids = itertools.count(1)

    def _prepare(self, message: JsonDict, replies: int) -> tuple[str, asyncio.Future[JsonDict]]:
        transaction = str(next(self._ids))
        message["transaction"] = transaction
        if self.api_secret is not None:
            message["apisecret"] = self.api_secret
        if self.token is not None:
            message["token"] = self.token
        future: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self.pending[transaction] = [future, replies]
        return transaction, future

    async def call(
        self,
        message: JsonDict,
        replies: int = 1,
        session_id: int | None = None,
        handle_id: int | None = None,
    ) -> JsonDict:
        raise NotImplementedError

    async def ping(self) -> None:
        reply = await self.call({"janus": "ping"})
        if reply["janus"] != "pong":
            raise BenchError(f"ping answered {reply['janus']!r}")

    async def create_session(self) -> Any:
        reply = _ok(await self.call({"janus": "create"}))
        session_id = int(reply["data"]["id"])
        await self._session_created(session_id)
        return session_id

    async def _session_created(self, session_id: int) -> None:
        pass

    async def destroy_session(self, session: Any) -> None:
        _ok(await self.call({"janus": "destroy"}, session_id=session))
        await self._session_destroyed(session)

    async def _session_destroyed(self, session_id: int) -> None:
        pass

    async def attach(self, session: Any) -> Any:
        reply = _ok(await self.call({"janus": "attach", "plugin": ECHOTEST}, session_id=session))
        return (session, int(reply["data"]["id"]))

    async def detach(self, handle: Any) -> None:
        _ok(await self.call({"janus": "detach"}, session_id=handle[0], handle_id=handle[1]))

    async def message(self, handle: Any) -> None:
        reply = await self.call(
            {"janus": "message", "body": {"audio": True}},
            replies=2,
            session_id=handle[0],
            handle_id=handle[1],
        )
        if reply["janus"] == "error":
            raise BenchError(f"Janus error {reply.get('error')}")

    async def fanin_attach(self, session: Any, on_joining: Callable[[], None]) -> Any:
        reply = _ok(await self.call({"janus": "attach", "plugin": VIDEOROOM}, session_id=session))
        handle_id = int(reply["data"]["id"])

        def listener(message: JsonDict) -> None:
            if is_joining(message):
                on_joining()

        self.listeners[handle_id] = listener
        return (session, handle_id)

    async def _videoroom(self, handle: Any, body: JsonDict, replies: int) -> None:
        reply = await self.call(
            {"janus": "message", "body": body},
            replies=replies,
            session_id=handle[0],
            handle_id=handle[1],
        )
        data = (reply.get("plugindata") or {}).get("data") or {}
        if reply["janus"] == "error" or "error" in data:
            raise BenchError(f"VideoRoom {body['request']}: {reply.get('error') or data}")

    async def fanin_create_room(self, handle: Any, room: int, publishers: int) -> None:
        await self._videoroom(handle, room_settings(room, publishers), 1)

    async def fanin_join(self, handle: Any, room: int, display: str) -> None:
        body = {"request": "join", "ptype": "publisher", "room": room, "display": display}
        await self._videoroom(handle, body, 2)

    async def fanin_destroy_room(self, handle: Any, room: int) -> None:
        await self._videoroom(handle, {"request": "destroy", "room": room}, 1)


def _ok(reply: JsonDict) -> JsonDict:
    if reply.get("janus") != "success":
        raise BenchError(f"Janus answered {reply.get('janus')!r}: {reply.get('error')}")
    return reply


class FloorWebSocket(_FloorBase):
    """websockets + orjson + dict of futures."""

    key = "floor"
    label = "floor (websockets+orjson / aiohttp+orjson)"

    async def open(self, url: str) -> None:
        """Open the WebSocket and start the reader task."""
        websockets = importlib.import_module("websockets")
        self.ws: Any = await websockets.connect(
            url, subprotocols=["janus-protocol"], compression=None, max_size=None
        )
        self._text = "text" in inspect.signature(self.ws.send).parameters
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loads = orjson.loads
        pending = self.pending
        listeners = self.listeners
        async for raw in self.ws:
            message = loads(raw)
            if "transaction" in message:
                _complete(pending, message)
            else:
                listener = listeners.get(message.get("sender"))
                if listener is not None:
                    listener(message)

    async def close(self) -> None:
        """Stop the reader task and close the WebSocket."""
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)
        await self.ws.close()

    async def call(
        self,
        message: JsonDict,
        replies: int = 1,
        session_id: int | None = None,
        handle_id: int | None = None,
    ) -> JsonDict:
        """Send ``message`` over the WebSocket and wait for its ``replies``-th reply.

        Args:
            message: the request (a transaction is added).
            replies: how many replies complete it (2: an ack, then the event).
            session_id: added to the message when given.
            handle_id: added to the message when given.

        Returns:
            The completing reply.
        """
        if session_id is not None:
            message["session_id"] = session_id
        if handle_id is not None:
            message["handle_id"] = handle_id
        transaction, future = self._prepare(message, replies)
        try:
            if self._text:
                await self.ws.send(orjson.dumps(message), text=True)
            else:
                await self.ws.send(orjson.dumps(message).decode())
            return await future
        finally:
            self.pending.pop(transaction, None)


class FloorHTTP(_FloorBase):
    """One pooled aiohttp session + orjson; events from one long poll per session."""

    key = "floor"
    label = FloorWebSocket.label

    async def open(self, url: str) -> None:
        """Open the pooled aiohttp session (at most 100 connections)."""
        import aiohttp

        self.url = url.rstrip("/")
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        self.polls: dict[int, asyncio.Task[None]] = {}

    async def close(self) -> None:
        """Stop the long polls and close the aiohttp session."""
        for task in self.polls.values():
            task.cancel()
        await asyncio.gather(*self.polls.values(), return_exceptions=True)
        await self.http.close()

    async def call(
        self,
        message: JsonDict,
        replies: int = 1,
        session_id: int | None = None,
        handle_id: int | None = None,
    ) -> JsonDict:
        """POST ``message`` to its session/handle path and wait for its ``replies``-th reply.

        Args:
            message: the request (a transaction is added).
            replies: how many replies complete it (2: the POST's ack, then the polled event).
            session_id: the session path part, when given.
            handle_id: the handle path part, when given.

        Returns:
            The completing reply.

        Raises:
            BenchError: the POST was answered with an HTTP status other than 200.
        """
        url = self.url
        if session_id is not None:
            url = f"{url}/{session_id}"
            if handle_id is not None:
                url = f"{url}/{handle_id}"
        transaction, future = self._prepare(message, replies)
        try:
            async with self.http.post(url, data=orjson.dumps(message)) as response:
                if response.status != 200:
                    raise BenchError(f"HTTP {response.status}")
                reply = orjson.loads(await response.read())
            _complete(self.pending, reply)
            return await future
        finally:
            self.pending.pop(transaction, None)

    async def _session_created(self, session_id: int) -> None:
        self.polls[session_id] = asyncio.get_running_loop().create_task(self._poll(session_id))

    async def _session_destroyed(self, session_id: int) -> None:
        task = self.polls.pop(session_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _poll(self, session_id: int) -> None:
        params = {"maxev": "10"}
        if self.api_secret is not None:
            params["apisecret"] = self.api_secret
        if self.token is not None:
            params["token"] = self.token
        url = f"{self.url}/{session_id}"
        pending = self.pending
        while True:
            async with self.http.get(url, params=params) as response:
                if response.status != 200:
                    return
                payload = orjson.loads(await response.read())
            for message in payload if isinstance(payload, list) else (payload,):
                if "transaction" in message:
                    _complete(pending, message)
                else:
                    listener = self.listeners.get(message.get("sender"))
                    if listener is not None:
                        listener(message)
