"""``janus_fast._core`` on captured Janus bytes, with no network and no event loop.

Rule: every reply fed here is a fixture a real Janus 1.1.2 sent (``rust/proto/tests/fixtures``,
written by ``scripts/capture_fixtures.py``); only the transaction is swapped for the one the core
issued. Waiters and targets are plain objects: the core hands them back untouched.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import struct
import weakref
from base64 import b64encode
from pathlib import Path
from typing import Any

import pytest

from janus_fast import _core
from janus_fast._core import Expect, JanusCore, Message, WebSocketConnection
from janus_fast.errors import InvalidStateError, ProtocolError

FIXTURES = Path(__file__).resolve().parent.parent / "rust" / "proto" / "tests" / "fixtures"
#: The seed the raw stream was captured with (fixtures/README.md): same key, same transactions.
STREAM_SEED = b"janus_fast fixture seed 00000001"
SEED = b"tests/test_core.py seed 00000001"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SCENARIO = (
    ("ping", Expect.PONG),
    ("create", Expect.SUCCESS),
    ("attach", Expect.SUCCESS),
    ("keepalive", Expect.ACK),
    ("message", Expect.PLUGIN_MESSAGE),
    ("jsep", Expect.PLUGIN_MESSAGE),
    ("attach-nope", Expect.SUCCESS),
    ("detach", Expect.SUCCESS),
    ("destroy", Expect.SUCCESS),
)


class Waiter:
    """Stands for an asyncio future: only its identity matters to the core."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Waiter {self.name}>"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def swap_transaction(data: bytes, transaction: str) -> bytes:
    """The captured message with its ``cap-*``/``h-*`` transaction replaced."""
    old = json.loads(data)["transaction"]
    assert data.count(f'"{old}"'.encode()) == 1
    return data.replace(f'"{old}"'.encode(), f'"{transaction}"'.encode())


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """An unmasked frame as a server sends it."""
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Decode (and unmask) every frame the client wrote."""
    frames = []
    i = 0
    while i < len(data):
        opcode, n, start = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
        assert data[i] & 0x80, "FIN"
        assert data[i + 1] & 0x80, "client frames are masked"
        if n == 126:
            (n,) = struct.unpack_from("!H", data, start)
            start += 2
        elif n == 127:
            (n,) = struct.unpack_from("!Q", data, start)
            start += 8
        mask, start = data[start : start + 4], start + 4
        payload = bytes(b ^ mask[j % 4] for j, b in enumerate(data[start : start + n]))
        frames.append((opcode, payload))
        i = start + n
    return frames


def objects(payload: bytes) -> list[dict[str, Any]]:
    """The concatenated JSON objects of one frame."""
    decoder = json.JSONDecoder()
    text, out, i = payload.decode(), [], 0
    while i < len(text):
        value, i = decoder.raw_decode(text, i)
        out.append(value)
    return out


def open_connection(**options: Any) -> WebSocketConnection:
    """A connection whose handshake completed (101 computed from its own request)."""
    conn = WebSocketConnection("127.0.0.1:8188", "/", seed=SEED, **options)
    request = conn.data_to_send()
    found = re.search(rb"Sec-WebSocket-Key: (\S+)\r\n", request)
    assert found is not None
    accept = b64encode(hashlib.sha1(found.group(1) + GUID).digest())
    conn.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: janus-protocol\r\n\r\n"
    )
    assert conn.state == "open"
    assert conn.drain() == []
    probe = client_frames(conn.data_to_send())  # the info probe (unless coalescing is off)
    assert [objects(p)[0]["janus"] for _, p in probe] == (
        ["info"] if conn_may_coalesce(options) else []
    )
    return conn


def conn_may_coalesce(options: dict[str, Any]) -> bool:
    return bool(options.get("coalesce", True))


def stream_connection() -> tuple[WebSocketConnection, list[Waiter]]:
    conn = WebSocketConnection("127.0.0.1:8188", "/", seed=STREAM_SEED)
    conn.data_to_send()
    waiters = [Waiter(name) for name, _ in SCENARIO]
    for waiter, (_, expect) in zip(waiters, SCENARIO, strict=True):
        conn.register(waiter, expect)
    return conn, waiters


def every_message_fixture() -> list[str]:
    return sorted(
        f"{folder}/{path.name}"
        for folder in ("ws", "compact", "http")
        for path in (FIXTURES / folder).glob("*.json")
    )


# -- the captured WebSocket stream ----------------------------------------------------------------
def test_captured_stream_in_one_read_completes_every_waiter() -> None:
    conn, waiters = stream_connection()
    assert len(conn) == 9
    conn.receive_data(fixture("ws-stream.bin"))
    items = conn.drain()
    complete = [(kind, target, item) for kind, target, item in items if target is not None]
    assert [target for _, target, _ in complete] == waiters
    assert [item.janus for _, _, item in complete] == [
        "pong",
        "success",
        "success",
        "ack",
        "event",
        "event",
        "error",
        "success",
        "success",
    ]
    assert [kind for kind, _, _ in complete] == [_core.COMPLETE] * 6 + [_core.COMPLETE_ERROR] + [
        _core.COMPLETE
    ] * 2
    error = complete[6][2]
    assert (error.error_code, error.transaction) == (460, "en7")
    assert error.error_reason == "No such plugin 'janus.plugin.nope'"
    jsep = complete[5][2]
    assert jsep.has_jsep and len(jsep.raw) > 2500 and jsep.plugin == "janus.plugin.echotest"
    assert jsep.json()["jsep"]["type"] == "answer"
    session = complete[1][2].json()["data"]["id"]
    handle = complete[2][2].json()["data"]["id"]
    assert (jsep.session_id, jsep.sender) == (session, handle)
    others = [(kind, item) for kind, target, item in items if target is None]
    assert others[-1] == (_core.CLOSED, (1000, "", True))
    unrouted = [item for kind, item in others if kind == _core.UNROUTED]
    assert "detached" in [m.janus for m in unrouted]
    assert all(m.sender == handle and m.transaction is None for m in unrouted)
    assert len(conn) == 0
    assert conn.state == "closed"
    assert conn.pongs_received == 1
    assert client_frames(conn.data_to_send()) == [(0x8, struct.pack("!H", 1000))]


def test_captured_stream_byte_by_byte_gives_the_same_items() -> None:
    stream = fixture("ws-stream.bin")

    def run(chunks: list[bytes]) -> list[tuple[int, Any, Any]]:
        conn, waiters = stream_connection()
        items = []
        for chunk in chunks:
            conn.receive_data(chunk)
            items.extend(conn.drain())
        names = {id(w): w.name for w in waiters}
        return [
            (kind, names.get(id(target)), item.raw if isinstance(item, Message) else item)
            for kind, target, item in items
        ]

    whole = run([stream])
    assert run([stream[i : i + 1] for i in range(len(stream))]) == whole
    assert run([stream[:777], stream[777:]]) == whole


# -- Message ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", every_message_fixture())
def test_message_getters_match_the_json(name: str) -> None:
    data = fixture(name)
    core = JanusCore(seed=SEED)
    value = json.loads(data)
    expected = value if isinstance(value, list) else [value]
    # A reply goes to a waiter registered for it (an ack nobody waits for is dropped as stray).
    waiters: list[Waiter | None] = []
    for v in expected:
        if "transaction" in v:
            waiters.append(Waiter(v["transaction"]))
            tx = core.register(waiters[-1], Expect.ANY)
            data = data.replace(f'"{v["transaction"]}"'.encode(), f'"{tx}"'.encode())
            v["transaction"] = tx
        else:
            waiters.append(None)
    core.receive_message(data)
    items = core.drain()
    assert len(items) == len(expected)
    for (kind, target, message), v, waiter in zip(items, expected, waiters, strict=True):
        assert target is waiter
        if waiter is None:
            assert kind == _core.UNROUTED
        else:
            error = v["janus"] == "error"
            assert kind == (_core.COMPLETE_ERROR if error else _core.COMPLETE)
        assert isinstance(message, Message)
        assert message.janus == v["janus"]
        assert message.transaction == v.get("transaction")
        assert message.session_id == v.get("session_id")
        assert message.sender == v.get("sender")
        error = v.get("error") if v["janus"] == "error" else None
        assert message.error_code == (error["code"] if error else None)
        assert message.error_reason == (error["reason"] if error else None)
        plugindata = v.get("plugindata", {})
        assert message.plugin == plugindata.get("plugin")
        assert message.plugin_error_code == plugindata.get("data", {}).get("error_code")
        assert message.plugin_error == plugindata.get("data", {}).get("error")
        assert message.has_jsep == (v.get("jsep") is not None)
        assert message.json() == v
        assert message.json() is not message.json(), "a new dict per call"
        assert json.loads(message.raw) == v
        if not isinstance(value, list):
            assert message.raw == data
        assert repr(message).startswith(f"<Message {v['janus']} ")
    assert len(core) == 0


def test_long_poll_array_items_are_their_own_objects() -> None:
    core = JanusCore(seed=SEED)
    core.receive_message(fixture("http/04-longpoll-array.json"))
    messages = [item for _, _, item in core.drain()]
    assert [m.transaction for m in messages] == ["h-msg0", "h-msg1", "h-msg2", "h-msg3"]
    assert all(m.raw.startswith(b"{") and m.raw.endswith(b"}") for m in messages)
    assert [m.json()["transaction"] for m in messages] == ["h-msg0", "h-msg1", "h-msg2", "h-msg3"]


def test_message_outlives_its_core() -> None:
    core = JanusCore(seed=SEED)
    waiter = Waiter("jsep")
    tx = core.register(waiter, Expect.PLUGIN_MESSAGE)
    core.receive_message(swap_transaction(fixture("ws/09-echotest-jsep-event.json"), tx))
    [(kind, target, message)] = core.drain()
    assert (kind, target) == (_core.COMPLETE, waiter)
    del core, target
    gc.collect()
    assert message.transaction == tx
    assert message.json()["jsep"]["type"] == "answer"
    assert message.raw.startswith(b"{")


# -- completion rules ----------------------------------------------------------------------------
def test_completion_rules_on_captured_replies() -> None:
    core = JanusCore(seed=SEED)
    keepalive, echo, sync = Waiter("keepalive"), Waiter("echo"), Waiter("list")
    tx = core.register(keepalive, Expect.ACK)
    core.receive_message(swap_transaction(fixture("ws/05-keepalive-ack.json"), tx))
    assert [(k, t, m.janus) for k, t, m in core.drain()] == [(_core.COMPLETE, keepalive, "ack")]

    tx = core.register(echo, Expect.PLUGIN_MESSAGE)
    core.receive_message(swap_transaction(fixture("ws/06-echotest-message-ack.json"), tx))
    assert core.drain() == [], "the ack only marks the plugin message acked"
    assert len(core) == 1
    core.receive_message(swap_transaction(fixture("ws/07-echotest-event.json"), tx))
    [(kind, target, event)] = core.drain()
    assert (kind, target, event.janus, event.transaction) == (_core.COMPLETE, echo, "event", tx)
    assert event.json()["plugindata"]["data"] == {"echotest": "event", "result": "ok"}

    tx = core.register(sync, Expect.PLUGIN_MESSAGE)
    core.receive_message(swap_transaction(fixture("compact/11-videoroom-list-success.json"), tx))
    [(kind, target, listing)] = core.drain()
    assert (kind, target, listing.janus) == (_core.COMPLETE, sync, "success")
    assert any(room["room"] == 1234 for room in listing.json()["plugindata"]["data"]["list"])
    assert len(core) == 0
    assert core.stats()["completed"] == 3


def test_core_errors_and_plugin_errors() -> None:
    core = JanusCore(seed=SEED)
    for name, expect, code in (
        ("ws/16-error-458-no-session.json", Expect.ACK, 458),
        ("ws/17-error-459-no-handle.json", Expect.PLUGIN_MESSAGE, 459),
        ("compact/18-error-460-no-plugin.json", Expect.SUCCESS, 460),
        ("ws/19-error-456-missing-element.json", Expect.SUCCESS, 456),
    ):
        waiter = Waiter(name)
        tx = core.register(waiter, expect)
        core.receive_message(swap_transaction(fixture(name), tx))
        [(kind, target, message)] = core.drain()
        assert (kind, target, message.error_code) == (_core.COMPLETE_ERROR, waiter, code)
    waiter = Waiter("destroy room")
    tx = core.register(waiter, Expect.PLUGIN_MESSAGE)
    core.receive_message(swap_transaction(fixture("ws/15-videoroom-destroy-error-426.json"), tx))
    [(kind, target, message)] = core.drain()
    assert (kind, target) == (_core.COMPLETE, waiter), "a plugin error is data"
    assert (message.error_code, message.plugin_error_code) == (None, 426)
    assert message.plugin_error == "No such room (987654321)"


def test_stream_waiter_gets_every_message_until_cancelled() -> None:
    core = JanusCore(seed=SEED)
    stream = Waiter("stream")
    tx = core.register(stream, Expect.STREAM)
    core.receive_message(swap_transaction(fixture("ws/08-echotest-jsep-ack.json"), tx))
    core.receive_message(swap_transaction(fixture("ws/09-echotest-jsep-event.json"), tx))
    assert [(k, t, m.janus) for k, t, m in core.drain()] == [
        (_core.STREAM_ITEM, stream, "ack"),
        (_core.STREAM_ITEM, stream, "event"),
    ]
    assert core.cancel(tx) is stream
    core.receive_message(swap_transaction(fixture("ws/07-echotest-event.json"), tx))
    assert [k for k, _, _ in core.drain()] == [_core.UNROUTED]


# -- deadlines, cancel, fail_all -------------------------------------------------------------------
def test_expire_next_deadline_cancel_fail_all_len() -> None:
    core = JanusCore(seed=SEED)
    early, late, never, nan = Waiter("early"), Waiter("late"), Waiter("never"), Waiter("nan")
    assert core.next_deadline() is None
    tx_late = core.register(late, Expect.SUCCESS, 10.0)
    core.register(early, Expect.SUCCESS, 5.0)
    core.register(never, Expect.SUCCESS)
    core.register(nan, Expect.SUCCESS, float("nan"))
    assert len(core) == 4
    assert core.next_deadline() == 5.0
    assert core.expire(4.999) == []
    assert core.expire(5.0) == [early]
    assert core.next_deadline() == 10.0
    assert core.cancel(tx_late) is late
    assert core.cancel(tx_late) is None
    assert core.cancel("not-ours") is None
    assert core.next_deadline() is None
    assert core.expire(1e300) == []
    assert core.fail_all() == [never, nan]
    assert len(core) == 0
    stats = core.stats()
    assert (stats["expired"], stats["cancelled"], stats["pending"]) == (1, 1, 0)


#: What each ``Expect`` value does with each captured reply: only the rule the name promises
#: completes (``Expect`` is built from the binding's one table; a row out of place shows here).
EXPECT_RULES = {
    "SUCCESS": ("create-success",),
    "ACK": ("keepalive-ack",),
    "PONG": ("pong",),
    "SERVER_INFO": ("server_info",),
    "PLUGIN_MESSAGE": ("create-success", "echotest-event"),
    "ANY": ("keepalive-ack", "pong", "server_info", "create-success", "echotest-event"),
}
EXPECT_REPLIES = {
    "keepalive-ack": "ws/05-keepalive-ack.json",
    "pong": "ws/02-pong.json",
    "server_info": "ws/01-server_info.json",
    "create-success": "ws/03-create-success.json",
    "echotest-event": "ws/07-echotest-event.json",
}


@pytest.mark.parametrize("name", sorted(EXPECT_RULES))
def test_each_expect_value_completes_on_its_own_replies(name: str) -> None:
    for reply, path in EXPECT_REPLIES.items():
        core = JanusCore(seed=SEED)
        waiter = Waiter(name)
        tx = core.register(waiter, getattr(Expect, name))
        core.receive_message(swap_transaction(fixture(path), tx))
        completed = [(kind, target) for kind, target, _ in core.drain() if target is waiter]
        expected = [(_core.COMPLETE, waiter)] if reply in EXPECT_RULES[name] else []
        assert completed == expected, (name, reply)


def test_expect_values_are_distinct_and_others_are_refused() -> None:
    names = ("SUCCESS", "ACK", "PONG", "SERVER_INFO", "PLUGIN_MESSAGE", "STREAM", "ANY")
    values = [getattr(Expect, name) for name in names]
    assert len(set(values)) == len(names)
    core = JanusCore(seed=SEED)
    with pytest.raises(ValueError, match="unknown Expect value"):
        core.register(Waiter("bad"), max(values) + 1)


def test_a_cancelled_waiter_is_not_completed() -> None:
    core = JanusCore(seed=SEED)
    waiter = Waiter("gone")
    tx = core.register(waiter, Expect.ACK)
    assert core.cancel(tx) is waiter
    core.receive_message(swap_transaction(fixture("ws/05-keepalive-ack.json"), tx))
    assert core.drain() == [], "an ack for a finished transaction is a counted stray"
    assert core.stats()["stray_acks"] == 1


# -- routes ----------------------------------------------------------------------------------------
def test_routes_session_and_handle_targets() -> None:
    core = JanusCore(seed=SEED)
    detached = fixture("ws/22-detached.json")
    session, handle = json.loads(detached)["session_id"], json.loads(detached)["sender"]
    session_target, handle_target = Waiter("session"), Waiter("handle")
    core.receive_message(detached)
    assert [(k, t) for k, t, _ in core.drain()] == [(_core.UNROUTED, None)]
    with pytest.raises(ValueError, match="not registered"):
        core.add_handle(session, handle, handle_target)
    core.add_session(session, session_target)
    core.add_handle(session, handle, handle_target)
    core.receive_message(fixture("ws/21-detach-event.json"))
    core.receive_message(detached)
    assert [(k, t, m["janus"]) for k, t, m in core.drain()] == [
        (_core.EVENT, handle_target, "event"),
        (_core.EVENT, handle_target, "detached"),
    ]
    assert core.remove_handle(session, handle) is handle_target
    assert core.remove_handle(session, handle) is None
    core.receive_message(detached)
    assert [(k, t) for k, t, _ in core.drain()] == [(_core.EVENT, session_target)]
    assert core.remove_session(session) is session_target
    assert core.remove_session(session) is None
    core.receive_message(fixture("ws/24-session-timeout.json"))
    assert [(k, t) for k, t, _ in core.drain()] == [(_core.UNROUTED, None)]
    stats = core.stats()
    assert (stats["sessions"], stats["handles"], stats["unroutable"]) == (0, 0, 2)


# -- requests: encoding and coalescing -------------------------------------------------------------
def test_requests_coalesce_into_one_masked_frame() -> None:
    conn = open_connection()
    assert conn.coalesce is False  # until the server said it is Janus >= 1.1.2
    conn.coalesce = True
    waiters = [Waiter(str(i)) for i in range(3)]
    txs = [
        conn.request(b'{"janus":"keepalive"}', waiters[0], Expect.ACK, 11),
        conn.request(b'{"janus":"message","body":{"audio":true}}', waiters[1], 4, 11, 22),
        conn.request(b'{"janus":"ping"}', waiters[2], Expect.PONG),
    ]
    assert len(set(txs)) == 3 and len(conn) == 3
    [(opcode, payload)] = client_frames(conn.data_to_send())
    assert opcode == 0x1
    assert payload.startswith(b"{") and payload.endswith(b"}") and payload.count(b"}{") == 3 - 1
    sent = objects(payload)
    assert [m["transaction"] for m in sent] == txs
    assert sent[0] == {"transaction": txs[0], "session_id": 11, "janus": "keepalive"}
    assert sent[1]["handle_id"] == 22 and sent[1]["body"] == {"audio": True}
    assert "session_id" not in sent[2]
    assert conn.data_to_send() == b""


def test_requests_without_coalescing_and_credentials() -> None:
    conn = open_connection(coalesce=False, apisecret="s3cret", token="tok")
    for i in range(3):
        conn.request(b'{"janus":"ping"}', Waiter(str(i)), Expect.PONG)
    conn.send_raw(b'{"janus":"raw"}')
    frames = client_frames(conn.data_to_send())
    assert [opcode for opcode, _ in frames] == [0x1] * 4
    assert all(objects(p)[0]["apisecret"] == "s3cret" for _, p in frames[:3])
    assert all(objects(p)[0]["token"] == "tok" for _, p in frames[:3])
    assert objects(frames[3][1]) == [{"janus": "raw"}]


def test_janus_core_encode_splices_ids() -> None:
    core = JanusCore(seed=SEED, token="tok")
    waiter = Waiter("attach")
    tx, data = core.encode(b'{"janus":"attach","plugin":"p"}', waiter, Expect.SUCCESS, 7, None)
    assert json.loads(data) == {
        "transaction": tx,
        "session_id": 7,
        "token": "tok",
        "janus": "attach",
        "plugin": "p",
    }
    assert len(core) == 1
    core.receive_message(swap_transaction(fixture("ws/04-attach-echotest-success.json"), tx))
    assert [(k, t) for k, t, _ in core.drain()] == [(_core.COMPLETE, waiter)]


def test_requests_of_an_ended_session_or_handle_are_drained_with_it_ids_in_body_or_not() -> None:
    core = JanusCore(seed=SEED)
    in_path = Waiter("in path")
    tx, data = core.encode(
        b'{"janus":"message","body":{}}', in_path, Expect.PLUGIN_MESSAGE, 7, 9, ids_in_body=False
    )
    assert json.loads(data) == {"transaction": tx, "janus": "message", "body": {}}
    core.encode(b'{"janus":"keepalive"}', in_body := Waiter("in body"), Expect.ACK, 7)
    core.encode(b'{"janus":"keepalive"}', other := Waiter("other"), Expect.ACK, 8)
    core.encode(b'{"janus":"ping"}', Waiter("outside"), Expect.PONG)
    assert core.drain_session(7, 9) == [in_path]  # that handle's only
    assert core.drain_session(7) == [in_body]
    assert core.drain_session(7) == []
    assert (len(core), core.stats()["ended_with_route"]) == (2, 2)
    assert other in core.fail_all()


# -- errors ----------------------------------------------------------------------------------------
def test_misuse_raises_invalid_state_error() -> None:
    conn = WebSocketConnection("127.0.0.1:8188", "/", seed=SEED)
    with pytest.raises(InvalidStateError):
        conn.request(b'{"janus":"ping"}', Waiter("early"), Expect.PONG)
    with pytest.raises(RuntimeError):  # InvalidStateError is also a RuntimeError
        conn.send_raw(b"{}")
    assert len(conn) == 0, "nothing registered on failure"
    with pytest.raises(ValueError, match="Expect"):
        conn.register(Waiter("bad"), 99)
    with pytest.raises(ValueError):
        open_connection().close(1005)


def test_broken_peer_bytes_raise_protocol_error() -> None:
    conn = WebSocketConnection("127.0.0.1:8188", "/", seed=SEED)
    conn.data_to_send()
    with pytest.raises(ProtocolError):
        conn.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    assert conn.state == "closed"
    assert [kind for kind, _, _ in conn.drain()] == [_core.CLOSED]

    conn = open_connection()
    with pytest.raises(ProtocolError):
        conn.receive_data(b"\x83\x00")  # reserved opcode
    assert conn.state == "closed"
    [(opcode, payload)] = client_frames(conn.data_to_send())
    assert (opcode, payload[:2]) == (0x8, struct.pack("!H", 1002))
    [(kind, _, (code, _reason, clean))] = conn.drain()
    assert (kind, code, clean) == (_core.CLOSED, 1002, False)


def test_garbage_json_is_malformed_not_fatal() -> None:
    core = JanusCore(seed=SEED)
    core.receive_message(b'{"janus": "ack", "transaction": ')
    core.receive_message(b'{"no_janus": 1}')
    items = core.drain()
    assert [(k, t) for k, t, _ in items] == [(_core.MALFORMED, None)] * 2
    assert all(isinstance(text, str) and text for _, _, text in items)
    assert core.stats()["malformed"] == 2

    conn = open_connection()
    waiter = Waiter("ping")
    tx = conn.request(b'{"janus":"ping"}', waiter, Expect.PONG)
    pong = swap_transaction(fixture("ws/02-pong.json"), tx)
    conn.receive_data(server_frame(b"{garbage") + server_frame(pong))
    assert [(k, t) for k, t, _ in conn.drain()] == [
        (_core.MALFORMED, None),
        (_core.COMPLETE, waiter),
    ]
    assert conn.state == "open"


# -- submit: the WebSocket transport's send step in one call ---------------------------------------
class FlushLoop:
    """Stands for the loop's ``call_soon``: records what it was asked to call."""

    def __init__(self) -> None:
        self.scheduled: list[Any] = []

    def call_soon(self, callback: Any) -> None:
        self.scheduled.append(callback)


