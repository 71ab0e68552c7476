"""The HTTP transport's own HTTP/1.1 client: keep-alive, pool limit, faults, descriptors.

Real Janus throughout (through ``FaultProxy`` where bytes must be cut, held or split); a scripted
fake HTTP server only for what a real Janus cannot be made to do: a malformed status line, bytes
after a response, a body cut short, an idle keep-alive connection closed just as it is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from janus_fast import (
    ConnectionClosedError,
    ConnectionLimitError,
    Expect,
    InvalidStateError,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    ProtocolError,
    RequestTimeoutError,
    SessionLostError,
    TransportError,
)
from janus_fast.testing import FaultProxy, JanusServer
from janus_fast.transports._http_pool import HTTPConnectionPool


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


class BrokenEchoTest(EchoTest):
    """An EchoTest handle whose event delivery raises (a bug on the reading side)."""

    def deliver(self, message: Any) -> None:
        raise RuntimeError("a bug in the poll path")


@contextlib.asynccontextmanager
async def proxied_transport(
    janus: JanusServer, **options: Any
) -> AsyncIterator[tuple[FaultProxy, Any]]:
    """An HTTP transport (``options``) connected to ``janus`` through a ``FaultProxy``."""
    proxy = await FaultProxy(janus.ports.http).start()
    transport = JanusTransport.create_transport(proxy.url("http"), config=options)
    await transport.connect()
    try:
        yield proxy, transport
    finally:
        await transport.disconnect()
        await proxy.close()


async def eventually(check: Callable[[], bool], limit: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not check():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_sequential_requests_share_one_keep_alive_connection(
    janus_server: JanusServer,
) -> None:
    async with proxied_transport(janus_server) as (proxy, transport):
        for _ in range(50):
            assert (await transport.ping())["janus"] == "pong"
        assert proxy.connections == 1
        assert transport.open_connections == 1


async def test_pool_never_opens_more_than_max_connections(janus_server: JanusServer) -> None:
    async with proxied_transport(janus_server, max_connections=4) as (proxy, transport):
        replies = await asyncio.gather(*(transport.ping() for _ in range(200)))
        assert {reply["janus"] for reply in replies} == {"pong"}
        assert len({reply["transaction"] for reply in replies}) == 200
        assert proxy.connections == 4


async def test_streams_queued_for_a_connection_all_get_their_reply(
    janus_server: JanusServer,
) -> None:
    async with proxied_transport(janus_server, max_connections=2) as (proxy, transport):
        streams = await asyncio.gather(*(transport.send({"janus": "ping"}) for _ in range(40)))
        assert len({stream.id for stream in streams}) == 40
        for stream in streams:
            assert (await stream.get({"janus": "pong"}, 10))["janus"] == "pong"
            await stream.done()
        assert proxy.connections == 2
        assert transport.stats()["pending"] == 0


async def test_one_byte_segments_requests_and_long_poll(janus_server: JanusServer) -> None:
    proxy = await FaultProxy(janus_server.ports.http, chunk=1).start()
    try:
        async with JanusSession(base_url=proxy.url("http")) as session:
            plugin = EchoTest()
            await plugin.attach(session)
            # The ack comes in the POST's response, the event through the long poll.
            reply = await plugin.request({"audio": True})
            assert reply["plugindata"]["data"]["result"] == "ok"
            await plugin.destroy()
    finally:
        await proxy.close()


async def test_a_cut_fails_what_is_unsafe_to_resend_and_resends_the_rest(
    janus_server: JanusServer,
) -> None:
    async with proxied_transport(janus_server) as (proxy, transport):
        proxy.hold()  # Janus answers, the proxy keeps the answers
        creates = [
            asyncio.ensure_future(transport.request({"janus": "create"}, Expect.SUCCESS))
            for _ in range(5)
        ]
        pings = [asyncio.ensure_future(transport.ping()) for _ in range(5)]
        await asyncio.sleep(0.2)
        proxy.cut()
        proxy.release()
        results = await asyncio.wait_for(asyncio.gather(*creates, return_exceptions=True), 5)
        assert all(isinstance(r, ConnectionClosedError) for r in results), results
        assert "closed before the reply" in str(results[0])
        pongs = await asyncio.wait_for(asyncio.gather(*pings), 5)  # sent again, answered
        assert {pong["janus"] for pong in pongs} == {"pong"}
        assert proxy.connections > 10  # the pings went out again on new connections


async def test_a_stalled_request_times_out_and_its_connection_is_dropped(
    janus_server: JanusServer,
) -> None:
    async with proxied_transport(janus_server) as (proxy, transport):
        await transport.ping()
        proxy.freeze = True
        with pytest.raises(RequestTimeoutError):
            await transport.request({"janus": "ping"}, Expect.PONG, timeout=0.3)
        await eventually(lambda: transport.open_connections == 0)
        proxy.freeze = False
        assert (await transport.ping())["janus"] == "pong"
        assert proxy.connections == 2


async def test_idle_connections_expire_instead_of_being_reused(janus_server: JanusServer) -> None:
    async with proxied_transport(janus_server, http_idle_timeout=0.05) as (proxy, transport):
        await transport.ping()
        await transport.ping()
        assert proxy.connections == 1
        await asyncio.sleep(0.15)
        await transport.ping()
        assert proxy.connections == 2
        await eventually(lambda: transport.open_connections == 1)


async def test_connection_refused_is_one_clear_transport_error() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = JanusTransport.create_transport(f"http://127.0.0.1:{port}/janus")
    await transport.connect()
    try:
        with pytest.raises(TransportError, match=rf"Cannot connect to host 127\.0\.0\.1:{port} "):
            await transport.ping()
    finally:
        await transport.disconnect()


async def test_borrowers_queued_at_the_limit_fail_promptly_when_the_server_goes_away() -> None:
    """Every borrower queued for a connection learns the server is gone: a failed reconnect
    passes its turn on to the next one in the queue instead of leaving it waiting for good."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # never answers

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = JanusTransport.create_transport(
        f"http://127.0.0.1:{port}/janus", config={"max_connections": 1, "timeout": 60}
    )
    await transport.connect()
    try:
        pings = [asyncio.ensure_future(transport.ping()) for _ in range(4)]
        await eventually(lambda: bool(held))
        server.close()  # nothing listens on the port any more
        held[0].transport.abort()
        await server.wait_closed()  # 3.12.1+: waits for the held connection to close too
        results = await asyncio.wait_for(asyncio.gather(*pings, return_exceptions=True), 5)
        for result in results:
            assert isinstance(result, TransportError), repr(result)
            assert f"Cannot connect to host 127.0.0.1:{port} " in str(result)
        assert transport.open_connections == 0
    finally:
        await transport.disconnect()


