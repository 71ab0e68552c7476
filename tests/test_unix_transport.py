"""The Unix-socket transport (Janus's pfunix) against a real Janus, SOCK_SEQPACKET and SOCK_DGRAM.

Every async test runs on asyncio and uvloop (conftest) and, through ``unix_janus``, in both socket
modes: session lifecycle, plugin requests native and janus-client style, events, ping/info,
concurrency, the Admin API over the admin socket, the request size limit, the DGRAM client's own
socket, a restarted Janus (reconnection) and a stopped one (typed give-up).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from janus_fast import (
    ConnectionClosedError,
    Expect,
    InvalidURLError,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    QueueFullError,
    RequestTimeoutError,
    SessionLostError,
    TransportError,
)
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import InvalidMessageError, InvalidOptionError, JanusError
from janus_fast.events import ConnectionEvent
from janus_fast.testing import JanusServer
from janus_fast.testing.config import JanusConfig
from janus_fast.transports.unix import MAX_REQUEST_SIZE, JanusTransportUnix, parse_unix_url

MODES = ("SOCK_SEQPACKET", "SOCK_DGRAM")


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.received.append(response)
        self.arrived.set()


@pytest.fixture(scope="module", params=MODES)
def unix_janus(request: pytest.FixtureRequest) -> Iterator[JanusServer]:
    """One real Janus per socket mode with pfunix on (both APIs), shared by this module."""
    with JanusServer(JanusConfig(unix_socket=request.param)) as server:
        yield server


async def eventually(check: Callable[[], bool], limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not check():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


# -- URLs and options (no Janus needed) -----------------------------------------------------------
def test_urls_choose_the_socket_type() -> None:
    assert parse_unix_url("unix:///run/janus/api.sock") == (
        socket.SOCK_SEQPACKET,
        "/run/janus/api.sock",
    )
    assert parse_unix_url("unix+seqpacket:///a/b") == (socket.SOCK_SEQPACKET, "/a/b")
    assert parse_unix_url("unix+dgram:///a/b%20c") == (socket.SOCK_DGRAM, "/a/b c")
    transport = JanusTransport.create_transport("unix+dgram:///run/janus/x.sock")
    assert isinstance(transport, JanusTransportUnix)
    assert transport.socket_type == "SOCK_DGRAM" and transport.path == "/run/janus/x.sock"


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("unix://janus.example/x.sock", "names a host"),
        ("unix:///x.sock?token=abc", "no query"),
        ("unix://", "no socket path"),
        ("unix:///" + "d" * 200, "longer than 107"),
        ("unix://user:pw@/x.sock", "names a host"),
    ],
)
def test_bad_urls_are_typed_errors_without_secrets(url: str, match: str) -> None:
    with pytest.raises(InvalidURLError, match=match) as caught:
        JanusTransport.create_transport(url)
    assert "abc" not in str(caught.value) and "pw" not in str(caught.value)


def test_options_that_do_not_apply_are_refused() -> None:
    with pytest.raises(InvalidOptionError, match="no TLS"):
        JanusTransportUnix("unix:///x.sock", ssl=True)
    with pytest.raises(InvalidOptionError, match="unix\\+dgram"):
        JanusTransportUnix("unix:///x.sock", client_path="/run/janus/c.sock")


def test_repr_shows_no_credentials() -> None:
    transport = JanusTransportUnix("unix:///x.sock", api_secret="s3cret", token="t0ken")
    assert "s3cret" not in repr(transport) and "t0ken" not in repr(transport)
    assert repr(transport) == "<JanusTransportUnix unix:///x.sock disconnected sessions=0>"


# -- the Janus API --------------------------------------------------------------------------------
async def test_session_plugin_native_and_compat_requests_and_events(
    unix_janus: JanusServer,
) -> None:
    session = JanusSession(base_url=unix_janus.unix_url)
    assert isinstance(session.transport, JanusTransportUnix)
    async with session:
        await session.create()
        assert session.id is not None
        echo = EchoTest()
        await echo.attach(session)
        assert echo.id is not None
        # native: one call, one completed reply (ack then event, by the core's rule)
        reply = await echo.request({"audio": True})
        assert reply["plugindata"]["data"]["result"] == "ok"
        # janus-client style: send, get, done; what get did not take goes to on_receive
        transaction = await echo.send({"janus": "message", "body": {"video": True}})
        ack = await transaction.get({"janus": "ack"}, timeout=5)
        assert ack["janus"] == "ack"
        await transaction.done()
        await asyncio.wait_for(echo.arrived.wait(), 5)
        event = echo.received[0]
        assert event["janus"] == "event" and event["plugindata"]["data"]["result"] == "ok"
        assert event["sender"] == echo.id
        await echo.destroy()
    assert session.transport.stats()["pending"] == 0
    assert session.transport.stats()["open_connections"] == 0


async def test_ping_info_and_100_concurrent_pings(unix_janus: JanusServer) -> None:
    transport = JanusTransport.create_transport(unix_janus.unix_url)
    await transport.connect()
    try:
        info = await transport.info()
        assert info["janus"] == "server_info"
        assert "janus.transport.pfunix" in info["transports"]
        replies = await asyncio.gather(*(transport.ping() for _ in range(100)))
        assert {reply["janus"] for reply in replies} == {"pong"}
        assert len({reply["transaction"] for reply in replies}) == 100
        stats = transport.stats()
        assert stats["pending"] == 0 and stats["queued_writes"] == 0 and stats["malformed"] == 0
    finally:
        await transport.disconnect()


async def test_a_request_over_the_limit_is_refused_and_one_under_it_goes(
    unix_janus: JanusServer,
) -> None:
    transport = JanusTransport.create_transport(unix_janus.unix_url, config={"timeout": 5})
    await transport.connect()
    try:
        # Janus ignores unknown fields of a ping: an 8000-byte request is answered whole.
        big = await transport.request({"janus": "ping", "pad": "x" * 8000}, Expect.PONG)
        assert big.janus == "pong"
        with pytest.raises(InvalidMessageError, match=f"{MAX_REQUEST_SIZE} bytes at most"):
            await transport.request({"janus": "ping", "pad": "x" * MAX_REQUEST_SIZE}, Expect.PONG)
        assert transport.stats()["pending"] == 0  # refused before sending, nothing left behind
        assert (await transport.ping())["janus"] == "pong"  # the connection is still good
    finally:
        await transport.disconnect()


async def test_wrong_socket_type_is_a_typed_error_with_the_fix(unix_janus: JanusServer) -> None:
    kind, path = parse_unix_url(unix_janus.unix_url)
    other = "unix+dgram" if kind == socket.SOCK_SEQPACKET else "unix+seqpacket"
    transport = JanusTransport.create_transport(f"{other}://{path}", config={"connect_timeout": 2})
    with pytest.raises(TransportError, match="is not SOCK_"):
        await transport.connect()
    assert not transport.connected


async def test_missing_socket_is_a_typed_error(tmp_path: Path) -> None:
    transport = JanusTransport.create_transport(f"unix://{tmp_path}/none.sock")
    with pytest.raises(TransportError, match="cannot connect"):
        await transport.connect()


# -- the Admin API over the admin socket -----------------------------------------------------------
async def test_admin_api_over_the_admin_socket(unix_janus: JanusServer) -> None:
    async with JanusSession(base_url=unix_janus.unix_url) as session:
        await session.create()
        assert session.id is not None
        async with JanusAdminMonitorClient(
            unix_janus.unix_admin_url, unix_janus.admin_secret
        ) as admin:
            assert isinstance(admin.transport, JanusTransportUnix)
            session_id = session.id
            assert session_id in await admin.list_sessions()
            assert (await admin.ping())["janus"] == "pong"
        await session.destroy()
        async with JanusAdminMonitorClient(
            unix_janus.unix_admin_url, unix_janus.admin_secret
        ) as admin:
            assert session_id not in await admin.list_sessions()  # destroyed over the socket
        async with JanusAdminMonitorClient(unix_janus.unix_admin_url, "bad-s3cr3t") as intruder:
            with pytest.raises(JanusError) as caught:
                await intruder.list_sessions()
            assert caught.value.code == 403 and "bad-s3cr3t" not in str(caught.value)


# -- the DGRAM client's own socket -----------------------------------------------------------------
async def test_dgram_client_socket_is_private_and_removed_on_disconnect(
    unix_janus: JanusServer,
) -> None:
    if unix_janus.config.unix_socket != "SOCK_DGRAM":
        transport = JanusTransport.create_transport(unix_janus.unix_url)
        await transport.connect()
        assert isinstance(transport, JanusTransportUnix) and transport.client_path is None
        await transport.disconnect()
        return
    transport = JanusTransport.create_transport(unix_janus.unix_url)
    assert isinstance(transport, JanusTransportUnix)
    await transport.connect()
    path = transport.client_path
    assert path is not None and stat.S_ISSOCK(os.stat(path).st_mode)
    folder = os.path.dirname(path)
    assert (await transport.ping())["janus"] == "pong"
    # Connected to Janus's socket: another sender is refused by the kernel.
    stranger = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with pytest.raises(OSError):
        stranger.sendto(b'{"janus":"pong"}', path)
    stranger.close()
    await transport.disconnect()
    assert not Path(path).exists() and not Path(folder).exists()  # noqa: ASYNC240
    assert transport.client_path is None


async def test_dgram_client_path_option_reclaims_a_stale_socket(
    unix_janus: JanusServer, tmp_path: Path
) -> None:
    if unix_janus.config.unix_socket != "SOCK_DGRAM":
        with pytest.raises(InvalidOptionError):
            JanusTransport.create_transport(
                unix_janus.unix_url, config={"client_path": str(tmp_path / "c.sock")}
            )
        return
    client = tmp_path / "c.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(client))
    stale.close()  # a socket file nobody serves, as a killed process leaves it
    transport = JanusTransport.create_transport(
        unix_janus.unix_url, config={"client_path": str(client)}
    )
    await transport.connect()
    assert (await transport.ping())["janus"] == "pong"
    other = JanusTransport.create_transport(
        unix_janus.unix_url, config={"client_path": str(client)}
    )
    with pytest.raises(TransportError, match="in use"):
        await other.connect()
    await transport.disconnect()
    assert not client.exists()


# -- a restarted or stopped Janus ---------------------------------------------------------------
@pytest.fixture(params=MODES)
def unix_mode(request: pytest.FixtureRequest) -> str:
    mode: str = request.param
    return mode


_FAST_RECOVERY: dict[str, Any] = {
    "retry_delay": 0.1,
    "retry_delay_max": 0.4,
    "ping_interval": 0.3,
    "ping_timeout": 2.0,
    "connect_timeout": 2.0,
    "timeout": 10.0,
}


async def test_restarted_janus_reconnects_and_reports_the_session_lost(
    janus_factory: Callable[..., JanusServer], unix_mode: str
) -> None:
    janus = janus_factory(unix_socket=unix_mode)
    # The waiting ping's deadline must outlast a restart plus one lost recovery attempt (a
    # request Janus takes while still starting can go unanswered until recovery retries).
    options = {**_FAST_RECOVERY, "timeout": 30.0}
    session = JanusSession(base_url=janus.unix_url, max_retries=120, **options)
    transport = session.transport
    events: list[ConnectionEvent] = []
    transport.on_connection_event(events.append)
    await session.create()
    old_id = session.id
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, janus.kill, signal.SIGTERM)
        # SEQPACKET reads the end of the socket; DGRAM's next liveness ping is refused.
        await eventually(lambda: any(e.kind == "disconnected" for e in events))
        assert isinstance(transport, JanusTransportUnix) and transport.reconnecting
        waiting = asyncio.ensure_future(transport.ping())  # waits in the outage queue
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await loop.run_in_executor(None, janus.start)
        assert (await asyncio.wait_for(waiting, 40))["janus"] == "pong"
        await eventually(lambda: any(e.kind == "reconnected" for e in events), 40)
        kinds = [e.kind for e in events]
        assert kinds[0] == "disconnected" and "reconnecting" in kinds and "given_up" not in kinds
        # Janus restarted: it no longer knows the session (claim refused), which is reported.
        await eventually(lambda: transport.session_count == 0)
        with pytest.raises(SessionLostError):
            await session.send({"janus": "keepalive"})
        async with JanusSession(transport=transport) as fresh:
            await fresh.create()
            assert fresh.id is not None and fresh.id != old_id
    finally:
        await transport.disconnect()


async def test_removed_socket_path_is_a_typed_error_until_janus_binds_it_again(
    janus_factory: Callable[..., JanusServer], unix_mode: str
) -> None:
    """The socket's path disappears while Janus runs (removed by hand or by a cleaner), then
    Janus restarts and binds it again: the open connection outlives the path, a new one is a
    typed error naming the cause, recovery retries through the gap (each failed attempt that
    same error) and, with ``reconnect_policy="recreate"`` as over WebSocket, the session comes
    back under its id and its handle is attached again."""
    janus = janus_factory(unix_socket=unix_mode)
    path = Path(parse_unix_url(janus.unix_url)[1])
    session = JanusSession(
        base_url=janus.unix_url, reconnect_policy="recreate", max_retries=120, **_FAST_RECOVERY
    )
    transport = session.transport
    assert isinstance(transport, JanusTransportUnix)
    events: list[ConnectionEvent] = []
    transport.on_connection_event(events.append)
    loop = asyncio.get_running_loop()
    try:
        await session.create()
        echo = EchoTest()
        await echo.attach(session)
        session_id, handle_id = session.id, echo.id
        path.unlink()  # noqa: ASYNC240
        assert (await transport.ping())["janus"] == "pong"  # bound to the socket, not the name
        other = JanusTransport.create_transport(janus.unix_url, config={"connect_timeout": 2})
        with pytest.raises(TransportError, match="no socket at that path"):
            await other.connect()
        assert not other.connected
        await loop.run_in_executor(None, janus.kill, signal.SIGTERM)
        await eventually(lambda: any(e.kind == "disconnected" for e in events))
        # Down, nothing at the path: attempts fail with the typed error and are retried.
        await eventually(lambda: sum(e.kind == "reconnecting" for e in events) >= 3)
        errors = [e.error for e in events if e.kind == "reconnecting" and e.attempt > 1]
        assert errors and all(isinstance(e, TransportError) for e in errors)
        assert "no socket at that path" in str(errors[-1])
        with pytest.raises(RequestTimeoutError):  # a deadline shorter than the outage
            await transport.send_request({"janus": "ping"}, Expect.PONG, timeout=0.3)
        assert not path.exists() and not any(e.kind == "given_up" for e in events)  # noqa: ASYNC240
        await loop.run_in_executor(None, janus.start)
        await eventually(lambda: any(e.kind == "reconnected" for e in events), 40)
        assert session.created and session.id == session_id  # re-created under its id
        assert echo.id in session.plugin_handles and echo.id != handle_id  # re-attached
        reply = await echo.request({"audio": True})
        assert reply["sender"] == echo.id and reply["plugindata"]["data"]["result"] == "ok"
    finally:
        await transport.disconnect()


async def test_stopped_janus_gives_up_with_a_typed_error(
    janus_factory: Callable[..., JanusServer], unix_mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "janus_fast")
    janus = janus_factory(unix_socket=unix_mode, api_secret="not-in-logs")
    session = JanusSession(
        base_url=janus.unix_url, api_secret="not-in-logs", max_retries=2, **_FAST_RECOVERY
    )
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    await session.create()
    assert isinstance(session.transport, JanusTransportUnix)
    client = session.transport.client_path
    assert (client is None) == (unix_mode == "SOCK_SEQPACKET")
    await asyncio.get_running_loop().run_in_executor(None, janus.stop)
    await eventually(lambda: any(e.kind == "given_up" for e in events), 20)
    given_up = next(e for e in events if e.kind == "given_up")
    assert isinstance(given_up.error, TransportError)
    assert not session.transport.connected
    with pytest.raises(ConnectionClosedError, match="lost for good"):
        await session.transport.ping()
    assert session.transport.session_count == 0
    assert "not-in-logs" not in caplog.text
    assert session.transport.client_path is None  # a DGRAM client's socket is removed
    if client is not None:
        assert not Path(client).exists() and not Path(client).parent.exists()  # noqa: ASYNC240
    await session.transport.disconnect()


async def test_a_session_timeout_closes_a_seqpacket_socket_and_the_others_are_claimed(
    janus_factory: Callable[..., JanusServer],
) -> None:
    """pfunix closes a SOCK_SEQPACKET client's socket when one of its sessions times out."""
    janus = janus_factory(unix_socket="SOCK_SEQPACKET", session_timeout=2)
    transport = JanusTransport.create_transport(janus.unix_url, config={"retry_delay": 0.1})
    await transport.connect()
    events: list[ConnectionEvent] = []
    transport.on_connection_event(events.append)
    try:
        silent = JanusSession(transport=transport, keepalive_interval=1000)
        await silent.create()
        kept = JanusSession(transport=transport, keepalive_interval=0.5)
        await kept.create()
        await eventually(lambda: any(e.kind == "reconnected" for e in events), 15)
        assert events[0].kind == "disconnected"
        assert [s.id for s in transport.sessions()] == [kept.id]  # claimed on the new socket
        with pytest.raises(SessionLostError):
            await silent.send({"janus": "keepalive"})
        ack = await kept.request({"janus": "keepalive"}, Expect.ACK)
        assert ack.janus == "ack"
    finally:
        await transport.disconnect()