def test_submit_encodes_registers_and_schedules_one_flush_per_run() -> None:
    conn = open_connection(coalesce=False)
    loop = FlushLoop()

    def flush() -> None:
        """The transport's flush callback."""

    waiters = [Waiter(str(i)) for i in range(3)]
    # No hook yet: the request is queued, nothing is scheduled (and nothing fails).
    first = conn.submit({"janus": "ping"}, Expect.PONG, None, None, None, waiters[0], True)
    assert conn.flush_scheduled is False
    conn.set_flush_hook(loop.call_soon, flush)
    second = conn.submit({"janus": "keepalive"}, Expect.ACK, 11, None, 5.0, waiters[1], True)
    third = conn.submit({"janus": "detach"}, Expect.SUCCESS, 11, 22, None, waiters[2], False)
    assert loop.scheduled == [flush] and conn.flush_scheduled is True  # once for both
    assert len({first, second, third}) == 3 and len(conn) == 3
    sent = [objects(payload)[0] for _, payload in client_frames(conn.data_to_send())]
    assert [m["transaction"] for m in sent] == [first, second, third]
    assert sent[1] == {"transaction": second, "session_id": 11, "janus": "keepalive"}
    assert (sent[2]["session_id"], sent[2]["handle_id"]) == (11, 22)
    assert conn.next_deadline() == 5.0
    conn.flush_scheduled = False  # the flush ran
    conn.submit({"janus": "ping"}, Expect.PONG, None, None, None, Waiter("4"), True)
    assert loop.scheduled == [flush, flush]
    # A new hook (a new loop) means no flush is pending on it.
    conn.set_flush_hook(loop.call_soon, flush)
    assert conn.flush_scheduled is False
    conn.schedule_flush()
    conn.schedule_flush()
    assert loop.scheduled == [flush, flush, flush]


