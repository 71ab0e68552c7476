"""Hostile and broken input from a fake server: typed errors or counted drops, clean closes."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import orjson
import pytest

from _fake_janus import FakeJanus, frame, text
from janus_fast import (
    ConnectionClosedError,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    ProtocolError,
    SessionNotFoundError,
    _core,
)


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


NO_RETRY = {"max_retries": 0, "timeout": 5, "ping_interval": None}


async def connected(**options: Any) -> tuple[FakeJanus, JanusTransport]:
    fake = await FakeJanus().start()
    transport = JanusTransport.create_transport(fake.url, config={**NO_RETRY, **options})
    await transport.connect()
    return fake, transport


async def expect_close(fake: FakeJanus, code: int) -> None:
    """The client sent a close frame with ``code``."""
    while True:
        opcode, payload = await asyncio.wait_for(fake.read_frame(), 5)
        if opcode == 0x8:
            assert int.from_bytes(payload[:2], "big") == code
            return


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: bogus\r\n\r\n",
            "(?i)accept",
        ),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "(?i)http"),
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "403"),
    ],
)
async def test_broken_handshakes_raise_protocol_error(reply: bytes, match: str) -> None:
    fake = await FakeJanus(handshake_reply=reply).start()
    transport = JanusTransport.create_transport(fake.url, config=NO_RETRY)
    with pytest.raises(ProtocolError, match=match):
        await transport.connect()
    assert not transport.connected
    await fake.close()


async def test_101_without_the_subprotocol_is_refused() -> None:
    fake = FakeJanus()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from _fake_janus import accept_key

        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key) + b"\r\n\r\n"
        )
        fake.writer = writer

    fake.accept = accept  # type: ignore[method-assign]
    await fake.start()
    transport = JanusTransport.create_transport(fake.url, config=NO_RETRY)
    with pytest.raises(ProtocolError, match=r"(?i)subprotocol"):
        await transport.connect()
    await fake.close()


@pytest.mark.parametrize(
    ("bad_frame", "code"),
    [
        (frame(0x3, b"reserved opcode"), 1002),
        (frame(0x1, b'{"janus":"pong"}', rsv=0b100), 1002),
        (frame(0x1, b'{"janus":"pong"}', mask=True), 1002),
        (frame(0x1, b"\xff\xfe not utf-8"), 1007),
        (frame(0x1, b'{"janus":"event","pad":"' + b"x" * 3000 + b'"}'), 1009),
        (frame(0x9, b"p" * 200), 1002),  # control frame over 125 bytes
        (frame(0x0, b"continuation without a start"), 1002),
    ],
    ids=[
        "reserved-opcode",
        "rsv-bits",
        "masked",
        "bad-utf8",
        "oversized",
        "big-ping",
        "orphan-cont",
    ],
)
async def test_malformed_frames_close_with_the_right_code(bad_frame: bytes, code: int) -> None:
    fake, transport = await connected(max_message_size=1024)
    ping = asyncio.ensure_future(transport.ping())
    await fake.read_requests()
    fake.send(bad_frame)
    with pytest.raises(ConnectionClosedError) as caught:
        await asyncio.wait_for(ping, 5)
    assert caught.value.code == code
    await expect_close(fake, code)
    assert transport.stats()["pending"] == 0
    await transport.disconnect()
    await fake.close()


async def test_garbage_messages_are_counted_and_the_connection_goes_on() -> None:
    fake, transport = await connected()
    ping = asyncio.ensure_future(transport.ping())
    (request,) = await fake.read_requests()
    fake.send(frame(0x1, b"{not json"))
    fake.send(frame(0x1, b"[1, 2, 3]"))
    fake.send(text({"no_janus_field": True}))
    fake.send(text({"janus": "brand-new-type", "session_id": 1}))
    fake.send(text({"janus": "success", "transaction": "not-ours"}))
    fake.send(text({"janus": "pong", "transaction": request["transaction"]}))
    pong = await asyncio.wait_for(ping, 5)
    assert pong["janus"] == "pong"
    assert transport.stats_malformed == 3
    assert transport.stats_unrouted == 2  # unknown type and unknown transaction: counted
    stats = transport.stats()
    assert stats["unknown_transactions"] == 1
    assert (stats["malformed"], stats["unrouted"]) == (3, 2)
    assert transport.connected
    await transport.disconnect()
    await fake.close()


async def test_server_close_code_reaches_pending_requests() -> None:
    fake, transport = await connected()
    ping = asyncio.ensure_future(transport.ping())
    await fake.read_requests()
    fake.send(frame(0x8, (4000).to_bytes(2, "big") + b"maintenance"))
    with pytest.raises(ConnectionClosedError) as caught:
        await asyncio.wait_for(ping, 5)
    assert caught.value.code == 4000
    assert "maintenance" in str(caught.value)
    await expect_close(fake, 4000)
    await fake.close()


async def test_server_pings_are_answered_and_fragments_reassembled() -> None:
    fake, transport = await connected()
    ping = asyncio.ensure_future(transport.ping())
    (request,) = await fake.read_requests()
    fake.send(frame(0x9, b"are you there"))
    opcode, payload = await asyncio.wait_for(fake.read_frame(), 5)
    assert (opcode, payload) == (0xA, b"are you there")
    body = ('{"janus":"pong","transaction":"' + request["transaction"] + '"}').encode()
    fake.send(frame(0x1, body[:5], fin=False) + frame(0x0, body[5:12], fin=False))
    fake.send(frame(0x9, b"mid-message ping") + frame(0x0, body[12:]))
    assert (await asyncio.wait_for(ping, 5))["janus"] == "pong"
    await transport.disconnect()
    await fake.close()


# -- JSON that orjson (Message.json()) rejects is malformed at the core, never a reply ------------

#: One value of each kind orjson.loads rejects although it is valid JSON syntax.
POISON = {
    "lone surrogate escape": b'"\\ud800"',
    "number beyond f64": b"1e400",
    "nesting deeper than 1024": b"[" * 1024 + b"]" * 1024,
}


def pong_with(transaction: str, value: bytes) -> bytes:
    return frame(
        0x1, b'{"janus":"pong","transaction":"' + transaction.encode() + b'","x":' + value + b"}"
    )


async def test_json_orjson_rejects_is_malformed_counted_and_logged_once_per_kind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, transport = await connected()
    ping = asyncio.ensure_future(transport.ping())
    (request,) = await fake.read_requests()
    transaction = request["transaction"]
    with caplog.at_level(logging.DEBUG, logger="janus_fast.transport"):
        for value in POISON.values():
            fake.send(pong_with(transaction, value) * 2)  # each kind twice, as one frame each
        fake.send(text({"janus": "pong", "transaction": transaction}))
        pong = await asyncio.wait_for(ping, 5)
    assert pong == {"janus": "pong", "transaction": transaction}  # none of the poison completed it
    assert transport.stats_malformed == 2 * len(POISON)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == len(POISON), [r.getMessage() for r in warnings]
    assert transport.connected
    await transport.disconnect()
    await fake.close()


def _orjson_accepts(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


#: Values at the edges of orjson's rules (and some ordinary ones).
EDGE_VALUES = [
    *POISON.values(),
    *(
        rb'"\ud800\udc00"',
        rb'"\udbff\udfff"',
        rb'"\udc00"',
        rb'"\ud800x"',
        rb'"\ud800\u0041"',
        rb'"\ud800\ud800"',
        rb'"\\ud800"',
        rb'"\u0000"',
        rb'{"\ud800":1}',
        rb'["\udfff"]',
    ),
    *(
        b"1e308",
        b"-1e308",
        b"1.8e308",
        b"1.7976931348623157e308",
        b"1.7976931348623158e308",
        b"1.7976931348623159e308",
        b"1e-400",
        b"-1e-400",
        b"0e99999",
        b"1E+400",
        b"-1e400",
        b"18446744073709551615",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"1" + b"0" * 308,
        b"1" + b"0" * 309,
        b"-1" + b"0" * 400,
        b"2.4703282292062328e-324",
    ),
    *(b"[" * n + b"]" * n for n in (1022, 1023, 1024, 1025)),
    *(b'{"a":' * n + b"1" + b"}" * n for n in (1023, 1024)),
]


@pytest.mark.parametrize("value", EDGE_VALUES, ids=lambda v: v[:24].decode(errors="replace"))
def test_the_core_classifies_exactly_what_orjson_decodes(value: bytes) -> None:
    message = b'{"janus":"event","x":' + value + b"}"
    core = _core.JanusCore(apisecret=None, token=None, seed=os.urandom(32))
    core.receive_message(message)
    kinds = [kind for kind, _, _ in core.drain()]
    assert (kinds == [_core.UNROUTED]) == _orjson_accepts(message), kinds
    assert kinds in ([_core.UNROUTED], [_core.MALFORMED])


@pytest.mark.parametrize(
    "error",
    [{"code": "458", "reason": "r"}, {"code": 458.5, "reason": "r"}, {"reason": "r"}, "boom", None],
    ids=["string", "float", "missing", "not-an-object", "absent"],
)
async def test_an_error_reply_without_an_integer_code_fails_its_request(error: Any) -> None:
    fake, transport = await connected()
    ping = asyncio.ensure_future(transport.ping())
    (request,) = await fake.read_requests()
    reply: dict[str, Any] = {"janus": "error", "transaction": request["transaction"]}
    if error is not None:
        reply["error"] = error
    fake.send(text(reply))
    with pytest.raises(ProtocolError, match="without an integer error code"):
        await asyncio.wait_for(ping, 5)
    ping = asyncio.ensure_future(transport.ping())
    (request,) = await fake.read_requests()
    fake.send(
        text(
            {
                "janus": "error",
                "transaction": request["transaction"],
                "error": {"code": 458, "reason": "No such session"},
            }
        )
    )
    with pytest.raises(SessionNotFoundError, match="458"):
        await asyncio.wait_for(ping, 5)
    await transport.disconnect()
    await fake.close()


BAD_IDS = {
    "string": "abc",
    "negative": -5,
    "too-large": 2**64,
    "float": 1.9,
    "zero": 0,
    "bool": True,
    "missing": None,
}


def success_with_id(transaction: str, value: Any, **fields: Any) -> bytes:
    data = {} if value is None else {"id": value}
    return text({"janus": "success", "transaction": transaction, "data": data, **fields})


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
async def test_a_bad_server_chosen_session_id_fails_create_leaving_nothing(bad: Any) -> None:
    fake, transport = await connected()
    session = JanusSession(transport=transport)
    create = asyncio.ensure_future(session.create())
    (request,) = await fake.read_requests()
    fake.send(success_with_id(request["transaction"], bad))
    with pytest.raises(ProtocolError, match=r"create reply has no valid data\.id"):
        await asyncio.wait_for(create, 5)
    assert not session.created
    assert transport.session_count == 0 and transport.sessions() == []
    assert transport.stats()["sessions"] == 0
    await transport.disconnect()
    await fake.close()


@pytest.mark.parametrize("data", [[7], "7", 7, None], ids=["list", "string", "number", "null"])
async def test_a_create_reply_whose_data_is_not_an_object_fails_leaving_nothing(data: Any) -> None:
    fake, transport = await connected()
    session = JanusSession(transport=transport)
    create = asyncio.ensure_future(session.create())
    (request,) = await fake.read_requests()
    fake.send(text({"janus": "success", "transaction": request["transaction"], "data": data}))
    with pytest.raises(ProtocolError, match=r"create reply has no valid data\.id"):
        await asyncio.wait_for(create, 5)
    assert not session.created and transport.session_count == 0
    await transport.disconnect()
    await fake.close()


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
async def test_a_bad_server_chosen_handle_id_fails_attach_leaving_nothing(bad: Any) -> None:
    fake, transport = await connected()
    session = JanusSession(transport=transport, keepalive_interval=None)
    create = asyncio.ensure_future(session.create())
    (request,) = await fake.read_requests()
    fake.send(success_with_id(request["transaction"], 7))
    await asyncio.wait_for(create, 5)
    plugin = EchoTest()
    attach = asyncio.ensure_future(plugin.attach(session))
    (request,) = await fake.read_requests()
    fake.send(success_with_id(request["transaction"], bad, session_id=7))
    with pytest.raises(ProtocolError, match=r"attach reply has no valid data\.id"):
        await asyncio.wait_for(attach, 5)
    assert plugin.id is None
    assert session.plugin_handles == {}
    assert transport.stats()["handles"] == 0
    await transport.disconnect()
    await fake.close()