# -- what a real Janus cannot be made to do: a server that does not read, an oversized reply --
class _FakeDgramJanus:
    """A SOCK_DGRAM socket standing for Janus: it reads only when told to, answers pings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)

    async def answer(self, count: int, pad: int = 0) -> list[dict[str, Any]]:
        """Read ``count`` requests, answering each with a pong (``pad`` extra bytes)."""
        got: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while len(got) < count:
            assert loop.time() < end, "the requests did not come"
            try:
                data, sender = self.sock.recvfrom(65536)
            except BlockingIOError:
                await asyncio.sleep(0.005)
                continue
            request = json.loads(data)
            got.append(request)
            reply = {"janus": "pong", "transaction": request["transaction"], "pad": "x" * pad}
            self.sock.sendto(json.dumps(reply).encode(), sender)
        return got

    def close(self) -> None:
        self.sock.close()


async def test_write_queue_is_bounded_and_drains_in_order(tmp_path: Path) -> None:
    fake = _FakeDgramJanus(tmp_path / "fake.sock")
    transport = JanusTransport.create_transport(
        f"unix+dgram://{fake.path}", config={"queue_size": 5, "ping_interval": None}
    )
    await transport.connect()
    try:
        tasks = [
            asyncio.ensure_future(transport.request({"janus": "ping", "n": n}, Expect.PONG))
            for n in range(40)
        ]
        await asyncio.sleep(0.05)
        # The kernel queues a few datagrams for the unread server, the transport 5 more; the
        # rest are refused at once, typed, and never sent.
        assert transport.stats()["queued_writes"] == 5
        refused = [n for n, task in enumerate(tasks) if task.done()]
        assert refused and all(isinstance(tasks[n].exception(), QueueFullError) for n in refused)
        sent = [n for n in range(40) if n not in refused]
        got = await fake.answer(len(sent))
        assert [request["n"] for request in got] == sent == list(range(len(sent)))
        replies = await asyncio.gather(*(tasks[n] for n in sent))
        assert {reply.janus for reply in replies} == {"pong"}
        assert transport.stats()["queued_writes"] == 0 and transport.stats()["pending"] == 0
    finally:
        await transport.disconnect()
        fake.close()


async def test_a_reply_longer_than_the_read_buffer_is_dropped_and_counted(tmp_path: Path) -> None:
    fake = _FakeDgramJanus(tmp_path / "fake.sock")
    transport = JanusTransport.create_transport(
        f"unix+dgram://{fake.path}",
        config={"max_message_size": 1000, "ping_interval": None, "timeout": 1.0},
    )
    await transport.connect()
    try:
        too_long = asyncio.ensure_future(transport.ping())
        await fake.answer(1, pad=2000)
        with pytest.raises(RequestTimeoutError):
            await too_long
        stats = transport.stats()
        assert stats["oversized"] == 1 and stats["pending"] == 0
        assert transport.stats_malformed == 1  # logged once as a malformed message
        fits = asyncio.ensure_future(transport.ping())
        await fake.answer(1, pad=500)
        assert (await fits)["janus"] == "pong"
    finally:
        await transport.disconnect()
        fake.close()


# -- the harness's pfunix settings -------------------------------------------------------------
def test_harness_refuses_bad_unix_socket_settings(janus_server: JanusServer) -> None:
    with pytest.raises(ValueError, match="SOCK_SEQPACKET or SOCK_DGRAM"):
        JanusConfig(unix_socket="SOCK_STREAM")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs unix_socket"):
        JanusConfig(unix_admin_socket="SOCK_DGRAM")
    with pytest.raises(RuntimeError, match="no Unix-socket transport"):
        _ = janus_server.unix_url


async def test_admin_socket_of_another_type(janus_factory: Callable[..., JanusServer]) -> None:
    janus = janus_factory(unix_socket="SOCK_SEQPACKET", unix_admin_socket="SOCK_DGRAM")
    assert janus.unix_url.startswith("unix+seqpacket:///")
    assert janus.unix_admin_url.startswith("unix+dgram:///")
    async with JanusAdminMonitorClient(janus.unix_admin_url, janus.admin_secret) as admin:
        assert (await admin.info())["janus"] == "server_info"
        assert await admin.list_sessions() == []