def test_submit_refuses_what_orjson_cannot_encode_and_registers_nothing() -> None:
    conn = open_connection()
    with pytest.raises(TypeError, match="not JSON serializable"):
        conn.submit(
            {"janus": "ping", "x": object()}, Expect.PONG, None, None, None, Waiter(""), 1 > 2
        )
    with pytest.raises(ValueError, match="unknown Expect"):
        conn.submit({"janus": "ping"}, 99, None, None, None, Waiter("w"), False)
    assert len(conn) == 0 and conn.data_to_send() == b""


def ack_for(transaction: str) -> bytes:
    return server_frame(
        json.dumps({"janus": "ack", "session_id": 11, "transaction": transaction}).encode()
    )


@pytest.mark.parametrize(("janus", "event_expected"), [("message", True), ("trickle", False)])
def test_a_submitted_stream_owes_the_event_after_its_ack_only_for_a_message(
    janus: str, event_expected: bool
) -> None:
    conn = open_connection(coalesce=False)
    transactions = [
        conn.submit(
            {"janus": janus, "body": {}}, Expect.STREAM, 11, 22, None, Waiter(str(i)), False
        )
        for i in range(8)
    ]
    conn.data_to_send()
    assert conn.receive_low_watermark() > 1  # eight replies owed
    conn.receive_data(b"".join(ack_for(tx) for tx in transactions))
    assert [kind for kind, _, _ in conn.drain()] == [_core.STREAM_ITEM] * 8
    # A plugin message's ack is followed by its event: still owed. Anything else: done.
    assert (conn.receive_low_watermark() > 1) is event_expected


