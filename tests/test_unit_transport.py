"""Janus-free unit tests: URL parsing and redaction, the backoff formula, and the request template's
rules (deadline, cancel, resend, outage wait, connected guard) on a tiny in-memory transport.

Rule: no sockets and no Janus here; the real-Janus tests cover the same paths end to end.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
import pytest

from janus_fast import Expect, JanusTransport
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidStateError,
    InvalidURLError,
    ProtocolError,
    RequestTimeoutError,
    SessionLostError,
)
from janus_fast.redact import redact_url
from janus_fast.session import session_timeout_of
from janus_fast.transport import info_object
from janus_fast.transports._backoff import backoff_delay
from janus_fast.transports._url import parse_url

# -- URLs ----------------------------------------------------------------------------------------


def test_parse_url_defaults_ports_and_keeps_path_and_query() -> None:
    ws = parse_url("ws://janus.example/janus?x=1", ("ws", "wss"))
    assert (ws.scheme, ws.host, ws.port, ws.path) == ("ws", "janus.example", 80, "/janus?x=1")
    assert ws.host_header == "janus.example" and not ws.secure
    wss = parse_url("wss://janus.example", ("ws", "wss"))
    assert (wss.port, wss.path, wss.secure) == (443, "/", True)
    http = parse_url("http://10.0.0.1:8088/janus", ("http", "https"))
    assert (http.port, http.host_header) == (8088, "10.0.0.1:8088")
    v6 = parse_url("ws://[::1]:8188", ("ws", "wss"))
    assert (v6.host, v6.host_header) == ("::1", "[::1]:8188")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://janus.example", "must use one of ws, wss"),
        ("ws:///janus", "has no host"),
        ("ws://janus.example:99999/", "port out of range"),
        ("ws://janus.example:abc/", "port out of range or not a number"),
    ],
)
def test_parse_url_refuses_bad_urls_with_clear_errors(url: str, fragment: str) -> None:
    with pytest.raises(InvalidURLError, match=fragment):
        parse_url(url, ("ws", "wss"))


def test_parse_url_refuses_credentials_without_showing_them() -> None:
    with pytest.raises(InvalidURLError) as caught:
        parse_url("wss://alice:hunter2@janus.example/?token=s3cret", ("ws", "wss"))
    text = str(caught.value)
    assert "credentials" in text
    assert "hunter2" not in text and "alice" not in text and "s3cret" not in text


def test_parse_url_errors_show_the_redacted_url() -> None:
    with pytest.raises(InvalidURLError) as caught:
        parse_url("ws://janus.example:70000/?apisecret=s3cret", ("ws", "wss"))
    assert "s3cret" not in str(caught.value)
    assert "apisecret=***" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ws://janus.example:8188/janus", "ws://janus.example:8188/janus"),
        ("wss://alice:pw@janus.example/", "wss://***@janus.example/"),
        ("http://h/janus?token=t&apisecret=s&flag", "http://h/janus?token=***&apisecret=***&flag"),
        ("ws://h/#secret-fragment", "ws://h/"),
        ("ws://[::1", "<malformed URL>"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# -- backoff -------------------------------------------------------------------------------------


def test_backoff_doubles_from_base_up_to_the_cap_with_jitter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)  # the lowest jitter: half the delay
    assert [backoff_delay(n, 0.5, 3.0) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 1.5, 1.5]
    monkeypatch.setattr(random, "random", lambda: 0.999999)  # the highest: just under it
    assert backoff_delay(1, 0.5, 3.0) == pytest.approx(0.5, rel=1e-5)
    assert backoff_delay(1, 0.5, 3.0) < 0.5
    assert backoff_delay(10, 0.5, 3.0) == pytest.approx(3.0, rel=1e-5)


def test_backoff_with_zero_base_never_waits() -> None:
    assert all(backoff_delay(n, 0.0, 10.0) == 0.0 for n in range(1, 8))


# -- the request template -------------------------------------------------------------------------


class MemoryTransport(JanusTransport):
    """A janus-client-style custom transport: ``_send`` records, the test answers by ``receive``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("ws://memory.invalid", **kwargs)
        self.sent: list[dict[str, Any]] = []
        self.sent_event = asyncio.Event()
        self.send_error: BaseException | None = None

    async def _connect(self) -> None:
        pass

    async def _disconnect(self) -> None:
        pass

    async def _send(self, message: dict[str, Any]) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(message)
        self.sent_event.set()

    async def next_sent(self) -> dict[str, Any]:
        await asyncio.wait_for(self.sent_event.wait(), 2)
        self.sent_event.clear()
        return self.sent[-1]

    async def answer(self, message: dict[str, Any], reply: dict[str, Any]) -> None:
        await self.receive({**reply, "transaction": message["transaction"]})

    def lose_connection(self, error: ConnectionClosedError) -> None:
        """What a transport does when its connection drops: fail everything waiting (the base
        class's hook for its subclasses, as the built-in transports call it)."""
        self._fail_pending(error)


