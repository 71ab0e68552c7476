"""A scripted Janus for the end-to-end fuzzer: answers like Janus 1.1.2; one answer is mutable.

Rule: every reply is built from the bytes a real Janus 1.1.2 sent (``rust/proto/tests/fixtures/ws``,
captured by ``scripts/capture_fixtures.py``) with only the ids and transaction replaced; the
server keeps Janus's session and handle tables, so an unknown session or handle gets Janus's own
458/459 error. ``arm(kind, mutator)`` hands the replies to the NEXT request of ``kind`` (or the
next long poll, ``kind="longpoll"``) to ``mutator``, which returns a ``Plan``: what to write, how
to frame it, when to close. Every other exchange is answered normally, so a client that survived
the mutated exchange must work again. The WebSocket side speaks RFC 6455 by hand
(``_fake_janus``); the HTTP side is a small HTTP/1.1 server (keep-alive, long polls).
Every server task is named ``fuzz-server...`` so the fuzzer can tell them from the client's.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import dataclasses
import itertools
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from _fake_janus import accept_key, frame, split_objects

FIXTURES = Path(__file__).resolve().parents[2] / "rust" / "proto" / "tests" / "fixtures" / "ws"
JsonDict = dict[str, Any]


def _load(name: str) -> JsonDict:
    loaded: JsonDict = json.loads((FIXTURES / name).read_bytes())
    return loaded


#: The recorded replies, by what they answer.
TEMPLATES = {
    "info": _load("01-server_info.json"),
    "pong": _load("02-pong.json"),
    "create": _load("03-create-success.json"),
    "attach": _load("04-attach-echotest-success.json"),
    "ack": _load("05-keepalive-ack.json"),
    "message_ack": _load("06-echotest-message-ack.json"),
    "message_event": _load("07-echotest-event.json"),
    "jsep_ack": _load("08-echotest-jsep-ack.json"),
    "jsep_event": _load("09-echotest-jsep-event.json"),
    "no_session": _load("16-error-458-no-session.json"),
    "no_handle": _load("17-error-459-no-handle.json"),
    "no_plugin": _load("18-error-460-no-plugin.json"),
    "missing": _load("19-error-456-missing-element.json"),
    "detach": _load("20-detach-success.json"),
    "detach_event": _load("21-detach-event.json"),
    "detached": _load("22-detached.json"),
    "destroy": _load("23-destroy-success.json"),
    "timeout": _load("24-session-timeout.json"),
    "vr_attach": _load("10-attach-videoroom-success.json"),
    "vr_list": _load("11-videoroom-list-success.json"),
    "vr_exists": _load("12-videoroom-exists-success.json"),
    "vr_join_ack": _load("13-videoroom-join-ack.json"),
    "vr_joined": _load("14-videoroom-joined-event.json"),
    "vr_error": _load("15-videoroom-destroy-error-426.json"),
}
PLUGINS = (
    "janus.plugin.echotest",
    "janus.plugin.videoroom",
    "janus.plugin.audiobridge",
    "janus.plugin.textroom",
)
#: The Admin API requests the scripted Janus answers (any endpoint; Janus keeps them apart).
ADMIN_REQUESTS = frozenset(
    (
        "list_sessions",
        "list_handles",
        "handle_info",
        "get_status",
        "loops_info",
        "set_log_level",
        "set_session_timeout",
        "accept_new_sessions",
        "list_tokens",
        "message_plugin",
    )
)
#: The rooms of the VideoRoom (the recorded list's).
ROOMS = {room["room"] for room in TEMPLATES["vr_list"]["plugindata"]["data"]["list"]}


def encode(message: Any) -> bytes:
    """Janus's default style (jansson ``JSON_INDENT(3)``, keys in order)."""
    return json.dumps(message, indent=3).encode()


def _fill(name: str, **fields: Any) -> JsonDict:
    """A recorded reply with the given top-level fields replaced (None: removed)."""
    reply = copy.deepcopy(TEMPLATES[name])
    for key, value in fields.items():
        if value is None:
            reply.pop(key, None)
        elif key == "id":
            reply["data"]["id"] = value
        else:
            reply[key] = value
    return reply


