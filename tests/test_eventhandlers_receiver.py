"""The event stream, the parsing and the HTTP receiver's protocol edges, without Janus (requests
a real Janus never sends: chunked bodies, bad JSON, gzip bombs, wrong paths and methods)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import logging
from pathlib import Path

import orjson
import pytest

from janus_fast.errors import InvalidOptionError, ProtocolError
from janus_fast.eventhandlers import (
    CoreEvent,
    EventStream,
    ExternalEvent,
    HandleEvent,
    HttpEventReceiver,
    InvalidEventError,
    SessionEvent,
    TransportEvent,
    UnknownEvent,
    decode_payload,
    parse_event,
)

HANDLE = {
    "emitter": "j1",
    "type": 2,
    "timestamp": 1700000000000000,
    "session_id": 11,
    "handle_id": 22,
    "opaque_id": "op",
    "event": {"name": "attached", "plugin": "janus.plugin.echotest", "token": "tok-SECRET"},
}


def _external(n: int) -> dict[str, object]:
    return {"type": 4, "timestamp": 1000 + n, "event": {"schema": "s", "data": {"n": n}}}


def test_parse_keeps_the_raw_dict_and_hides_the_token() -> None:
    event = parse_event(HANDLE, server="tag")
    assert isinstance(event, HandleEvent)
    assert (event.session_id, event.handle_id, event.opaque_id) == (11, 22, "op")
    assert (event.name, event.plugin, event.token, event.server) == (
        "attached",
        "janus.plugin.echotest",
        "tok-SECRET",
        "tag",
    )
    assert event.raw is HANDLE and "tok-SECRET" not in repr(event)
    assert parse_event(HANDLE).server == "j1"  # no tag: the emitter


def test_parse_unknown_and_partial_events() -> None:
    unknown = parse_event({"type": 1024, "event": {"x": 1}})
    assert isinstance(unknown, UnknownEvent) and unknown.body == {"x": 1} and unknown.type == 1024
    bare = parse_event({"type": 1})
    assert isinstance(bare, SessionEvent) and bare.name is None and bare.session_id is None
    core = parse_event({"type": 256, "subtype": 2, "event": {"status": "shutdown"}})
    assert isinstance(core, CoreEvent) and core.status == "shutdown" and core.subtype == 2
    transport = parse_event({"type": 128, "event": {"transport": "t", "id": "9", "data": {}}})
    assert isinstance(transport, TransportEvent) and transport.transport_id == "9"
    with pytest.raises(InvalidEventError):
        parse_event([1])  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", [b"nope", b"[1, 2]", b'"text"', b"[{}, 3]"])
def test_decode_refuses_what_is_not_events(payload: bytes) -> None:
    with pytest.raises(InvalidEventError) as caught:
        decode_payload(payload)
    assert isinstance(caught.value, ProtocolError) and isinstance(caught.value, ValueError)


async def test_stream_dedups_within_its_window_and_bounds(caplog: pytest.LogCaptureFixture) -> None:
    stream = EventStream(maxsize=2, dedup_window=2)
    assert stream.publish([_external(1), _external(1), _external(2)]) == 2
    assert stream.stats()["duplicates"] == 1
    assert stream.publish([_external(1)], server="other") == 1  # another server: not a dup
    assert stream.publish([_external(1)]) == 1  # fell out of the window (2, 1@other since)
    with caplog.at_level(logging.WARNING, logger="janus_fast.eventhandlers"):
        stream.publish([_external(3)])
    assert stream.stats()["dropped"] == 3 and len(stream) == 2
    assert len([r for r in caplog.records if "dropping the oldest" in r.getMessage()]) == 1
    first = await stream.get(timeout=1)
    assert isinstance(first, ExternalEvent) and first.data == {"n": 1} and first.server is None
    stream.close()
    assert [e.data["n"] for e in [x async for x in stream]] == [3]  # type: ignore[attr-defined]
    with pytest.raises(EOFError):
        await stream.get(timeout=1)
    assert stream.stats()["delivered"] == 2


async def test_stream_get_times_out_and_checks_options() -> None:
    stream = EventStream()
    with pytest.raises(asyncio.TimeoutError):
        await stream.get(timeout=0.05)
    for bad in ({"maxsize": 0}, {"maxsize": True}, {"dedup_window": -1}):
        with pytest.raises(InvalidOptionError):
            EventStream(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError):
        HttpEventReceiver(username="u")
    with pytest.raises(InvalidOptionError):
        HttpEventReceiver(path="no-slash")


async def _exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


def _post(body: bytes, *headers: str, path: str = "/e", method: str = "POST") -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: x", "Connection: close", *headers]
    if not any(h.lower().startswith("transfer-encoding") for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_http_bodies_encodings_and_refusals() -> None:
    one = orjson.dumps(_external(1))
    async with HttpEventReceiver(path="/e", max_body_size=4096) as receiver:
        port = receiver.port
        chunked = b"5\r\n" + one[:5] + b"\r\n" + f"{len(one) - 5:x}\r\n".encode()
        chunked += one[5:] + b"\r\n0\r\n\r\n"
        answer = await _exchange(port, _post(chunked, "Transfer-Encoding: chunked"))
        assert answer.startswith(b"HTTP/1.1 200 ")
        zipped = gzip.compress(orjson.dumps([_external(2), _external(3)]))
        assert (await _exchange(port, _post(zipped, "Content-Encoding: gzip"))).startswith(
            b"HTTP/1.1 200 "
        )
        cases = [
            (_post(b"not json"), b"400"),
            (_post(one, path="/other"), b"404"),
            (_post(b"", method="GET"), b"405"),
            (_post(b"x" * 5000), b"413"),
            (_post(gzip.compress(b"[" + b" " * 100_000 + b"]"), "Content-Encoding: gzip"), b"413"),
            (_post(b"\x1f\x8bjunk", "Content-Encoding: gzip"), b"400"),
            (_post(one, "Content-Encoding: br"), b"415"),
        ]
        for request, status in cases:
            answer = await _exchange(port, request)
            assert answer.startswith(b"HTTP/1.1 " + status + b" "), (request[:60], answer)
        stats = receiver.stats()
    assert stats["accepted"] == 2 and stats["refused"] == len(cases)
    assert receiver.stream.stats()["invalid"] == 1
    assert [e.data["n"] for e in [receiver.stream.get_nowait() for _ in range(3)]] == [1, 2, 3]  # type: ignore[union-attr]


async def test_http_keep_alive_expect_continue_and_auth() -> None:
    credentials = base64.b64encode(b"user:pw").decode()
    async with HttpEventReceiver(username="user", password="pw") as receiver:
        reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
        body = orjson.dumps(_external(1))
        head = f"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n"
        head += f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode())
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        writer.write(body)
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert first.startswith(b"HTTP/1.1 200 ")
        writer.write(head.replace("Expect: 100-continue\r\n", "").encode() + body)  # same link
        second = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert second.startswith(b"HTTP/1.1 200 ")
        writer.close()
        wrong = base64.b64encode(b"user:nope").decode()
        for auth in (f"Authorization: Basic {wrong}", "Authorization: Bearer x", "X: y"):
            answer = await _exchange(receiver.port, _post(body, auth, path="/"))
            assert answer.startswith(b"HTTP/1.1 401 ")
            assert b'WWW-Authenticate: Basic realm="janus-events"' in answer
        assert receiver.stats()["unauthorized"] == 3 and receiver.stats()["accepted"] == 2
        assert receiver.stats()["connections"] == 4
    assert receiver.stream.stats()["duplicates"] == 1  # the same event posted twice
    assert "pw" not in repr(receiver) and "user" not in repr(receiver)


def test_the_package_imports_no_broker_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, janus_fast.eventhandlers as e; "
        "print(sorted(m for m in ('aiomqtt', 'aio_pika', 'paho', 'aiormq', 'websockets', "
        "'aiohttp') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "receiver", "extra"),
    [("aiomqtt", "MqttEventReceiver", "mqtt"), ("aio_pika", "AmqpEventReceiver", "amqp")],
)
async def test_a_missing_extra_is_named_at_start(
    monkeypatch: pytest.MonkeyPatch, module: str, receiver: str, extra: str
) -> None:
    import sys

    import janus_fast.eventhandlers as package

    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    instance = getattr(package, receiver)(port=1)
    with pytest.raises(ImportError, match=rf"janus-fast\[{extra}\]"):
        await instance.start()
    assert instance.stats()["errors"] == 0  # nothing was started, nothing retried


def test_harness_event_handler_configs(tmp_path: Path) -> None:
    from janus_fast.testing.config import EventHandler, JanusConfig, Ports, write_config_folder

    handler = EventHandler(
        "sampleevh", "http://127.0.0.1:9/x", backend_user="u", backend_pwd="pw-SECRET-1"
    )
    config = JanusConfig(event_handlers=(handler,), events={"stats_period": 2})
    assert "pw-SECRET-1" not in repr(handler) and "pw-SECRET-1" not in repr(config)
    ports = Ports(http=1, ws=2, admin_http=3, admin_ws=4)
    write_config_folder(config, tmp_path / "on", ports, "name", tmp_path)
    main = (tmp_path / "on" / "janus.jcfg").read_text()
    assert "broadcast = true" in main and "stats_period = 2" in main
    assert "libjanus_sampleevh.so" not in main and "libjanus_wsevh.so" in main  # disabled list
    own = (tmp_path / "on" / "janus.eventhandler.sampleevh.jcfg").read_text()
    assert 'backend_pwd = "pw-SECRET-1"' in own and 'events = "all"' in own
    write_config_folder(JanusConfig(), tmp_path / "off", ports, "name", tmp_path)
    assert "broadcast = false" in (tmp_path / "off" / "janus.jcfg").read_text()
    with pytest.raises(ValueError, match="at most one event handler of each kind"):
        write_config_folder(
            JanusConfig(event_handlers=(handler, handler)), tmp_path / "two", ports, "n", tmp_path
        )
    with pytest.raises(ValueError, match="unknown event handler kind"):
        EventHandler("bogusevh", "x")  # type: ignore[arg-type]
