"""The Nanomsg transport (Janus's ``janus.transport.nanomsg``) against a real Janus.

Every async test runs on asyncio and uvloop (conftest): session lifecycle and EchoTest requests
native and janus-client style, ping/info and concurrency, the Admin API over the admin socket,
TCP as well as IPC, the request size limit, NN_PAIR's one client, a missing socket, and a
restarted Janus (typed errors, then recovery) and a stopped one (typed give-up).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pynng
import pytest

from janus_fast import (
    ConnectionClosedError,
    Expect,
    InvalidURLError,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    QueueFullError,
    SessionLostError,
    TransportError,
)
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import InvalidMessageError, InvalidOptionError, JanusError
from janus_fast.events import ConnectionEvent
from janus_fast.testing import FaultProxy, JanusServer
from janus_fast.testing._ports import pick_free_ports
from janus_fast.testing.config import (
    EventHandler,
    JanusConfig,
    NanomsgAPI,
    Ports,
    nanomsg_addresses,
    write_config_folder,
)
from janus_fast.testing.nanomsg import ensure_nanomsg_transport
from janus_fast.transports.nanomsg import (
    MAX_REQUEST_SIZE,
    JanusTransportNanomsg,
    parse_nanomsg_url,
)


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.received.append(response)
        self.arrived.set()


def urls(server: JanusServer) -> tuple[str, str]:
    """The client URLs (Janus API, Admin API) of an instance with ``nanomsg_api``."""
    api, admin = nanomsg_addresses(server.config, server.folder)
    assert admin is not None
    return f"nanomsg+{api}", f"nanomsg+{admin}"


@pytest.fixture(scope="module")
def nn_janus() -> Iterator[JanusServer]:
    """One real Janus with the Nanomsg transport on IPC (both APIs), shared by this module."""
    with JanusServer(JanusConfig(nanomsg_api=NanomsgAPI())) as server:
        yield ensure_nanomsg_transport(server)


async def eventually(check: Callable[[], bool], limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while not check():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


# -- URLs and options (no Janus needed) -----------------------------------------------------------
def test_urls_name_nanomsg_addresses() -> None:
    assert parse_nanomsg_url("nanomsg+ipc:///run/janus/api.ipc") == "ipc:///run/janus/api.ipc"
    assert parse_nanomsg_url("nanomsg+tcp://127.0.0.1:5555") == "tcp://127.0.0.1:5555"
    assert parse_nanomsg_url("nanomsg+tcp://[::1]:5555/") == "tcp://[::1]:5555"
    transport = JanusTransport.create_transport("nanomsg+ipc:///run/janus/api.ipc")
    assert isinstance(transport, JanusTransportNanomsg)
    assert transport.address == "ipc:///run/janus/api.ipc"
    assert "nanomsg+ipc" in JanusTransport.registered_schemes()
    assert "nanomsg+tcp" in JanusTransport.registered_schemes()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("nanomsg+ipc://janus.example/x.ipc", "names a host"),
        ("nanomsg+ipc:///x.ipc?token=abc", "no query"),
        ("nanomsg+ipc://", "no socket path"),
        ("nanomsg+ipc:///" + "d" * 200, "longer than 107"),
        ("nanomsg+tcp://127.0.0.1", "needs a host and a port"),
        ("nanomsg+tcp://user:pw@127.0.0.1:5555", "credentials"),
        ("nanomsg+tcp://127.0.0.1:5555/janus", "no path"),
        ("nanomsg+tcp://127.0.0.1:99999", "malformed"),
    ],
)
def test_bad_urls_are_typed_errors_without_secrets(url: str, match: str) -> None:
    with pytest.raises(InvalidURLError, match=match) as caught:
        JanusTransport.create_transport(url)
    assert "abc" not in str(caught.value) and "pw" not in str(caught.value)


def test_tls_options_are_refused_and_repr_shows_no_credentials() -> None:
    with pytest.raises(InvalidOptionError, match="no TLS"):
        JanusTransportNanomsg("nanomsg+tcp://127.0.0.1:5555", ssl=True)
    transport = JanusTransportNanomsg("nanomsg+ipc:///x.ipc", api_secret="s3cret", token="t0ken")
    assert "s3cret" not in repr(transport) and "t0ken" not in repr(transport)
    assert repr(transport) == "<JanusTransportNanomsg nanomsg+ipc:///x.ipc disconnected sessions=0>"


def test_harness_writes_the_nanomsg_configs_and_refuses_bad_addresses(tmp_path: Path) -> None:
    ports = Ports(http=1, ws=2, admin_http=3, admin_ws=4)
    handler = EventHandler("nanomsgevh", "tcp://127.0.0.1:5560", grouping=False)
    config = JanusConfig(nanomsg_api=NanomsgAPI(), event_handlers=(handler,))
    write_config_folder(config, tmp_path, ports, "name", tmp_path)
    main = (tmp_path / "janus.jcfg").read_text()
    assert "libjanus_nanomsg.so" not in main and "libjanus_nanomsgevh.so" not in main
    transport = (tmp_path / "janus.transport.nanomsg.jcfg").read_text()
    api, admin = nanomsg_addresses(config, tmp_path)
    assert api == f"ipc://{tmp_path}/janus-api.ipc" and f'address = "{api}"' in transport
    assert f'admin_address = "{admin}"' in transport and "admin_enabled = true" in transport
    evh = (tmp_path / "janus.eventhandler.nanomsgevh.jcfg").read_text()
    assert 'address = "tcp://127.0.0.1:5560"' in evh and 'mode = "connect"' in evh
    assert "backend" not in evh and "grouping = false" in evh
    off = JanusConfig()
    write_config_folder(off, tmp_path / "off", ports, "name", tmp_path)
    assert "libjanus_nanomsg.so" in (tmp_path / "off" / "janus.jcfg").read_text()
    with pytest.raises(ValueError, match="no Nanomsg transport"):
        nanomsg_addresses(off, tmp_path)
    with pytest.raises(ValueError, match="ipc:///path or tcp://host:port"):
        NanomsgAPI(api="inproc://janus")


# -- the Janus API and the Admin API --------------------------------------------------------------
async def test_session_echotest_native_and_compat_requests_and_events(
    nn_janus: JanusServer,
) -> None:
    api, _ = urls(nn_janus)
    session = JanusSession(base_url=api)
    assert isinstance(session.transport, JanusTransportNanomsg)
    async with session:
        await session.create()
        assert session.id is not None
        echo = EchoTest()
        await echo.attach(session)
        reply = await echo.request({"audio": True})
        assert reply["plugindata"]["data"]["result"] == "ok"
        transaction = await echo.send({"janus": "message", "body": {"video": True}})
        ack = await transaction.get({"janus": "ack"}, timeout=5)
        assert ack["janus"] == "ack"
        await transaction.done()
        await asyncio.wait_for(echo.arrived.wait(), 5)
        event = echo.received[0]
        assert event["janus"] == "event" and event["plugindata"]["data"]["result"] == "ok"
        assert event["sender"] == echo.id
        info = await session.transport.info()
        assert "janus.transport.nanomsg" in info["transports"]
        pongs = await asyncio.gather(*(session.transport.ping() for _ in range(200)))
        assert all(p["janus"] == "pong" for p in pongs)
        assert session.transport.stats()["open_connections"] == 1
        await echo.destroy()


async def test_admin_api_over_the_admin_socket(nn_janus: JanusServer) -> None:
    api, admin_url = urls(nn_janus)
    async with JanusSession(base_url=api) as session:
        await session.create()
        session_id = session.id
        async with JanusAdminMonitorClient(admin_url, nn_janus.admin_secret) as admin:
            assert isinstance(admin.transport, JanusTransportNanomsg)
            assert session_id in await admin.list_sessions()
            assert (await admin.ping())["janus"] == "pong"
        await session.destroy()
    async with JanusAdminMonitorClient(admin_url, "bad-s3cr3t") as intruder:
        with pytest.raises(JanusError) as caught:
            await intruder.list_sessions()
        assert caught.value.code == 403 and "bad-s3cr3t" not in str(caught.value)


async def test_a_request_over_the_limit_is_refused_and_one_under_it_goes(
    nn_janus: JanusServer,
) -> None:
    api, _ = urls(nn_janus)
    async with JanusSession(base_url=api) as session:
        await session.create()
        echo = EchoTest()
        await echo.attach(session)
        with pytest.raises(InvalidMessageError, match=str(MAX_REQUEST_SIZE)):
            await echo.request({"audio": True, "pad": "x" * MAX_REQUEST_SIZE})
        reply = await echo.request({"audio": True, "pad": "x" * (MAX_REQUEST_SIZE - 400)})
        assert reply["plugindata"]["data"]["result"] == "ok"  # the connection is still fine
        await echo.destroy()


async def test_nn_pair_takes_one_client_and_the_second_gets_a_typed_error(
    nn_janus: JanusServer,
) -> None:
    api, _ = urls(nn_janus)
    first = JanusTransport.create_transport(api)
    await first.connect()
    try:
        second = JanusTransport.create_transport(api, config={"connect_timeout": 5.0})
        with pytest.raises(TransportError, match="one client at a time"):
            await second.connect()
        assert not second.connected
        assert (await first.ping())["janus"] == "pong"  # the first client is unaffected
    finally:
        await first.disconnect()
    third = JanusTransport.create_transport(api)  # the socket is free again
    await third.connect()
    assert (await third.ping())["janus"] == "pong"
    await third.disconnect()


async def test_missing_socket_is_a_typed_error_within_connect_timeout(tmp_path: Path) -> None:
    transport = JanusTransport.create_transport(
        f"nanomsg+ipc://{tmp_path}/none.ipc", config={"connect_timeout": 0.3}
    )
    with pytest.raises(TransportError, match="no answer from Janus"):
        await transport.connect()
    assert not transport.connected


async def test_tcp_addresses_serve_both_apis(janus_factory: Callable[..., JanusServer]) -> None:
    api_port, admin_port = pick_free_ports(2)
    janus = janus_factory(
        nanomsg_api=NanomsgAPI(
            api=f"tcp://127.0.0.1:{api_port}", admin_address=f"tcp://127.0.0.1:{admin_port}"
        )
    )
    ensure_nanomsg_transport(janus)
    api, admin_url = urls(janus)
    assert api == f"nanomsg+tcp://127.0.0.1:{api_port}"
    async with JanusSession(base_url=api) as session:
        await session.create()
        async with JanusAdminMonitorClient(admin_url, janus.admin_secret) as admin:
            assert session.id in await admin.list_sessions()
        await session.destroy()


# -- a restarted or stopped Janus ---------------------------------------------------------------
_FAST_RECOVERY: dict[str, Any] = {
    "retry_delay": 0.1,
    "retry_delay_max": 0.4,
    "ping_interval": 0.3,
    "ping_timeout": 2.0,
    "connect_timeout": 2.0,
    "timeout": 30.0,
}


async def test_restarted_janus_reconnects_and_reports_the_session_lost(
    janus_factory: Callable[..., JanusServer],
) -> None:
    janus = ensure_nanomsg_transport(janus_factory(nanomsg_api=NanomsgAPI(admin=False)))
    api, _ = nanomsg_addresses(janus.config, janus.folder)
    session = JanusSession(base_url=f"nanomsg+{api}", max_retries=120, **_FAST_RECOVERY)
    transport = session.transport
    assert isinstance(transport, JanusTransportNanomsg)
    events: list[ConnectionEvent] = []
    transport.on_connection_event(events.append)
    await session.create()
    old_id = session.id
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, janus.kill, signal.SIGTERM)
        await eventually(lambda: any(e.kind == "disconnected" for e in events))
        disconnected = next(e for e in events if e.kind == "disconnected")
        assert isinstance(disconnected.error, ConnectionClosedError)
        assert transport.reconnecting
        waiting = asyncio.ensure_future(transport.ping())  # waits in the outage queue
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await loop.run_in_executor(None, janus.start)
        await loop.run_in_executor(None, ensure_nanomsg_transport, janus)
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


async def test_stopped_janus_gives_up_with_a_typed_error(
    janus_factory: Callable[..., JanusServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "janus_fast")
    janus = janus_factory(nanomsg_api=NanomsgAPI(admin=False), api_secret="not-in-logs")
    ensure_nanomsg_transport(janus)
    api, _ = nanomsg_addresses(janus.config, janus.folder)
    options = {**_FAST_RECOVERY, "connect_timeout": 0.3}
    session = JanusSession(
        base_url=f"nanomsg+{api}", api_secret="not-in-logs", max_retries=2, **options
    )
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    await session.create()
    await asyncio.get_running_loop().run_in_executor(None, janus.stop)
    await eventually(lambda: any(e.kind == "given_up" for e in events), 20)
    given_up = next(e for e in events if e.kind == "given_up")
    assert isinstance(given_up.error, TransportError)
    assert not session.transport.connected
    with pytest.raises(ConnectionClosedError, match="lost for good"):
        await session.transport.ping()
    assert session.transport.session_count == 0
    assert "not-in-logs" not in caplog.text
    await session.transport.disconnect()


async def test_a_dropped_connection_to_a_running_janus_is_recovered_and_sessions_claimed(
    janus_factory: Callable[..., JanusServer],
) -> None:
    """A network drop (the TCP connection reset under both ends, by a ``FaultProxy``) while
    Janus keeps running."""
    api_port = pick_free_ports(1)[0]
    janus = ensure_nanomsg_transport(
        janus_factory(nanomsg_api=NanomsgAPI(api=f"tcp://127.0.0.1:{api_port}", admin=False))
    )
    proxy = await FaultProxy(api_port).start()
    session = JanusSession(base_url=f"nanomsg+tcp://127.0.0.1:{proxy.port}", **_FAST_RECOVERY)
    transport = session.transport
    assert isinstance(transport, JanusTransportNanomsg)
    events: list[ConnectionEvent] = []
    transport.on_connection_event(events.append)
    try:
        async with session:
            await session.create()
            session_id = session.id
            echo = EchoTest()
            await echo.attach(session)
            proxy.cut()
            await eventually(lambda: any(e.kind == "reconnected" for e in events))
            assert events[0].kind == "disconnected"
            assert proxy.connections >= 2
            # Janus kept the session (one transport session for the socket): it was claimed.
            assert session.id == session_id and transport.session_count == 1
            reply = await echo.request({"audio": True})
            assert reply["plugindata"]["data"]["result"] == "ok"
            await echo.destroy()
    finally:
        await proxy.close()
        assert janus.running


async def test_the_send_buffer_is_bounded_by_queue_size(tmp_path: Path) -> None:
    """A stand-in NN_PAIR peer answers the connect probe, then reads nothing (a real Janus
    always reads): requests back up into NNG's send buffer until ``QueueFullError``."""
    address = f"ipc://{tmp_path}/stuck.ipc"
    peer = pynng.Pair0(listen=address, recv_buffer_size=1)
    try:
        transport = JanusTransport.create_transport(
            f"nanomsg+{address}", config={"queue_size": 4, "timeout": 5.0, "ping_interval": None}
        )
        connecting = asyncio.ensure_future(transport.connect())
        probe = json.loads(await peer.arecv())
        await peer.asend(
            json.dumps({"janus": "pong", "transaction": probe["transaction"]}).encode()
        )
        await asyncio.wait_for(connecting, 5)
        pending = []
        with pytest.raises(QueueFullError, match="queue_size"):
            for _ in range(1000):  # ~8 MB: more than the kernel and NNG buffer between them
                request = {"janus": "ping", "pad": "x" * 8000}
                pending.append(asyncio.ensure_future(transport.send_request(request, Expect.PONG)))
                await asyncio.sleep(0)
                for task in pending:
                    if task.done() and isinstance(task.exception(), QueueFullError):
                        raise task.exception()  # type: ignore[misc]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await transport.disconnect()
    finally:
        peer.close()


async def test_a_hung_janus_is_noticed_by_its_missing_pong_and_recovered(
    janus_factory: Callable[..., JanusServer],
) -> None:
    janus = ensure_nanomsg_transport(janus_factory(nanomsg_api=NanomsgAPI(admin=False)))
    api, _ = nanomsg_addresses(janus.config, janus.folder)
    options = {**_FAST_RECOVERY, "ping_interval": 0.2, "ping_timeout": 0.5}
    session = JanusSession(base_url=f"nanomsg+{api}", **options)
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    async with session:
        await session.create()
        session_id = session.id
        janus.kill(signal.SIGSTOP)  # the connection stays open; nothing answers
        try:
            await eventually(lambda: any(e.kind == "disconnected" for e in events))
        finally:
            janus.kill(signal.SIGCONT)
        disconnected = next(e for e in events if e.kind == "disconnected")
        assert "no pong" in str(disconnected.error)
        await eventually(lambda: any(e.kind == "reconnected" for e in events))
        assert session.id == session_id  # claimed: the same Janus kept it
        assert (await session.transport.ping())["janus"] == "pong"
