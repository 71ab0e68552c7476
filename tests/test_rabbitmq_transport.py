"""The RabbitMQ API transport (``amqp://``) against a real Janus 1.1.2 whose
``janus.transport.rabbitmq`` talks to a real rabbitmq-server (both started once for the module,
loopback only): sessions, plugin requests native and janus-client style, events, ping/info, 100
concurrent pings, the Admin API over the admin queues, a cut link (reconnection), a broker gone
for good (typed give-up), the broker restarted under a session with a handle (both the client
and Janus reconnect, the session and handle go on), clients sharing Janus's exchange,
credentials kept out of logs, reprs and errors.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterator

import pytest

from _broker_api import (
    EchoTest,
    cut_link_is_recovered,
    eventually,
    gone_broker_is_a_typed_give_up,
    oversized_messages_are_dropped,
    ping_info_concurrency_and_admin,
    publishes_in_flight_are_bounded,
    session_plugin_and_events,
    shared_response_topic_counts_unrouted,
    wait_janus_ready,
)
from janus_fast import JanusSession, JanusTransport
from janus_fast.errors import (
    ConnectionClosedError,
    InvalidURLError,
    RequestTimeoutError,
    TransportError,
)
from janus_fast.events import ConnectionEvent
from janus_fast.testing import FaultProxy, JanusServer
from janus_fast.testing.brokers import RabbitMQBroker
from janus_fast.testing.config import BrokerAPI, JanusConfig
from janus_fast.transports.rabbitmq import JanusTransportRabbitMQ

PASSWORD = "amqp-Api-Secret-5"


@pytest.fixture(scope="module")
def rabbitmq() -> Iterator[RabbitMQBroker]:
    with RabbitMQBroker(password=PASSWORD) as broker:
        yield broker


def _api(broker: RabbitMQBroker, *, admin: bool = True, **extra: str) -> BrokerAPI:
    return BrokerAPI(
        "127.0.0.1", broker.port, broker.username, broker.password, admin=admin, extra=extra
    )


def _url(broker: RabbitMQBroker, port: int | None = None, query: str = "") -> str:
    return f"amqp://{broker.username}:{PASSWORD}@127.0.0.1:{port or broker.port}/{query}"


@pytest.fixture(scope="module")
def amqp_janus(rabbitmq: RabbitMQBroker) -> Iterator[JanusServer]:
    with JanusServer(JanusConfig(rabbitmq_api=_api(rabbitmq))) as server:
        asyncio.run(wait_janus_ready(_url(rabbitmq)))  # Janus declares its queues soon after
        yield server


@pytest.fixture
def url(rabbitmq: RabbitMQBroker, amqp_janus: JanusServer) -> str:
    return _url(rabbitmq)


# -- URLs (no broker needed) ----------------------------------------------------------------------
def test_url_settings_and_registry() -> None:
    transport = JanusTransport.create_transport(
        "amqp://u:pw@broker:5673/janus%2Fvh?request_queue=in&response_queue=out"
        "&exchange=jx&exchange_type=direct"
    )
    assert isinstance(transport, JanusTransportRabbitMQ)
    assert (transport.request_queue, transport.response_queue) == ("in", "out")
    assert transport.settings.vhost == "janus/vh" and transport.settings.exchange == "jx"
    admin = JanusTransportRabbitMQ("amqp://broker?admin=1")
    assert (admin.request_queue, admin.response_queue) == ("to-janus-admin", "from-janus-admin")
    assert admin.settings.vhost == "/" and admin.settings.port == 5672
    assert "pw" not in repr(transport) and "u:" not in repr(transport)
    assert repr(admin) == (
        "<JanusTransportRabbitMQ amqp://broker:5672/?request_queue=to-janus-admin"
        "&response_queue=from-janus-admin disconnected sessions=0>"
    )


def test_harness_config_hides_the_broker_password() -> None:
    cfg = JanusConfig(rabbitmq_api=BrokerAPI("127.0.0.1", 1, "user", PASSWORD))
    assert PASSWORD not in repr(cfg) and "rabbitmq_api=BrokerAPI(" in repr(cfg)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("amqp://u:s3cret@h/?password=s3cret", "unknown amqp:// URL setting"),
        ("amqp://u:s3cret@h/?exchange_type=x", "exchange_type must be"),
        ("amqp://u:s3cret@h/?heartbeat=-1", "heartbeat must be"),
        ("amqp://u:s3cret@/", "no host"),
        ("amqp://u:s3cret@h:99999/", "malformed"),
        ("amqp://u:s3cret@h/?request_queue=", "AMQP name"),
    ],
)
def test_bad_urls_are_typed_errors_without_secrets(url: str, match: str) -> None:
    with pytest.raises(InvalidURLError, match=match) as caught:
        JanusTransport.create_transport(url)
    assert "s3cret" not in str(caught.value)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aio_pika", None)
    with pytest.raises(ImportError, match=r"janus-fast\[amqp\]"):
        JanusTransport.create_transport("amqp://h/")


# -- against Janus and RabbitMQ -------------------------------------------------------------------
async def test_session_plugin_native_and_compat_requests_and_events(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the broker library's too
    transport = await session_plugin_and_events(url)
    assert PASSWORD not in caplog.text and PASSWORD not in repr(transport)
    assert isinstance(transport, JanusTransportRabbitMQ)


async def test_ping_info_100_concurrent_pings_and_admin_list_sessions(
    url: str, rabbitmq: RabbitMQBroker, amqp_janus: JanusServer
) -> None:
    admin_url = _url(rabbitmq, query="?admin=1")
    await ping_info_concurrency_and_admin(url, admin_url, amqp_janus.config.admin_secret)


async def test_unroutable_request_is_a_typed_error(url: str) -> None:
    transport = JanusTransport.create_transport(url + "?request_queue=nobody-consumes-this")
    await transport.connect()
    try:
        with pytest.raises(TransportError, match="could not route"):
            await transport.ping()
    finally:
        await transport.disconnect()


async def test_clients_sharing_janus_exchange_count_unrouted(
    rabbitmq: RabbitMQBroker, janus_factory: Callable[..., JanusServer]
) -> None:
    janus_factory(
        rabbitmq_api=_api(
            rabbitmq,
            janus_exchange="janus-fast-x",
            janus_exchange_type="direct",
            to_janus="to-janus-x",
            from_janus="from-janus-x",
            declare_outgoing_queue="false",
            admin=False,
        ),
    )
    shared = _url(
        rabbitmq,
        query="?request_queue=to-janus-x&response_queue=from-janus-x"
        "&exchange=janus-fast-x&exchange_type=direct",
    )
    await wait_janus_ready(shared)
    await shared_response_topic_counts_unrouted(shared)


async def test_oversized_messages_are_dropped_and_counted(url: str) -> None:
    await oversized_messages_are_dropped(url)


async def test_publishes_in_flight_are_bounded(url: str) -> None:
    await publishes_in_flight_are_bounded(url)


async def test_cut_link_reconnects_and_resubscribes(url: str, rabbitmq: RabbitMQBroker) -> None:
    proxy = await FaultProxy(rabbitmq.port).start()
    try:
        await cut_link_is_recovered(_url(rabbitmq, proxy.port), proxy)
    finally:
        await proxy.close()


async def test_broker_gone_is_a_typed_give_up(
    url: str, rabbitmq: RabbitMQBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "janus_fast")
    proxy = await FaultProxy(rabbitmq.port).start()
    try:
        await gone_broker_is_a_typed_give_up(_url(rabbitmq, proxy.port), proxy)
    finally:
        await proxy.close()
    assert PASSWORD not in caplog.text


async def test_wrong_password_is_a_typed_error_without_it(
    rabbitmq: RabbitMQBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = JanusTransport.create_transport(
        f"amqp://{rabbitmq.username}:Wrong-Pw-77@127.0.0.1:{rabbitmq.port}/",
        config={"connect_timeout": 5},
    )
    with pytest.raises(TransportError, match="cannot connect") as caught:
        await transport.connect()
    assert "Wrong-Pw-77" not in str(caught.value) and "Wrong-Pw-77" not in caplog.text
    assert "Wrong-Pw-77" not in repr(transport)


async def test_restarted_broker_mid_session_is_reconnected(
    url: str, rabbitmq: RabbitMQBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The module's rabbitmq-server is restarted by pid (``RabbitMQBroker.restart()``, same
    port, same user) under a session with a handle: the transport notices the lost link,
    reconnects and claims the session; Janus's own RabbitMQ client reconnects on its schedule
    (backoff up to 5 s) and declares its queues again, and the same handle answers."""
    caplog.set_level(logging.DEBUG, "janus_fast")
    events: list[ConnectionEvent] = []
    session = JanusSession(base_url=url, retry_delay=0.2, connect_timeout=3, max_retries=60)
    async with session:
        await session.create()
        session.transport.on_connection_event(events.append)
        echo = EchoTest()
        await echo.attach(session)
        session_id, handle_id = session.id, echo.id
        port = rabbitmq.port
        # In this thread: the broker dies with the thread that started it (PDEATHSIG).
        rabbitmq.restart()
        assert rabbitmq.port == port
        await eventually(lambda: any(e.kind == "reconnected" for e in events), 30)
        assert events[0].kind == "disconnected"
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        while True:  # until Janus is back on the broker
            try:
                reply = await echo.request({"audio": True}, timeout=0.5)
                break
            except (RequestTimeoutError, ConnectionClosedError, TransportError):
                assert loop.time() < end, "no reply after the broker restart"
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert (session.id, echo.id) == (session_id, handle_id)  # Janus kept them
        await echo.destroy()
    assert PASSWORD not in caplog.text
