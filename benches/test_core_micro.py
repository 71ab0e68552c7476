"""Micro-benchmarks of the Rust core against the pure-Python floor, on captured Janus bytes.

Rule: both sides of a pair get the same input and do the same work, measured the same way — one
round is one batch, with everything the batch needs (a fresh connection after a real handshake
byte exchange, 100 fresh asyncio futures) built in the untimed setup. The floor is the best pure
Python can do: the ``websockets`` sans-I/O ``ClientProtocol`` + ``orjson`` + a dict of futures.
Inputs come from ``rust/proto/tests/fixtures`` (real Janus 1.1.2 output, default indented JSON).

Run: ``maturin develop --release -q``, then
``python -m pytest benches/test_core_micro.py --benchmark-only``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import struct
from base64 import b64encode
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from janus_fast import _core
from janus_fast._core import Expect, Message, WebSocketConnection

FIXTURES = Path(__file__).resolve().parent.parent / "rust" / "proto" / "tests" / "fixtures"
SEED = b"benches/test_core_micro.py seed!"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ROUNDS = 400
BATCH = 100
COMPLETE, COMPLETE_ERROR = _core.COMPLETE, _core.COMPLETE_ERROR


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- inputs ----------------------------------------------------------------------------------------
#: The decode batch: (fixture, expect, how many). 100 replies completing 100 waiters: acks,
#: pongs, synchronous plugin successes (one a plugin error), plugin events, one ~3 KB JSEP event.
DECODE_MIX = (
    ("ws/05-keepalive-ack.json", Expect.ACK, 30),
    ("ws/02-pong.json", Expect.PONG, 10),
    ("ws/12-videoroom-exists-success.json", Expect.PLUGIN_MESSAGE, 15),
    ("ws/15-videoroom-destroy-error-426.json", Expect.PLUGIN_MESSAGE, 5),
    ("ws/07-echotest-event.json", Expect.PLUGIN_MESSAGE, 25),
    ("ws/14-videoroom-joined-event.json", Expect.PLUGIN_MESSAGE, 14),
    ("ws/09-echotest-jsep-event.json", Expect.PLUGIN_MESSAGE, 1),
)
DECODE_PLAN = [(name, expect) for name, expect, count in DECODE_MIX for _ in range(count)]
assert len(DECODE_PLAN) == BATCH

SESSION = json.loads(fixture("ws/03-create-success.json"))["data"]["id"]
HANDLE = json.loads(fixture("ws/04-attach-echotest-success.json"))["data"]["id"]
OFFER_SDP = json.loads(fixture("ws/09-echotest-jsep-event.json"))["jsep"]["sdp"]
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2015363327 192.0.2.2 45799 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
#: The encode batch: (body, expect, session_id, handle_id). Keepalives, plugin messages,
#: trickles, pings and one message carrying a ~2.8 KB JSEP offer.
ENCODE_PLAN: list[tuple[dict[str, Any], int, int | None, int | None]] = [
    *[({"janus": "keepalive"}, Expect.ACK, SESSION, None)] * 30,
    *[({"janus": "ping"}, Expect.PONG, None, None)] * 10,
    *[
        (
            {
                "janus": "message",
                "body": {"request": "configure", "audio": True, "bitrate": 128000},
            },
            Expect.PLUGIN_MESSAGE,
            SESSION,
            HANDLE,
        )
    ]
    * 39,
    *[({"janus": "trickle", "candidate": CANDIDATE}, Expect.ACK, SESSION, HANDLE)] * 20,
    (
        {
            "janus": "message",
            "body": {"audio": True, "video": True},
            "jsep": {"type": "offer", "sdp": OFFER_SDP},
        },
        Expect.PLUGIN_MESSAGE,
        SESSION,
        HANDLE,
    ),
]
assert len(ENCODE_PLAN) == BATCH


def server_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x81, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def response_101(request: bytes) -> bytes:
    found = re.search(rb"Sec-WebSocket-Key: (\S+)\r\n", request, re.IGNORECASE)
    assert found is not None, request
    accept = b64encode(hashlib.sha1(found.group(1) + GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: janus-protocol\r\n\r\n"
    )


# -- the two sides' connections --------------------------------------------------------------------
def core_connection(**options: Any) -> WebSocketConnection:
    """A ``_core`` connection after a handshake byte exchange (fixed seed: same ids each time)."""
    conn = WebSocketConnection("127.0.0.1:8188", "/", seed=SEED, **options)
    conn.receive_data(response_101(conn.data_to_send()))
    assert conn.state == "open" and conn.drain() == []
    conn.data_to_send()  # the info probe sent after the handshake
    conn.coalesce = True  # as if the server had answered it: Janus >= 1.1.2
    return conn


def floor_connection() -> ClientProtocol:
    """A ``websockets`` sans-I/O client after a handshake byte exchange."""
    proto = ClientProtocol(
        parse_uri("ws://127.0.0.1:8188/"),
        subprotocols=[Subprotocol("janus-protocol")],
        max_size=2**24,
    )
    proto.send_request(proto.connect())
    proto.receive_data(response_101(b"".join(proto.data_to_send())))
    proto.events_received()
    assert proto.state is State.OPEN
    return proto


def core_transactions() -> list[str]:
    """The transaction ids a fresh ``core_connection`` issues (the same on every round)."""
    conn = core_connection()
    return [conn.register(None, Expect.ANY) for _ in range(BATCH)]


TRANSACTIONS = core_transactions()


def decode_input() -> bytes:
    """100 server frames, each a captured reply carrying one of ``TRANSACTIONS``."""
    frames = []
    for (name, _), tx in zip(DECODE_PLAN, TRANSACTIONS, strict=True):
        data = fixture(name)
        old = json.loads(data)["transaction"]
        frames.append(server_frame(data.replace(f'"{old}"'.encode(), f'"{tx}"'.encode())))
    return b"".join(frames)


DECODE_DATA = decode_input()

#: Janus's completion rules for the floor (what ``_core`` implements in Rust).
COMPLETES = {
    Expect.ACK: frozenset({"ack"}),
    Expect.PONG: frozenset({"pong"}),
    Expect.SUCCESS: frozenset({"success"}),
    Expect.SERVER_INFO: frozenset({"server_info"}),
    Expect.PLUGIN_MESSAGE: frozenset({"success", "event"}),
}


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def pedantic(benchmark: Any, target: Callable[..., Any], setup: Callable[[], Any]) -> None:
    benchmark.pedantic(target, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=20)


# -- (a) parse + classify + resolve 100 replies ----------------------------------------------------
def core_receive(conn: WebSocketConnection, data: bytes) -> None:
    conn.receive_data(data)
    for kind, waiter, item in conn.drain():
        if kind == COMPLETE:
            waiter.set_result(item)
        elif kind == COMPLETE_ERROR:
            waiter.set_exception(RuntimeError(item.error_reason))


def floor_receive(
    proto: ClientProtocol, pending: dict[str, tuple[asyncio.Future[Any], int]], data: bytes
) -> None:
    proto.receive_data(data)
    for frame in proto.events_received():
        if frame.opcode is not Opcode.TEXT:
            continue
        message = orjson.loads(frame.data)
        entry = pending.get(message.get("transaction"))
        if entry is None:
            continue
        kind = message["janus"]
        future, expect = entry
        if kind == "error":
            del pending[message["transaction"]]
            future.set_exception(RuntimeError(message["error"]["reason"]))
        elif kind in COMPLETES[expect]:
            del pending[message["transaction"]]
            future.set_result(message)


@pytest.mark.benchmark(group="decode 100 replies (WS frames -> resolved futures)")
def test_decode_core(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    futures: list[list[asyncio.Future[Any]]] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        conn = core_connection()
        batch = [loop.create_future() for _ in range(BATCH)]
        for future, (_, expect) in zip(batch, DECODE_PLAN, strict=True):
            conn.register(future, expect)
        futures[:] = [batch]  # only the last round stays alive (GC work stays flat)
        return (conn, DECODE_DATA), {}

    pedantic(benchmark, core_receive, setup)
    last = futures[-1]
    assert all(f.done() for f in last)
    assert isinstance(last[0].result(), Message) and last[0].result().janus == "ack"
    assert last[-1].result().has_jsep


@pytest.mark.benchmark(group="decode 100 replies (WS frames -> resolved futures)")
def test_decode_floor(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    futures: list[list[asyncio.Future[Any]]] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        proto = floor_connection()
        batch = [loop.create_future() for _ in range(BATCH)]
        pending = {
            tx: (future, expect)
            for tx, future, (_, expect) in zip(TRANSACTIONS, batch, DECODE_PLAN, strict=True)
        }
        futures[:] = [batch]  # only the last round stays alive (GC work stays flat)
        return (proto, pending, DECODE_DATA), {}

    pedantic(benchmark, floor_receive, setup)
    last = futures[-1]
    assert all(f.done() for f in last)
    assert last[0].result()["janus"] == "ack"
    assert "jsep" in last[-1].result()


# -- (b) encode 100 requests -----------------------------------------------------------------------
def core_send(conn: WebSocketConnection, futures: list[asyncio.Future[Any]]) -> bytes:
    dumps, request = orjson.dumps, conn.request
    for (body, expect, session_id, handle_id), future in zip(ENCODE_PLAN, futures, strict=True):
        request(dumps(body), future, expect, session_id, handle_id)
    return conn.data_to_send()


def floor_send(
    proto: ClientProtocol,
    pending: dict[str, tuple[asyncio.Future[Any], int]],
    ids: Iterator[int],
    futures: list[asyncio.Future[Any]],
) -> bytes:
    dumps, send_text = orjson.dumps, proto.send_text
    for (body, expect, session_id, handle_id), future in zip(ENCODE_PLAN, futures, strict=True):
        transaction = f"tx{next(ids)}"
        message = {**body, "transaction": transaction}
        if session_id is not None:
            message["session_id"] = session_id
        if handle_id is not None:
            message["handle_id"] = handle_id
        pending[transaction] = (future, expect)
        send_text(dumps(message))
    return b"".join(proto.data_to_send())


ENCODE_GROUP = "encode 100 requests (dicts -> masked frames, waiters registered)"


@pytest.mark.benchmark(group=ENCODE_GROUP)
def test_encode_core(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (core_connection(), [loop.create_future() for _ in range(BATCH)]), {}

    pedantic(benchmark, core_send, setup)
    conn = core_connection()
    data = core_send(conn, [loop.create_future() for _ in range(BATCH)])
    assert len(conn) == BATCH and data[0] == 0x81, "one coalesced text frame"


@pytest.mark.benchmark(group=ENCODE_GROUP)
def test_encode_core_one_frame_each(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Without coalescing: one frame per request, like the floor (for comparison only)."""

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        conn = core_connection(coalesce=False)
        return (conn, [loop.create_future() for _ in range(BATCH)]), {}

    pedantic(benchmark, core_send, setup)