@dataclasses.dataclass
class Reply:
    """One message of an answer: ``sync`` is the reply to the request itself (the HTTP POST's
    response), ``event`` comes asynchronously (the HTTP long poll)."""

    message: JsonDict
    channel: str = "sync"


@dataclasses.dataclass
class Step:
    """What a plan does: ``msg`` writes ``data`` (a message's bytes) on ``channel``; ``raw``
    writes bytes as they are (WebSocket: already framed); ``sleep`` waits ``delay``; ``close``
    ends the connection (``how``: ``abort``, ``eof``, ``ws-close`` with ``code``; HTTP
    ``after``: once the response is written). Over HTTP the sleeps all come before the response,
    the events go to the session's long poll."""

    op: str
    data: bytes = b""
    channel: str = "sync"
    delay: float = 0.0
    how: str = "abort"
    code: int = 1000


@dataclasses.dataclass
class Plan:
    """How one mutated answer goes out."""

    steps: list[Step]
    #: WebSocket: ``None`` one frame per message; ``fragment`` continuation frames at random
    #: cuts, with control frames between them; ``coalesce`` every message in one text frame.
    ws_framing: str | None = None
    #: Write the bytes in random pieces with short pauses (TCP segment boundaries).
    tcp_split: bool = False
    #: HTTP: the POST response (or long poll) status line, extra header lines and framing
    #: (``length``, ``chunked``, ``short-length``, ``long-length``, ``close-delimited``,
    #: ``trailing-bytes``).
    http_status: str = "200 OK"
    http_headers: bytes = b""
    http_framing: str | None = None
    #: Rng for the transport-level choices (cuts, chunk sizes), seeded per case.
    rng: random.Random = dataclasses.field(default_factory=random.Random)


Mutator = Callable[[list[Reply]], Plan]


def normal_plan(replies: list[Reply]) -> Plan:
    return Plan([Step("msg", encode(r.message), r.channel) for r in replies])