def test_the_flush_hook_does_not_keep_a_transport_cycle_alive() -> None:
    class Owner:
        def __init__(self) -> None:
            self.conn = open_connection()
            self.conn.set_flush_hook(FlushLoop().call_soon, self.flush)

        def flush(self) -> None:
            """Flush (never called here)."""

    owner = Owner()
    ref = weakref.ref(owner)
    del owner
    gc.collect()
    assert ref() is None  # the core reports the hook to the garbage collector


# -- dispatch: the core hands its outputs over itself, in order -----------------------------------
class FutureLike:
    """Stands for an asyncio future: records what it was given."""

    def __init__(self, log: list[Any], name: str, done: bool = False) -> None:
        self.log, self.name, self._done = log, name, done

    def done(self) -> bool:
        return self._done

    def set_result(self, value: Any) -> None:
        self._done = True
        self.log.append(("result", self.name, value.janus))


class Source:
    """Stands for a session or handle: records what was delivered."""

    def __init__(self, log: list[Any], name: str) -> None:
        self.log, self.name = log, name

    def deliver(self, item: dict[str, Any]) -> None:
        self.log.append(("event", self.name, item["janus"]))


def test_dispatch_hands_over_every_output_in_wire_order() -> None:
    core = JanusCore(seed=SEED)
    log: list[Any] = []
    detached = fixture("ws/22-detached.json")
    session, handle = json.loads(detached)["session_id"], json.loads(detached)["sender"]
    core.add_session(session, Source(log, "session"))
    core.add_handle(session, handle, Source(log, "handle"))
    ping = core.register(FutureLike(log, "ping"), Expect.PONG)
    late = core.register(FutureLike(log, "late", done=True), Expect.PONG)  # timed out already
    attach = core.register(FutureLike(log, "attach"), Expect.SUCCESS)
    core.receive_message(fixture("ws/21-detach-event.json"))
    core.receive_message(swap_transaction(fixture("ws/02-pong.json"), ping))
    core.receive_message(swap_transaction(fixture("ws/02-pong.json"), late))
    core.receive_message(detached)
    core.receive_message(swap_transaction(fixture("ws/18-error-460-no-plugin.json"), attach))
    core.receive_message(fixture("ws/24-session-timeout.json").replace(b"session_id", b"x"))
    core.receive_message(b"{not json")
    others: list[tuple[int, Any]] = []

    def other(kind: int, target: Any, item: Any) -> None:
        others.append((kind, target.name if target is not None else None))
        assert len(core) == 0  # the core is free again: a handler may use it

    core.dispatch(other)
    assert log == [
        ("event", "handle", "event"),
        ("result", "ping", "pong"),
        ("event", "handle", "detached"),
    ]
    assert others == [
        (_core.COMPLETE_ERROR, "attach"),
        (_core.UNROUTED, None),
        (_core.MALFORMED, None),
    ]
    assert core.drain() == []
    core.dispatch(other)  # nothing more
    assert len(log) == 3 and len(others) == 3


def test_dispatch_stops_at_the_first_call_that_raises() -> None:
    core = JanusCore(seed=SEED)
    log: list[Any] = []

    class Broken(FutureLike):
        def set_result(self, value: Any) -> None:
            raise RuntimeError("Event loop is closed")

    first = core.register(Broken(log, "first"), Expect.PONG)
    second = core.register(FutureLike(log, "second"), Expect.PONG)
    core.receive_message(swap_transaction(fixture("ws/02-pong.json"), first))
    core.receive_message(swap_transaction(fixture("ws/02-pong.json"), second))
    with pytest.raises(RuntimeError, match="loop is closed"):
        core.dispatch(lambda *args: None)
    assert log == [] and core.drain() == []  # as a Python loop over drain() would have left it