async def test_disconnect_leaves_no_descriptor_open(janus_server: JanusServer) -> None:
    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def cycle() -> None:
        async with JanusSession(base_url=janus_server.http_url) as session:
            plugin = EchoTest()
            await plugin.attach(session)
            await asyncio.gather(*(plugin.request({"audio": True}) for _ in range(16)))
        await session.transport.disconnect()

    await cycle()  # warm-up: the loop's own descriptors
    before = descriptors()
    for _ in range(5):
        await cycle()
    assert descriptors() <= before


async def test_api_secret_never_appears_in_errors_or_logs(
    janus_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "very-secret-0123"
    janus: JanusServer = janus_factory(api_secret=secret)
    proxy = await FaultProxy(janus.ports.http).start()
    caplog.set_level(logging.DEBUG)
    try:
        session = JanusSession(base_url=proxy.url("http"), api_secret=secret, max_retries=0)
        await session.create()
        await asyncio.sleep(0.1)  # the long poll (secret in its query) is waiting in Janus
        proxy.refuse = True
        proxy.cut()
        errors: list[BaseException] = []
        try:
            await session.transport.ping()
        except TransportError as exc:
            errors.append(exc)
        assert errors, "a ping through a refusing proxy must fail"
        await eventually(lambda: session.transport.stats()["long_polls"] == 0)
        texts = [str(e) for e in errors] + [r.getMessage() for r in caplog.records]
        texts += [repr(session.transport), repr(session)]
        assert not [t for t in texts if secret in t]
        await session.transport.disconnect()
    finally:
        await proxy.close()


# -- a scripted fake server, for what a real Janus cannot be made to do ----------------------------

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


async def read_request_with_target(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    """The next request's target (path and query) and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    return head.split(b" ", 2)[1].decode(), body


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return (await read_request_with_target(reader))[1]


def pong_for(body: bytes) -> bytes:
    import orjson

    transaction = orjson.loads(body)["transaction"]
    return orjson.dumps({"janus": "pong", "transaction": transaction})


def response(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n".encode()
    return head + extra + b"\r\n" + body


@contextlib.asynccontextmanager
async def fake_janus_http(script: Script, **options: Any) -> AsyncIterator[tuple[Any, list[int]]]:
    """An HTTP transport (``options``) connected to a fake server that runs
    ``script(reader, writer, connection_number)`` per accepted connection; yields the transport
    and the list of accepted connection numbers."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(len(accepted))
        try:
            await script(reader, writer, accepted[-1])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = JanusTransport.create_transport(f"http://127.0.0.1:{port}/janus", config=options)
    await transport.connect()
    try:
        yield transport, accepted
    finally:
        await transport.disconnect()
        server.close()


async def test_malformed_replies_fail_their_request_with_a_typed_error() -> None:
    replies = [
        b"SSH-2.0-OpenSSH_9.2\r\n\r\n",  # not HTTP: the connection is dropped
        response(b"x" * 100),  # larger than max_message_size: dropped
        response(b"<html>proxy error</html>", "502 Bad Gateway"),  # framed: kept
        response(b"not json"),  # framed: kept
    ]

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            body = await read_request(reader)
            writer.write(replies.pop(0) if replies else response(pong_for(body)))
            await writer.drain()

    async with fake_janus_http(script, max_message_size=64) as (transport, accepted):
        with pytest.raises(ProtocolError, match="malformed HTTP status line"):
            await transport.ping()
        with pytest.raises(ProtocolError, match="exceeds the maximum of 64"):
            await transport.ping()
        with pytest.raises(ConnectionClosedError, match="HTTP 502"):
            await transport.ping()
        with pytest.raises(ProtocolError):
            await transport.ping()
        assert (await transport.ping())["janus"] == "pong"
        assert len(accepted) == 3


async def test_bytes_after_a_reply_close_the_connection_but_the_reply_counts() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            body = await read_request(reader)
            writer.write(response(pong_for(body)) + (b"HTTP/1.1 200 OK\r\n" if n == 0 else b""))
            await writer.drain()

    async with fake_janus_http(script) as (transport, accepted):
        assert (await transport.ping())["janus"] == "pong"
        assert (await transport.ping())["janus"] == "pong"
        assert (await transport.ping())["janus"] == "pong"
        assert len(accepted) == 2  # the first connection was dropped, the second reused


async def test_a_reply_cut_short_is_a_closed_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        body = await read_request(reader)
        reply = response(pong_for(body) if b'"ping"' in body else b'{"janus":"success"}')
        if n < 2:
            writer.write(reply[:-5])
            await writer.drain()
            return  # closes mid-body
        writer.write(reply)
        await writer.drain()
        await reader.read()

    async with fake_janus_http(script) as (transport, accepted):
        with pytest.raises(ConnectionClosedError, match="in the middle of the reply"):
            await transport.request({"janus": "create"}, Expect.SUCCESS)
        # A ping cut short the same way is sent again on a new connection.
        assert (await transport.ping())["janus"] == "pong"
        assert len(accepted) == 3


async def test_reused_connection_closed_unanswered_resends_only_what_is_safe() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        # Each connection answers its first request, then closes on the second one unanswered
        # (a keep-alive timeout racing the client's reuse).
        body = await read_request(reader)
        writer.write(response(pong_for(body)))
        await writer.drain()
        await read_request(reader)

    async with fake_janus_http(script) as (transport, accepted):
        assert (await transport.ping())["janus"] == "pong"
        # A ping is safe to resend: it goes again on a new connection and succeeds.
        assert (await transport.ping())["janus"] == "pong"
        assert len(accepted) == 2
        # A create is not: its caller learns the connection closed.
        with pytest.raises(ConnectionClosedError, match="closed before the reply"):
            await transport.request({"janus": "create"}, Expect.SUCCESS)


ENDINGS = {  # how the session or handle ends → what the waiting request fails with
    "lost": (SessionLostError, "HTTP 404"),
    "destroyed": (SessionLostError, "session 11 was destroyed"),
    "detached": (InvalidStateError, "handle 22 was detached"),
}


@pytest.mark.parametrize("ending", ENDINGS)
async def test_a_request_acked_before_its_handle_ends_fails_with_it(ending: str) -> None:
    """Janus acked a plugin message (its event would come on the long poll), then its session
    or handle ends — the poll learns Janus lost the session, the user destroys it, or detaches
    the handle: the request fails at once, not at its deadline. (A fake server: a real one
    cannot be made to hold back exactly that event.)"""
    import orjson

    acked = asyncio.Event()

    def reply(body: bytes, **fields: Any) -> bytes:
        transaction = orjson.loads(body)["transaction"]
        return response(orjson.dumps({"transaction": transaction, **fields}))

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            target, body = await read_request_with_target(reader)
            if target.startswith("/janus/11?"):  # the long poll
                await acked.wait()
                if ending != "lost":
                    await asyncio.Event().wait()  # no events: held until the client goes
                writer.write(response(b'{"janus":"error"}', "404 Not Found"))
            elif target == "/janus":
                writer.write(reply(body, janus="success", data={"id": 11}))
            elif target == "/janus/11" or b'"detach"' in body:  # attach, destroy, detach
                writer.write(reply(body, janus="success", session_id=11, data={"id": 22}))
            else:
                writer.write(reply(body, janus="ack", session_id=11))
                acked.set()
            await writer.drain()

    async with fake_janus_http(script) as (transport, _):
        session = JanusSession(transport=transport, max_retries=0)
        await session.create()
        plugin = EchoTest()
        await plugin.attach(session)
        request = asyncio.ensure_future(plugin.request({"audio": True}, timeout=30))
        await acked.wait()
        if ending == "destroyed":
            await session.destroy()
        elif ending == "detached":
            await plugin.destroy()
        error, text = ENDINGS[ending]
        with pytest.raises(error, match=text):
            await asyncio.wait_for(request, 5)
        assert transport.stats()["pending"] == 0


def test_reader_on_janus_own_bytes_one_at_a_time(janus_server: JanusServer) -> None:
    """Janus 1.1.2 (libmicrohttpd) answers with ``Transfer-Encoding: chunked`` and keeps the
    connection alive; the Rust reader takes its exact bytes in any split."""
    import socket

    import orjson

    from janus_fast._core import HttpRequestWriter, HttpResponseReader

    port = janus_server.ports.http
    writer = HttpRequestWriter(f"127.0.0.1:{port}")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for transaction in ("first", "second"):  # two requests on one connection
            sock.sendall(
                writer.post("/janus", orjson.dumps({"janus": "ping", "transaction": transaction}))
            )
            raw = b""
            while not raw.endswith(b"\r\n0\r\n\r\n"):
                chunk = sock.recv(65536)
                assert chunk, "Janus closed the connection"
                raw += chunk
            assert b"\r\nTransfer-Encoding: chunked\r\n" in raw
            reader = HttpResponseReader()
            results = [reader.receive_data(raw[i : i + 1]) for i in range(len(raw))]
            complete = [r for r in results if r is not None]
            assert len(complete) == 1 and results[-1] is not None
            status, body, keep_alive = complete[0]
            assert (status, keep_alive) == (200, True)
            assert orjson.loads(body) == {"janus": "pong", "transaction": transaction}
            assert reader.idle


async def test_ipv6_literal_url_and_host_header() -> None:
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(head)
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                writer.write(response(pong_for(await reader.readexactly(length))))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    try:
        server = await asyncio.start_server(handle, "::1", 0)
    except OSError as exc:  # pragma: no cover - a host without IPv6 loopback
        pytest.fail(f"no IPv6 loopback on this machine: {exc}")
    port = server.sockets[0].getsockname()[1]
    transport = JanusTransport.create_transport(
        f"http://[::1]:{port}/janus", config={"headers": {"X-Trace": "t1"}}
    )
    await transport.connect()
    try:
        assert (await transport.ping())["janus"] == "pong"
        assert heads[0].startswith(b"POST /janus HTTP/1.1\r\n")
        assert f"\r\nHost: [::1]:{port}\r\n".encode() in heads[0]
        assert b"\r\nX-Trace: t1\r\n" in heads[0]
        assert b"\r\nContent-Type: application/json\r\n" in heads[0]
    finally:
        await transport.disconnect()
        server.close()


def test_headers_that_could_break_framing_are_refused_at_construction() -> None:
    for headers in ({"Content-Length": "1"}, {"X-A": "1\r\nX-B: 2"}, {"Bad Name": "x"}):
        with pytest.raises(ValueError):
            JanusTransport.create_transport(
                "http://127.0.0.1:8088/janus", config={"headers": headers}
            )


async def _session_under_load(janus: JanusServer, max_retries: int) -> Any:
    """A session with an echotest handle over HTTP, 100 plugin requests and 100 pings in flight."""
    from janus_fast import EventType

    session = JanusSession(
        base_url=janus.http_url, retry_delay=0.05, retry_delay_max=0.2, max_retries=max_retries
    )
    lost: list[Any] = []
    session.on(EventType.LOST, lost.append)
    await session.create()
    plugin = EchoTest()
    await plugin.attach(session)
    load = [asyncio.ensure_future(plugin.request({"audio": True})) for _ in range(100)]
    pings = [asyncio.ensure_future(session.transport.ping()) for _ in range(100)]
    await asyncio.sleep(0)  # let them start
    return session, plugin, lost, [*load, *pings]


async def _settled_cleanly(requests: list[Any]) -> None:
    """Every request answered before the kill or failed with a clear transport error (a lost
    session included), well before the 30 s request deadline."""
    results = await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), 10)
    for result in results:
        assert isinstance(result, dict | TransportError), repr(result)