class RecoveringTransport(MemoryTransport):
    """Adds the hooks of a transport with an outage gate and reconnection."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recovering = False
        self.gate: asyncio.Event | None = None
        self.gate_deadlines: list[float | None] = []
        self.aliases: dict[int, int] = {}

    def _must_wait(self) -> bool:
        return self.gate is not None and not self.gate.is_set()

    async def _wait_until_ready(self, deadline: float | None, handle_id: int | None) -> int | None:
        self.gate_deadlines.append(deadline)
        assert self.gate is not None
        await asyncio.wait_for(self.gate.wait(), 2)
        return self.aliases.get(handle_id, handle_id) if handle_id is not None else None

    def _may_resend(self) -> bool:
        return self.recovering


def pending(transport: JanusTransport) -> int:
    return transport.stats()["pending"]


async def test_request_before_connect_is_refused() -> None:
    transport = MemoryTransport()
    with pytest.raises(InvalidStateError, match="Must connect"):
        await transport.request({"janus": "ping"}, Expect.PONG)
    assert transport.sent == []


async def test_request_completes_with_the_reply_and_adds_the_library_keys() -> None:
    transport = MemoryTransport(api_secret="s", token="t")
    await transport.connect()
    body = {"janus": "message", "body": {"a": 1}, "transaction": "mine", "session_id": 9}
    task = asyncio.ensure_future(transport.request(body, Expect.SUCCESS, 5, 6))
    sent = await transport.next_sent()
    assert sent["transaction"] != "mine"
    assert (sent["session_id"], sent["handle_id"], sent["apisecret"], sent["token"]) == (
        5,
        6,
        "s",
        "t",
    )
    assert body["transaction"] == "mine"  # the caller's dict is untouched
    await transport.answer(sent, {"janus": "success", "data": {"ok": True}})
    reply = await asyncio.wait_for(task, 2)
    assert reply.json()["data"] == {"ok": True}
    assert pending(transport) == 0
    await transport.disconnect()


async def test_request_without_a_janus_key_is_refused_at_once() -> None:
    transport = MemoryTransport()
    await transport.connect()
    with pytest.raises(ValueError, match='"janus" key'):
        transport.request({"body": {}}, Expect.SUCCESS)
    await transport.disconnect()


async def test_deadline_comes_from_the_timeout_option_and_expires_the_request() -> None:
    transport = MemoryTransport(timeout=0.05)
    await transport.connect()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RequestTimeoutError):
        await transport.request({"janus": "ping"}, Expect.PONG)
    assert 0.04 <= loop.time() - started < 1.0
    assert pending(transport) == 0 and transport.stats()["expired"] == 1
    await transport.disconnect()


async def test_the_one_timer_is_armed_again_after_it_fired_and_after_a_disconnect() -> None:
    transport = MemoryTransport(timeout=0.03)
    await transport.connect()
    for _ in range(2):  # the second request needs the timer again, once the first one fired
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(transport.request({"janus": "ping"}, Expect.PONG), 2)
    # A long deadline arms it; a shorter one later must bring it forward.
    slow = asyncio.ensure_future(transport.request({"janus": "ping"}, Expect.PONG, timeout=30))
    await transport.next_sent()
    with pytest.raises(RequestTimeoutError):
        await asyncio.wait_for(transport.request({"janus": "ping"}, Expect.PONG, timeout=0.02), 2)
    assert not slow.done()
    await transport.disconnect()  # the timer goes with the connection
    with pytest.raises(ConnectionClosedError):
        await slow
    await transport.connect()
    with pytest.raises(RequestTimeoutError):
        await asyncio.wait_for(transport.request({"janus": "ping"}, Expect.PONG), 2)
    assert pending(transport) == 0 and transport.stats()["expired"] == 4
    await transport.disconnect()


async def test_timeout_argument_overrides_the_option_and_none_means_no_deadline() -> None:
    transport = MemoryTransport(timeout=0.05)
    await transport.connect()
    task = asyncio.ensure_future(transport.request({"janus": "ping"}, Expect.PONG, timeout=None))
    await transport.next_sent()
    await asyncio.sleep(0.15)  # three times the option's timeout: still waiting
    assert not task.done() and pending(transport) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(RequestTimeoutError):
        await transport.request({"janus": "ping"}, Expect.PONG, timeout=0.01)
    await transport.disconnect()


async def test_cancelling_a_request_withdraws_it() -> None:
    transport = MemoryTransport()
    await transport.connect()
    task = asyncio.ensure_future(transport.request({"janus": "ping"}, Expect.PONG))
    sent = await transport.next_sent()
    assert pending(transport) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pending(transport) == 0 and transport.stats()["cancelled"] == 1
    await transport.answer(sent, {"janus": "pong"})  # a late reply finds nothing
    assert transport.stats()["unknown_transactions"] == 1
    await transport.disconnect()


async def test_a_failing_send_withdraws_the_request() -> None:
    transport = MemoryTransport()
    await transport.connect()
    transport.send_error = OSError("wire cut")
    with pytest.raises(OSError, match="wire cut"):
        await transport.request({"janus": "ping"}, Expect.PONG)
    assert pending(transport) == 0
    await transport.disconnect()


async def test_a_lost_connection_fails_requests_when_the_transport_does_not_recover() -> None:
    transport = RecoveringTransport()
    await transport.connect()
    task = asyncio.ensure_future(transport.request({"janus": "ping"}, Expect.PONG))
    await transport.next_sent()
    transport.lose_connection(ConnectionClosedError(1006, "gone"))
    with pytest.raises(ConnectionClosedError):
        await task
    assert len(transport.sent) == 1
    await transport.disconnect()


REPLIES = {Expect.PONG: "pong", Expect.SERVER_INFO: "server_info", Expect.ACK: "ack"}


@pytest.mark.parametrize(
    ("expect", "idempotent", "resent"),
    [
        (Expect.PONG, False, True),
        (Expect.SERVER_INFO, False, True),
        (Expect.ACK, False, True),
        (Expect.SUCCESS, False, False),
        (Expect.SUCCESS, True, True),
        (Expect.PLUGIN_MESSAGE, True, True),
    ],
)
async def test_resend_rule_while_recovering(expect: int, idempotent: bool, resent: bool) -> None:
    transport = RecoveringTransport()
    await transport.connect()
    task = asyncio.ensure_future(
        transport.request({"janus": "x"}, expect, 1, idempotent=idempotent)
    )
    first = await transport.next_sent()
    transport.recovering = True
    transport.lose_connection(ConnectionClosedError(1006, "gone"))
    if not resent:
        with pytest.raises(ConnectionClosedError):
            await task
        assert len(transport.sent) == 1
    else:
        second = await transport.next_sent()
        assert second["transaction"] != first["transaction"]
        assert {k: v for k, v in second.items() if k != "transaction"} == {
            k: v for k, v in first.items() if k != "transaction"
        }
        await transport.answer(second, {"janus": REPLIES.get(expect, "success")})
        await asyncio.wait_for(task, 2)
    assert pending(transport) == 0
    await transport.disconnect()


async def test_requests_wait_at_the_gate_with_their_deadline_and_take_the_new_handle_id() -> None:
    transport = RecoveringTransport()
    await transport.connect()
    loop = asyncio.get_running_loop()
    transport.gate = asyncio.Event()
    transport.aliases[7] = 70
    before = loop.time()
    task = asyncio.ensure_future(transport.request({"janus": "m"}, Expect.SUCCESS, 1, 7, timeout=5))
    stream_task = asyncio.ensure_future(transport.send({"janus": "message"}, 1, 7))
    await asyncio.sleep(0.02)
    assert transport.sent == [] and len(transport.gate_deadlines) == 2
    request_deadline, stream_deadline = transport.gate_deadlines
    assert request_deadline is not None and before + 5 <= request_deadline <= loop.time() + 5
    assert stream_deadline is not None  # a stream's opening is bounded too
    transport.gate.set()
    stream = await asyncio.wait_for(stream_task, 2)
    sent = await transport.next_sent()
    assert [m["handle_id"] for m in transport.sent] == [70, 70]
    await transport.answer(transport.sent[0], {"janus": "success"})
    await asyncio.wait_for(task, 2)
    assert stream.id == sent["transaction"] or stream.id == transport.sent[1]["transaction"]
    await stream.done()
    await transport.disconnect()


async def test_open_stream_takes_every_message_of_its_transaction() -> None:
    transport = MemoryTransport()
    await transport.connect()
    stream = await transport.send({"janus": "message", "body": {}}, 1, 2)
    sent = transport.sent[-1]
    assert stream.id == sent["transaction"]
    await transport.answer(sent, {"janus": "ack"})
    await transport.answer(sent, {"janus": "event", "plugindata": {"data": {"ok": 1}}})
    event = await stream.get({"janus": "event"}, 2)
    assert event["plugindata"]["data"] == {"ok": 1}
    await stream.done()
    assert pending(transport) == 0
    await transport.disconnect()


async def test_a_failing_stream_send_withdraws_the_stream() -> None:
    transport = MemoryTransport()
    await transport.connect()
    transport.send_error = OSError("wire cut")
    with pytest.raises(OSError):
        await transport.send({"janus": "message"}, 1, 2)
    assert pending(transport) == 0
    await transport.disconnect()


class StubSession:
    """What the route table and ``disconnect()`` need of a session."""

    def __init__(self) -> None:
        self.told = 0
        self.delivered: list[Any] = []
        self.id: int | None = None

    def transport_disconnected(self) -> None:
        self.told += 1

    def deliver(self, message: Any) -> None:
        self.delivered.append(message)

    def rebind(self, new_id: int) -> None:
        self.id = new_id


async def test_routes_disconnect_and_rebind() -> None:
    transport = MemoryTransport()
    await transport.connect()
    first, second = StubSession(), StubSession()
    transport.register_session(11, first)  # type: ignore[arg-type]
    transport.register_session(12, second)  # type: ignore[arg-type]
    assert transport.session_count == 2
    transport.feed(orjson.dumps({"janus": "timeout", "session_id": 11}))
    assert [m["janus"] for m in first.delivered] == ["timeout"] and second.delivered == []
    first.id = 11
    transport.rebind_session(first, 21)  # type: ignore[arg-type]
    assert first.id == 21
    transport.feed(orjson.dumps({"janus": "timeout", "session_id": 21}))
    transport.feed(orjson.dumps({"janus": "timeout", "session_id": 11}))
    assert len(first.delivered) == 2 and transport.stats_unrouted == 1
    assert transport.drop_session(12, SessionLostError("gone")) is second
    assert transport.session_count == 1
    transport.feed(orjson.dumps({"janus": "timeout", "session_id": 12}))
    assert second.delivered == [] and transport.stats_unrouted == 2
    await transport.disconnect()
    assert (first.told, second.told) == (1, 0)  # every session still routed is told


# -- hostile answers a server may give (found by the end-to-end fuzzer) ------------------------


async def test_a_handle_of_a_session_that_ended_meanwhile_is_a_typed_error() -> None:
    transport = MemoryTransport()
    await transport.connect()
    transport.register_session(31, StubSession())  # type: ignore[arg-type]
    transport.drop_session(31, SessionLostError("gone"))
    with pytest.raises(SessionLostError, match="ended before handle 7"):
        transport.register_handle(31, 7, object())  # type: ignore[arg-type]
    await transport.disconnect()


@pytest.mark.parametrize("body", [9223372036854775808, [1, 2], "text", None, 1.5])
def test_an_info_answer_that_is_not_an_object_is_a_protocol_error(body: object) -> None:
    with pytest.raises(ProtocolError, match="not a JSON object"):
        info_object(body, "info")
    assert info_object({"version": 1102}, "info") == {"version": 1102}


@pytest.mark.parametrize(
    ("info", "seconds"),
    [
        ({"session-timeout": 60}, 60.0),
        ({"session-timeout": 0}, 0.0),
        ({"session-timeout": -5}, 60),  # invalid: falls back (keepalive stays on)
        ({"session-timeout": "30s"}, 60),
        ({"session-timeout": True}, 60),
        ({"session-timeout": float("nan")}, 60),
        ({"session-timeout": 10**30}, 86_400.0),
        ({}, 60),
        (9223372036854775808, 60),
    ],
)
def test_session_timeout_of_a_hostile_info_falls_back(info: Any, seconds: float) -> None:
    assert session_timeout_of(info) == seconds