class JanusBrain:
    """Janus's answers from the recorded replies; sessions and handles tracked as Janus does."""

    def __init__(self) -> None:
        self.sessions: dict[int, set[int]] = {}
        #: Plugin of each handle.
        self.plugins: dict[int, str] = {}
        self.rooms = set(ROOMS)
        self._ids = itertools.count(3_514_230_787_009_356, 7_919_333)
        self.requests = 0

    def new_id(self) -> int:
        return next(self._ids)

    def answer(self, request: Any) -> list[Reply]:
        self.requests += 1
        if not isinstance(request, dict):
            return [Reply(_fill("missing", transaction=None, session_id=None))]
        kind = request.get("janus")
        tx = request.get("transaction")
        sid = request.get("session_id")
        hid = request.get("handle_id")
        if kind == "ping":
            return [Reply(_fill("pong", transaction=tx))]
        if kind == "info":
            return [Reply(_fill("info", transaction=tx))]
        if kind in ADMIN_REQUESTS:
            return self._admin(kind, request, tx, sid, hid)
        if kind == "create":
            new = self.new_id()
            self.sessions[new] = set()
            return [Reply(_fill("create", transaction=tx, id=new))]
        if sid not in self.sessions:
            error = {"code": 458, "reason": f"No such session {sid}"}
            return [Reply(_fill("no_session", transaction=tx, session_id=sid, error=error))]
        handles = self.sessions[sid]
        if kind == "keepalive":
            return [Reply(_fill("ack", transaction=tx, session_id=sid))]
        if kind == "destroy":
            del self.sessions[sid]
            return [Reply(_fill("destroy", transaction=tx, session_id=sid))]
        if kind == "attach":
            plugin = request.get("plugin")
            if plugin not in PLUGINS:
                error = {"code": 460, "reason": f"No such plugin '{plugin}'"}
                return [Reply(_fill("no_plugin", transaction=tx, session_id=sid, error=error))]
            new = self.new_id()
            handles.add(new)
            self.plugins[new] = plugin
            template = "attach" if plugin == PLUGINS[0] else "vr_attach"
            return [Reply(_fill(template, transaction=tx, session_id=sid, id=new))]
        if hid not in handles:
            error = {"code": 459, "reason": f"No such handle {hid} in session {sid}"}
            return [Reply(_fill("no_handle", transaction=tx, session_id=sid, error=error))]
        ids = {"session_id": sid, "sender": hid}
        if kind == "message" and self.plugins.get(hid) == PLUGINS[1]:
            return self._videoroom(request, tx, sid, hid)
        if kind == "message" and self.plugins.get(hid) in PLUGINS[2:]:
            return self._rooms(str(self.plugins[hid]).rsplit(".", 1)[1], request, tx, sid, hid)
        if kind == "message":
            jsep = "jsep" in request
            return [
                Reply(_fill("jsep_ack" if jsep else "message_ack", transaction=tx, session_id=sid)),
                Reply(
                    _fill("jsep_event" if jsep else "message_event", transaction=tx, **ids),
                    "event",
                ),
            ]
        if kind == "trickle":
            return [Reply(_fill("ack", transaction=tx, session_id=sid))]
        if kind == "hangup":  # Janus: success, then the hangup event of a live PeerConnection
            return [Reply(_fill("detach", transaction=tx, session_id=sid))]
        if kind == "detach":
            handles.discard(hid)
            return [
                Reply(_fill("detach", transaction=tx, session_id=sid)),
                Reply(_fill("detach_event", **ids), "event"),
                Reply(_fill("detached", **ids), "event"),
            ]
        error = {"code": 453, "reason": f"Unknown request '{kind}'"}
        return [Reply(_fill("missing", transaction=tx, session_id=sid, error=error))]

    def _admin(self, kind: str, request: JsonDict, tx: Any, sid: Any, hid: Any) -> list[Reply]:
        """The Admin API's answers (Janus's shapes: the result's field next to ``janus``)."""
        reply: JsonDict = {"janus": "success", "transaction": tx}
        if kind in ("list_handles", "handle_info") and sid not in self.sessions:
            error = {"code": 458, "reason": f"No such session {sid}"}
            return [Reply(_fill("no_session", transaction=tx, session_id=sid, error=error))]
        if kind == "handle_info" and hid not in self.sessions[sid]:
            error = {"code": 459, "reason": f"No such handle {hid} in session {sid}"}
            return [Reply(_fill("no_handle", transaction=tx, session_id=sid, error=error))]
        if kind == "list_sessions":
            reply["sessions"] = sorted(self.sessions)
        elif kind == "list_handles":
            reply.update(session_id=sid, handles=sorted(self.sessions[sid]))
        elif kind == "handle_info":
            info = {"session_id": sid, "handle_id": hid, "plugin": self.plugins.get(hid)}
            reply.update(session_id=sid, handle_id=hid, info=info)
        elif kind == "get_status":
            reply["status"] = {"token_auth": False, "session_timeout": 60, "log_level": 4}
        elif kind == "loops_info":
            reply["loops"] = []
        elif kind == "set_log_level":
            reply["level"] = request.get("level")
        elif kind == "set_session_timeout":
            reply["timeout"] = request.get("timeout")
        elif kind == "accept_new_sessions":
            reply["accept"] = request.get("accept")
        elif kind == "list_tokens":
            reply["data"] = {"tokens": [{"token": "t1", "allowed_plugins": [PLUGINS[0]]}]}
        elif kind == "message_plugin":
            data = TEMPLATES["vr_list"]["plugindata"]["data"]
            reply["response"] = copy.deepcopy(data)
        return [Reply(reply)]

    def _rooms(self, plugin: str, request: JsonDict, tx: Any, sid: int, hid: int) -> list[Reply]:
        """AudioBridge's and TextRoom's answers, in the shape of the VideoRoom's recorded ones
        (``plugin``: ``audiobridge`` or ``textroom``, the key of their replies)."""
        body = request.get("body") if isinstance(request.get("body"), dict) else {}
        what, room = body.get("request"), body.get("room")
        ids = {"transaction": tx, "session_id": sid, "sender": hid}

        def reply(data: JsonDict) -> JsonDict:
            message = _fill("vr_exists", **ids)
            message["plugindata"] = {"plugin": f"janus.plugin.{plugin}", "data": data}
            return message

        def error(code: int, text: str) -> list[Reply]:
            return [Reply(reply({plugin: "error", "error_code": code, "error": text}))]

        if what == "list":
            rooms = [{"room": r, "description": f"Room {r}", "num_participants": 0} for r in ROOMS]
            return [Reply(reply({plugin: "success", "list": rooms}))]
        if what == "exists":
            return [Reply(reply({plugin: "success", "room": room, "exists": room in self.rooms}))]
        if what == "create":
            room = room if room is not None else self.new_id() % 1_000_000
            if room in self.rooms:
                return error(486, f"Room {room} already exists")
            self.rooms.add(room)
            return [
                Reply(
                    reply(
                        {
                            plugin: "created" if plugin != "textroom" else "success",
                            "room": room,
                            "permanent": False,
                        }
                    )
                )
            ]
        if room is not None and room not in self.rooms:
            return error(485, f"No such room ({room})")
        if what == "listparticipants":
            return [Reply(reply({plugin: "participants", "room": room, "participants": []}))]
        if what in ("join", "leave") and plugin == "audiobridge":
            data: JsonDict = {"audiobridge": "left", "room": 1234, "id": hid % 1_000_000}
            if what == "join":
                data = {
                    "audiobridge": "joined",
                    "room": room,
                    "id": self.new_id() % 1_000_000,
                    "participants": [],
                }
            event = reply(data)
            return [
                Reply(_fill("vr_join_ack", transaction=tx, session_id=sid)),
                Reply(event, "event"),
            ]
        return error(481, f"Unknown request '{what}'")

    def _videoroom(self, request: JsonDict, tx: Any, sid: int, hid: int) -> list[Reply]:
        """The VideoRoom's answers: the recorded ones, others in the same shape."""
        body = request.get("body") if isinstance(request.get("body"), dict) else {}
        what, room = body.get("request"), body.get("room")
        ids = {"transaction": tx, "session_id": sid, "sender": hid}

        def success(data: JsonDict) -> list[Reply]:
            reply = _fill("vr_exists", **ids)
            reply["plugindata"]["data"] = {"videoroom": "success", **data}
            return [Reply(reply)]

        def event(data: JsonDict) -> list[Reply]:
            reply = _fill("vr_joined", **ids)
            reply["plugindata"]["data"] = data
            return [
                Reply(_fill("vr_join_ack", transaction=tx, session_id=sid)),
                Reply(reply, "event"),
            ]

        if what == "list":
            return [Reply(_fill("vr_list", **ids))]
        if what == "exists":
            return success({"room": room, "exists": room in self.rooms})
        if what in ("create", "destroy", "join", "listparticipants") and (
            (what == "create") == (room in self.rooms) and room is not None
        ):
            error = _fill("vr_error", **ids)
            code, text = (
                (427, "Room {} already exists") if what == "create" else (426, "No such room ({})")
            )
            error["plugindata"]["data"].update(error_code=code, error=text.format(room))
            return [Reply(error)]
        if what == "create":
            room = room if room is not None else self.new_id() % 1_000_000
            self.rooms.add(room)
            return [
                Reply(
                    _fill(
                        "vr_exists",
                        **ids,
                        plugindata={
                            "plugin": PLUGINS[1],
                            "data": {"videoroom": "created", "room": room, "permanent": False},
                        },
                    )
                )
            ]
        if what == "destroy":
            self.rooms.discard(room)
            return success({"videoroom": "destroyed", "room": room, "permanent": False})
        if what == "listparticipants":
            return success({"videoroom": "participants", "room": room, "participants": []})
        if what == "join":
            joined = _fill("vr_joined", **ids)
            joined["plugindata"]["data"].update(room=room, id=self.new_id())
            return [
                Reply(_fill("vr_join_ack", transaction=tx, session_id=sid)),
                Reply(joined, "event"),
            ]
        if what == "leave":
            return event({"videoroom": "event", "leaving": "ok"})
        error = _fill("vr_error", **ids)
        error["plugindata"]["data"].update(error_code=423, error=f"Unknown request '{what}'")
        return [Reply(error)]