async def test_janus_killed_and_restarted_over_http(janus_factory: Any) -> None:
    """In-flight requests fail cleanly (pings are resent), the long poll reports the session
    lost once the restarted Janus answers 404, requests acked before the kill (their events
    would have come on the poll) fail with the session, and the same transport works again."""
    import signal

    janus: JanusServer = janus_factory()
    session, plugin, lost, requests = await _session_under_load(janus, max_retries=50)
    transport = session.transport
    janus.kill(signal.SIGKILL)
    janus.restart()
    await _settled_cleanly(requests)
    await eventually(lambda: bool(lost), limit=10)
    assert "404" in lost[0].reason
    with pytest.raises(SessionLostError):
        await session.send({"janus": "keepalive"})
    assert plugin.id is None  # its handles went with the session
    assert (await transport.ping())["janus"] == "pong"
    assert transport.stats()["pending"] == 0
    await transport.disconnect()


async def test_janus_down_for_good_loses_the_session_and_its_acked_requests(
    janus_factory: Any,
) -> None:
    """Janus killed and not restarted: once the long poll gives up, the session is lost and the
    requests waiting in it for an event fail with it instead of waiting for their deadline."""
    import signal

    janus: JanusServer = janus_factory()
    session, _, lost, requests = await _session_under_load(janus, max_retries=5)
    transport = session.transport
    janus.kill(signal.SIGKILL)
    await _settled_cleanly(requests)
    await eventually(lambda: bool(lost), limit=10)
    assert "long poll failed 6 times" in lost[0].reason
    assert transport.stats()["pending"] == 0
    janus.restart()
    assert (await transport.ping())["janus"] == "pong"
    await transport.disconnect()