@pytest.mark.benchmark(group=ENCODE_GROUP)
def test_encode_floor(benchmark: Any, loop: asyncio.AbstractEventLoop) -> None:
    pendings: list[dict[str, Any]] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        pending: dict[str, Any] = {}
        pendings[:] = [pending]
        futures = [loop.create_future() for _ in range(BATCH)]
        return (floor_connection(), pending, itertools.count(1), futures), {}

    pedantic(benchmark, floor_send, setup)
    assert len(pendings[-1]) == BATCH


# -- JSON conversion: Message.json() (orjson.loads on the message's slice) -----------------------
# Building the objects in Rust instead was measured here and lost on every message above ~200
# bytes (numbers and the decision: rust/bindings/src/message.rs); this keeps json() measured.
def message_of(name: str) -> Message:
    core = _core.JanusCore(seed=SEED)
    data = fixture(name)
    tx = core.register(None, Expect.ANY)
    old = json.loads(data)["transaction"]
    core.receive_message(data.replace(f'"{old}"'.encode(), f'"{tx}"'.encode()))
    [(_, _, message)] = core.drain()
    assert isinstance(message, Message)
    return message


JSON_CASES = {
    "ack 91 B": "ws/05-keepalive-ack.json",
    "create success 105 B": "ws/03-create-success.json",
    "echotest event 263 B": "ws/07-echotest-event.json",
    "plugin event 396 B": "ws/14-videoroom-joined-event.json",
    "JSEP event 2.9 KB": "ws/09-echotest-jsep-event.json",
}


@pytest.mark.benchmark(group="Message.json()")
@pytest.mark.parametrize("case", list(JSON_CASES))
def test_json(benchmark: Any, case: str) -> None:
    message = message_of(JSON_CASES[case])
    assert message.json() == json.loads(message.raw)
    benchmark(message.json)