class ScriptedJanus:
    """What both servers share: the brain, the armed mutation, the server's own tasks."""

    def __init__(self) -> None:
        self.brain = JanusBrain()
        self._armed: dict[Any, tuple[Mutator, int]] = {}
        #: The transactions of the latest requests (wrong ids borrow them).
        self.recent: collections.deque[Any] = collections.deque(maxlen=16)
        #: How many armed mutations were applied (a case whose target never came applies none).
        self.applied = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def reset(self) -> None:
        """Forget every session, handle and queued event (between cases: what a client lost
        stays out of the memory the fuzzer measures); ids keep counting, never reused."""
        self.brain.sessions.clear()
        self.brain.plugins.clear()
        self.brain.rooms = set(ROOMS)
        self.disarm()

    def arm(self, kind: str, mutator: Mutator, skip: int = 0) -> None:
        """Mutate the answer to the request of ``kind`` that comes after ``skip`` others (one
        armed mutation per kind; several kinds may be armed at once)."""
        self._armed[kind] = (mutator, skip)

    def disarm(self) -> None:
        self._armed.clear()

    def plan_for(self, kind: Any, replies: list[Reply]) -> Plan:
        for reply in replies:
            if reply.message.get("transaction") is not None:
                self.recent.append(reply.message["transaction"])
                break
        armed = self._armed.get(kind)
        if armed is not None and armed[1] > 0:
            self._armed[kind] = (armed[0], armed[1] - 1)
        elif armed is not None:
            del self._armed[kind]
            self.applied += 1
            return armed[0](replies)
        return normal_plan(replies)

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name="fuzz-server-plan")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> ScriptedJanus:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        task.set_name("fuzz-server-connection")
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self.serve(reader, writer)
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
            RuntimeError,  # uvloop: a write on a transport the client already closed
        ):
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        """Abort every connection (their handlers end on it), cancel the plans still running."""
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _write(writer: asyncio.StreamWriter, data: bytes, plan: Plan) -> None:
    """``data`` at once, or in random pieces with short pauses (``plan.tcp_split``)."""
    if not plan.tcp_split or len(data) < 2:
        writer.write(data)
        return
    rng = plan.rng
    index = 0
    while index < len(data):
        size = rng.choice((1, 1, 2, 3, 7, 64, 1000))
        writer.write(data[index : index + size])
        index += size
        await writer.drain()
        if rng.random() < 0.3:
            await asyncio.sleep(rng.choice((0, 0.001, 0.005)))