# -- long polls answered at once with nothing, send() deadlines, the connection budget -------------


def created(body: bytes, session_id: int = 11) -> bytes:
    import orjson

    transaction = orjson.loads(body)["transaction"]
    return response(
        orjson.dumps({"janus": "success", "transaction": transaction, "data": {"id": session_id}})
    )


@pytest.mark.parametrize("answer", [b"", b"[]", b"<html>hi</html>"], ids=["empty", "array", "html"])
async def test_a_long_poll_answered_at_once_with_nothing_backs_off(
    answer: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    polls = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        nonlocal polls
        while True:
            target, body = await read_request_with_target(reader)
            if target.startswith("/janus/11?"):
                polls += 1
                writer.write(response(answer))
            elif target == "/janus":
                writer.write(created(body))
            else:
                writer.write(response(b"", "404 Not Found"))
            await writer.drain()

    options = {"retry_delay": 0.05, "retry_delay_max": 1.0, "max_retries": 0}
    with caplog.at_level(logging.DEBUG, logger="janus_fast"):
        async with fake_janus_http(script, **options) as (transport, _):
            session = JanusSession(transport=transport, keepalive_interval=None)
            await session.create()
            await asyncio.sleep(1.0)
            # Backoff from 0.05 s doubling (with jitter): a handful of polls, not thousands.
            assert 3 <= polls <= 12, polls
            assert transport.stats()["empty_polls"] == polls
            assert session.created  # nothing was lost: Janus may still deliver on a later poll
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([w for w in warnings if "long poll" in w]) == 1, warnings
    assert len(warnings) <= 2, warnings  # and, for the HTML, one about a malformed message


async def test_a_send_transaction_post_has_a_deadline_and_done_releases_its_connection() -> None:
    """janus-client's ``send()``: a POST whose reply never comes must not pin a pooled
    connection: ``done()`` drops it at once, and without ``done()`` the request timeout does."""
    held: list[asyncio.StreamWriter] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            body = await read_request(reader)
            if b'"ping"' in body:
                writer.write(response(pong_for(body)))
                await writer.drain()
            else:
                held.append(writer)  # never answered
                await reader.read()
                return

    async with fake_janus_http(script, max_connections=1, timeout=0.5) as (transport, _):
        stream = await transport.send({"janus": "message", "body": {}})
        await eventually(lambda: len(held) == 1)
        await stream.done()
        assert (await asyncio.wait_for(transport.ping(), 2))["janus"] == "pong"
        stream = await transport.send({"janus": "message", "body": {}})  # no done()
        await eventually(lambda: len(held) == 2)
        # Past the POST's 0.5 s deadline its connection must be free again: the ping then gets
        # a whole deadline of its own (racing both 0.5 s deadlines was flaky on a busy machine).
        await asyncio.sleep(0.6)
        assert (await asyncio.wait_for(transport.ping(), 2))["janus"] == "pong"
        with pytest.raises(RequestTimeoutError):
            await stream.get()
        assert transport.stats()["pending"] == 0


async def test_a_request_timing_out_in_the_pool_queue_leaves_no_unretrieved_exception() -> None:
    started = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        started.set()
        await reader.read()  # holds the only connection

    loop = asyncio.get_running_loop()
    contexts: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: contexts.append(context))
    try:
        async with fake_janus_http(script, max_connections=1, timeout=30) as (transport, _):
            first = asyncio.ensure_future(transport.send_request({"janus": "create"}, 0))
            await started.wait()
            for _ in range(5):
                with pytest.raises(RequestTimeoutError):
                    await transport.send_request({"janus": "create"}, 0, timeout=0.05)
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert not contexts, [c.get("message") for c in contexts]