# -- WebSocket ------------------------------------------------------------------------------------
class WsScriptedJanus(ScriptedJanus):
    """Janus over WebSocket: one ``101``, then requests (coalesced frames too) answered in order."""

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key, protocol = b"", b"janus-protocol"
        for line in request.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
            if line.lower().startswith(b"sec-websocket-protocol:"):  # janus or janus-admin
                protocol = line.split(b":", 1)[1].strip()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_key(key) + b"\r\n"
            b"Sec-WebSocket-Protocol: " + protocol + b"\r\n\r\n"
        )
        lock = asyncio.Lock()
        while True:
            opcode, payload = await _read_ws_frame(reader)
            if opcode == 0x8:
                writer.write(frame(0x8, payload[:2]))
                await writer.drain()
                return
            if opcode == 0x9:
                writer.write(frame(0xA, payload))
                continue
            if opcode != 0x1:
                continue
            for request in split_objects(payload):
                replies = self.brain.answer(request)
                plan = self.plan_for(request.get("janus"), replies)
                if plan.tcp_split or any(s.op in ("sleep", "close") for s in plan.steps):
                    self.spawn(self._run(plan, writer, lock))
                else:
                    await self._run(plan, writer, lock)

    async def push(self, plan: Plan) -> None:
        """Messages nobody asked for, on every open connection (floods, unknown types)."""
        for writer in list(self._writers):
            self.spawn(self._run(plan, writer, asyncio.Lock()))

    async def _run(self, plan: Plan, writer: asyncio.StreamWriter, lock: asyncio.Lock) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            async with lock:
                messages = [s.data for s in plan.steps if s.op == "msg"]
                if plan.ws_framing == "coalesce" and messages:
                    rest = [s for s in plan.steps if s.op != "msg"]
                    await _write(writer, frame(0x1, b"".join(messages)), plan)
                    steps = rest
                else:
                    steps = plan.steps
                for step in steps:
                    if step.op == "sleep":
                        await asyncio.sleep(step.delay)
                    elif step.op == "raw":
                        await _write(writer, step.data, plan)
                    elif step.op == "close":
                        if step.how == "ws-close":
                            code = step.code.to_bytes(2, "big")
                            writer.write(frame(0x8, code + b"fuzz"))
                            await writer.drain()
                        elif step.how == "eof":
                            await writer.drain()
                            writer.close()
                        else:
                            writer.transport.abort()
                        return
                    elif step.op == "msg":
                        if plan.ws_framing == "fragment":
                            await _write(writer, _fragments(step.data, plan.rng), plan)
                        else:
                            await _write(writer, janus_frames(step.data), plan)
                await writer.drain()