async def test_long_polls_and_requests_share_max_connections(janus_server: JanusServer) -> None:
    """4 connections: one kept for requests, so 3 sessions (a long poll each); a 4th fails at
    once with ConnectionLimitError, and requests never take the total over 4."""
    transport = JanusTransport.create_transport(
        janus_server.http_url, config={"max_connections": 4}
    )
    await transport.connect()
    sessions = [JanusSession(transport=transport, keepalive_interval=None) for _ in range(4)]
    try:
        for session in sessions[:3]:
            await session.create()
        started = asyncio.get_running_loop().time()
        with pytest.raises(ConnectionLimitError, match="max_connections=4"):
            await sessions[3].create()
        assert asyncio.get_running_loop().time() - started < 0.1  # at once, nothing sent
        assert not sessions[3].created
        most = 0

        async def ping() -> None:
            nonlocal most
            await transport.ping()
            most = max(most, transport.open_connections)

        await asyncio.gather(*(ping() for _ in range(40)))
        assert most <= 4, most
        assert transport.stats()["long_polls"] == 3
        await sessions[0].destroy()
        await sessions[3].create()  # its long poll's room is free again
    finally:
        for session in sessions:
            if session.created:
                await session.destroy()
        await transport.disconnect()


@pytest.mark.parametrize("value", [b'"\\ud800"', b"1e400", b"[" * 1024 + b"]" * 1024])
async def test_a_reply_orjson_cannot_decode_is_a_protocol_error(value: bytes) -> None:
    """Valid JSON syntax that orjson (``Message.json()``) rejects fails the request with
    ProtocolError at once — before, the ping completed and raised orjson.JSONDecodeError."""
    import orjson

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            body = await read_request(reader)
            transaction = orjson.loads(body)["transaction"].encode()
            writer.write(
                response(b'{"janus":"pong","transaction":"%s","x":%s}' % (transaction, value))
            )
            await writer.drain()

    async with fake_janus_http(script) as (transport, _):
        with pytest.raises(ProtocolError, match="malformed JSON"):
            await asyncio.wait_for(transport.ping(), 5)
        assert transport.stats_malformed == 1