#: Janus (libwebsockets) sends a message larger than this as fragments of this size
#: (``ws-stream.bin``: the 2,893-byte JSEP event went as 2,800 bytes, then 93).
JANUS_FRAGMENT = 2800


def janus_frames(data: bytes) -> bytes:
    """One message framed as Janus frames it."""
    pieces = [data[i : i + JANUS_FRAGMENT] for i in range(0, len(data), JANUS_FRAGMENT)] or [b""]
    return b"".join(
        frame(0x1 if index == 0 else 0x0, piece, fin=index == len(pieces) - 1)
        for index, piece in enumerate(pieces)
    )


def _fragments(data: bytes, rng: random.Random) -> bytes:
    """One message as a text frame and continuations cut at random, pings and pongs between."""
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    out = b""
    for index, piece in enumerate(pieces):
        out += frame(0x1 if index == 0 else 0x0, piece, fin=index == len(pieces) - 1)
        if index < len(pieces) - 1 and rng.random() < 0.3:
            out += frame(rng.choice((0x9, 0xA)), b"fz")
    return out


async def _read_ws_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    key = await reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(length)
    return first & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(data))


# -- HTTP -----------------------------------------------------------------------------------------
class HttpScriptedJanus(ScriptedJanus):
    """Janus over HTTP: POST ``/janus[/<session>[/<handle>]]``, ``GET /janus/info``, and one long
    poll per session (``GET /janus/<session>?maxev=N``: an array of up to N events, a
    ``keepalive`` after ``poll_hold`` seconds without any, 404 for an unknown session)."""

    def __init__(self, poll_hold: float = 0.25) -> None:
        super().__init__()
        self.poll_hold = poll_hold
        self._events: dict[int, asyncio.Queue[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/janus"

    def reset(self) -> None:
        super().reset()
        self._events.clear()

    def _queue(self, session_id: int) -> asyncio.Queue[bytes]:
        queue = self._events.get(session_id)
        if queue is None:
            queue = self._events[session_id] = asyncio.Queue()
        return queue

    def push_events(self, session_id: int, payloads: list[bytes]) -> None:
        for payload in payloads:
            self._queue(session_id).put_nowait(payload)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target = head.split(b" ", 2)[:2]
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length)
            url = urlsplit(target.decode())
            parts = [p for p in url.path.split("/") if p][1:]
            if method == b"GET" and parts == ["info"]:
                replies = [Reply(_fill("info", transaction=None))]
                plan = self.plan_for("info", replies)
            elif method == b"GET":
                plan = await self._long_poll(parts, parse_qs(url.query))
            else:
                try:
                    request = json.loads(body)
                except (ValueError, RecursionError):
                    request = None
                if isinstance(request, dict):
                    ids = [int(p) if p.isdigit() else p for p in parts]
                    if ids:
                        request["session_id"] = ids[0]
                    if len(ids) > 1:
                        request["handle_id"] = ids[1]
                    kind = request.get("janus")
                else:
                    kind = None
                replies = self.brain.answer(request)
                plan = self.plan_for(kind, replies)
            if not await self._respond(plan, writer):
                return

    async def _long_poll(self, parts: list[str], query: dict[str, list[str]]) -> Plan:
        session_id = int(parts[0]) if parts and parts[0].isdigit() else -1
        if session_id not in self.brain.sessions:
            return Plan([Step("msg", b'{"janus":"error"}')], http_status="404 Not Found")
        queue = self._queue(session_id)
        maxev = int(query.get("maxev", ["1"])[0])
        payloads: list[bytes] = []
        getter = asyncio.get_running_loop().create_task(queue.get(), name="fuzz-server-poll")
        try:
            done, _ = await asyncio.wait({getter}, timeout=self.poll_hold)
        finally:
            getter.cancel()  # no-op once done
        if done:
            payloads.append(getter.result())
        while payloads and len(payloads) < maxev and not queue.empty():
            payloads.append(queue.get_nowait())
        if not payloads:
            plan = self.plan_for("longpoll", [Reply({"janus": "keepalive"})])
        else:
            try:
                replies = [Reply(json.loads(p), "event") for p in payloads]
            except (ValueError, RecursionError):  # an event mutated on its way in: as it is
                plan = Plan([Step("msg", p, "event") for p in payloads])
            else:
                plan = self.plan_for("longpoll", replies)
        # Janus with maxev: one array of the events (a keepalive alone is an object).
        events = [s.data for s in plan.steps if s.op == "msg"]
        body = events[0] if not payloads and len(events) == 1 else b"[" + b",".join(events) + b"]"
        others = [s for s in plan.steps if s.op != "msg"]
        return dataclasses.replace(plan, steps=[*others, Step("msg", body)])

    async def _respond(self, plan: Plan, writer: asyncio.StreamWriter) -> bool:
        """Write the answer to one request; False when the connection is to be closed."""
        sync = [s for s in plan.steps if s.op == "msg" and s.channel == "sync"]
        events = [s for s in plan.steps if s.op == "msg" and s.channel == "event"]
        for step in plan.steps:
            if step.op == "sleep":
                await asyncio.sleep(step.delay)
            elif step.op == "close" and step.how != "after":
                writer.transport.abort()
                return False
        for step in events:
            session_id = _session_of(step.data)
            if session_id is not None:
                self.push_events(session_id, [step.data])
        if sync:
            body = sync[0].data
        elif events or plan.steps:
            body = b'{"janus":"keepalive"}'  # dropped sync reply: a body Janus never sends
        else:
            body = b""
        head = f"HTTP/1.1 {plan.http_status}\r\n".encode() + plan.http_headers
        framing = plan.http_framing or plan.rng.choice(("length", "chunked"))
        out = _http_body(head, body, framing, plan.rng)
        raw = [s.data for s in plan.steps if s.op == "raw"]
        await _write(writer, out + b"".join(raw), plan)
        await writer.drain()
        if framing == "close-delimited" or any(s.how == "after" for s in plan.steps):
            writer.close()
            return False
        return True


def _session_of(data: bytes) -> int | None:
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, dict) and isinstance(message.get("session_id"), int):
        session_id: int = message["session_id"]
        return session_id
    return None


def _http_body(head: bytes, body: bytes, framing: str, rng: random.Random) -> bytes:
    if framing == "chunked":
        out = head + b"Transfer-Encoding: chunked\r\n\r\n"
        index = 0
        while index < len(body):
            size = rng.choice((1, 5, 64, 4096))
            piece = body[index : index + size]
            out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            index += size
        return out + b"0\r\n\r\n"
    if framing == "short-length":
        return head + f"Content-Length: {max(0, len(body) - 3)}\r\n\r\n".encode() + body
    if framing == "long-length":
        return head + f"Content-Length: {len(body) + 10}\r\n\r\n".encode() + body
    if framing == "close-delimited":
        return head + b"Connection: close\r\n\r\n" + body
    if framing == "bad-chunk":
        return head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + b"\r\n0\r\n\r\n"
    if framing == "trailing-bytes":
        return head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body + b"HTTP/1.1 200"
    return head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