async def test_a_long_poll_failing_unexpectedly_reports_its_session_lost(
    janus_server: JanusServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The poll's bug comes from the dispatch of what it read: a handle whose ``deliver`` (the
    dispatch path's public seam, which a subclass may override) raises on its first event."""
    transport = JanusTransport.create_transport(janus_server.http_url)
    session = JanusSession(transport=transport, keepalive_interval=60)
    try:
        with caplog.at_level(logging.ERROR, logger="janus_fast.transport.http"):
            await session.create()
            echo = BrokenEchoTest()
            await echo.attach(session)
            # Complete on the POST's ack: the EchoTest's event comes on the long poll (and may
            # beat the ack, whose request then fails with the lost session).
            with contextlib.suppress(SessionLostError):
                await session.request(
                    {"janus": "message", "body": {"audio": True}}, Expect.ACK, echo.id
                )
            for _ in range(200):
                if not session.created:
                    break
                await asyncio.sleep(0.01)
        assert not session.created
        assert isinstance(session.lost_error, TransportError)
        assert "RuntimeError: a bug in the poll path" in str(session.lost_error)
        assert "long poll of session" in caplog.text
        assert transport.stats()["long_polls"] == 0
    finally:
        await transport.disconnect()


async def test_lowering_the_pool_limit_closes_idle_connections_over_it_at_once() -> None:
    """Each new long poll lowers the request pool's limit (``max_connections`` minus the polls).
    Idle request connections over the new limit must close at once: before, they stayed open
    until idle expiry (4 s) next to the polls, so a burst of creates answered together took the
    transport over its budget (575 connections for 512 in a loaded CI run). The pool on its own
    (what the transport's long polls do to it: ``set_limit``), on a server that only counts."""
    server_open = 0

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal server_open
        server_open += 1
        try:
            await reader.read()
        finally:
            server_open -= 1
            writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    pool = HTTPConnectionPool(
        loop,
        "127.0.0.1",
        port,
        ssl=None,
        limit=8,
        connect_timeout=2,
        max_body_size=1024,
        idle_expiry=4.0,
    )
    try:
        borrowed = [await pool.acquire() for _ in range(6)]
        for connection in borrowed:
            pool.release(connection)
        await eventually(lambda: server_open == 6)
        assert len(pool) == 6  # all idle now, the limit is still 8
        pool.set_limit(2)  # what 6 new long polls do to max_connections=8
        await eventually(lambda: len(pool) <= 2 and server_open <= 2, limit=1.0)
        again = [await asyncio.wait_for(pool.acquire(), 2) for _ in range(2)]
        assert len(pool) == 2 and server_open == 2  # the 2 left are reused, none opened
        for connection in again:
            pool.release(connection)
    finally:
        await pool.close(2)
        server.close()
        await server.wait_closed()


async def test_requests_busy_when_long_polls_open_stay_within_max_connections() -> None:
    """7 sessions created at once with ``max_connections=8`` (7 polls, 1 kept for requests):
    each session's ``info`` after its create is slow to answer. A session's poll room is taken
    when it is admitted, so the request pool never holds connections the polls will need —
    before, creates answered together left request connections busy with ``info`` while the
    polls opened: 11 connections at once for a budget of 8."""
    budget, wanted = 8, 7
    creates: list[tuple[asyncio.StreamWriter, bytes]] = []
    accepted_ids: list[int] = []
    server_open = most = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        nonlocal server_open, most
        server_open += 1
        most = max(most, server_open)
        try:
            while True:
                target, body = await read_request_with_target(reader)
                if target == "/janus":  # creates: answered together (or after 0.1 s)
                    creates.append((writer, body))
                    if len(creates) < wanted:
                        await asyncio.sleep(0.1)
                    for each, create_body in creates:
                        each.write(created(create_body, 100 + len(accepted_ids)))
                        accepted_ids.append(len(accepted_ids))
                    creates.clear()
                elif "?" in target:  # a long poll: held
                    await reader.read()
                    return
                else:  # /info: answered late (404: no cached info, each session asks)
                    await asyncio.sleep(0.05)
                    writer.write(response(b"", "404 Not Found"))
                await writer.drain()
        finally:
            server_open -= 1

    async with fake_janus_http(script, max_connections=budget, timeout=5) as (transport, _):
        sessions = [
            JanusSession(transport=transport, keepalive_interval=None) for _ in range(wanted)
        ]
        await asyncio.wait_for(asyncio.gather(*(s.create() for s in sessions)), 5)
        await eventually(lambda: transport.stats()["long_polls"] == wanted)
        await asyncio.sleep(0.2)  # every info answered
    assert most <= budget, most
