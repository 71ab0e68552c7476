"""The MQTT API transport (``mqtt://``) against a real Janus 1.1.2 whose ``janus.transport.mqtt``
talks to a real mosquitto (both started once for the module, loopback only): sessions, plugin
requests native and janus-client style, events, ping/info, 100 concurrent pings, 64 EchoTest
requests in flight (none lost: the harness sizes Janus's MQTT publish buffers), the Admin API
over the admin topics, a cut link and a restarted broker (reconnection), a broker gone for good
(typed give-up), shared response topics, credentials kept out of logs, reprs and errors.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from janus_fast.errors import InvalidURLError, RequestTimeoutError, TransportError
from janus_fast.events import ConnectionEvent
from janus_fast.testing import FaultProxy, JanusServer
from janus_fast.testing.brokers import MosquittoBroker
from janus_fast.testing.config import BrokerAPI, JanusConfig
from janus_fast.transports.mqtt import JanusTransportMQTT

PASSWORD = "mqtt-Api-Secret-5"


@pytest.fixture(scope="module")
def mosquitto() -> Iterator[MosquittoBroker]:
    with MosquittoBroker(password=PASSWORD) as broker:
        yield broker


@pytest.fixture(scope="module")
def mqtt_janus(mosquitto: MosquittoBroker) -> Iterator[JanusServer]:
    api = BrokerAPI("127.0.0.1", mosquitto.port, mosquitto.username, mosquitto.password)
    with JanusServer(JanusConfig(mqtt_api=api)) as server:
        asyncio.run(wait_janus_ready(_url(mosquitto)))  # Janus subscribes soon after it starts
        yield server


def _url(broker: MosquittoBroker, port: int | None = None, query: str = "") -> str:
    return f"mqtt://{broker.username}:{PASSWORD}@127.0.0.1:{port or broker.port}/{query}"


@pytest.fixture
def url(mosquitto: MosquittoBroker, mqtt_janus: JanusServer) -> str:
    return _url(mosquitto)


# -- URLs (no broker needed) ----------------------------------------------------------------------
def test_url_settings_and_registry() -> None:
    transport = JanusTransport.create_transport(
        "mqtt://u:pw@broker:1884/?request_topic=a/in&response_topic=a/out&qos=0&client_id=c1"
    )
    assert isinstance(transport, JanusTransportMQTT)
    assert (transport.request_topic, transport.response_topic) == ("a/in", "a/out")
    assert transport.settings.qos == 0 and transport.settings.client_id == "c1"
    admin = JanusTransportMQTT("mqtt://broker/?admin=1")
    assert (admin.request_topic, admin.response_topic) == ("to-janus-admin", "from-janus-admin")
    assert admin.settings.port == 1883
    assert "pw" not in repr(transport) and "u:" not in repr(transport)
    assert repr(admin) == (
        "<JanusTransportMQTT mqtt://broker:1883/?request_topic=to-janus-admin"
        "&response_topic=from-janus-admin disconnected sessions=0>"
    )


def test_harness_config_hides_the_broker_password() -> None:
    cfg = JanusConfig(mqtt_api=BrokerAPI("127.0.0.1", 1, "user", PASSWORD))
    assert PASSWORD not in repr(cfg) and "mqtt_api=BrokerAPI(" in repr(cfg)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mqtt://u:s3cret@h/?password=s3cret", "unknown mqtt:// URL setting"),
        ("mqtt://u:s3cret@h/?response_topic=a/%23", "no wildcards"),
        ("mqtt://u:s3cret@h/?qos=3", "qos must be"),
        ("mqtt://u:s3cret@h/x", "no path"),
        ("mqtt://u:s3cret@/", "no host"),
        ("mqtt://u:s3cret@h/?reply_topic=me", "needs mqtt_version=5"),
        ("mqtt://u:s3cret@h:99999/", "malformed"),
    ],
)
def test_bad_urls_are_typed_errors_without_secrets(url: str, match: str) -> None:
    with pytest.raises(InvalidURLError, match=match) as caught:
        JanusTransport.create_transport(url)
    assert "s3cret" not in str(caught.value)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiomqtt", None)
    with pytest.raises(ImportError, match=r"janus-fast\[mqtt\]"):
        JanusTransport.create_transport("mqtt://h/")


# -- against Janus and mosquitto ------------------------------------------------------------------
async def test_session_plugin_native_and_compat_requests_and_events(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the broker library's too
    transport = await session_plugin_and_events(url)
    assert PASSWORD not in caplog.text and PASSWORD not in repr(transport)
    assert isinstance(transport, JanusTransportMQTT)


async def test_ping_info_100_concurrent_pings_and_admin_list_sessions(
    url: str, mosquitto: MosquittoBroker, mqtt_janus: JanusServer
) -> None:
    admin_url = _url(mosquitto, query="?admin=1")
    await ping_info_concurrency_and_admin(url, admin_url, mqtt_janus.config.admin_secret)


async def test_shared_response_topic_counts_unrouted(url: str) -> None:
    await shared_response_topic_counts_unrouted(url)


async def test_oversized_messages_are_dropped_and_counted(url: str) -> None:
    await oversized_messages_are_dropped(url)


async def test_publishes_in_flight_are_bounded(url: str) -> None:
    await publishes_in_flight_are_bounded(url)


async def _echotest_bursts(url: str, bursts: int, in_flight: int) -> int:
    """``bursts`` rounds of ``in_flight`` EchoTest requests sent at once on 8 handles: how many
    were answered, stopping after the first burst that lost one (each request has 5 s)."""
    session = JanusSession(base_url=url)
    answered = 0
    async with session:
        await session.create()
        handles = [EchoTest() for _ in range(8)]
        for handle in handles:
            await handle.attach(session)

        async def one(i: int) -> None:
            nonlocal answered
            with contextlib.suppress(RequestTimeoutError):
                reply = await handles[i % 8].request({"audio": True}, timeout=5)
                answered += reply["plugindata"]["data"]["result"] == "ok"

        for burst in range(1, bursts + 1):
            await asyncio.gather(*(one(i) for i in range(in_flight)))
            if answered < burst * in_flight:
                break  # lost: the caller's count shows it
        for handle in handles:
            await handle.destroy()
    return answered


async def test_64_echotest_requests_in_flight_are_all_answered(
    url: str, mqtt_janus: JanusServer
) -> None:
    """Each EchoTest request makes Janus publish two messages (ack, event) at QoS 1: with 64 in
    flight, Janus's stock ``max_inflight``/``max_buffered`` (10/100) made its MQTT client drop
    replies ("return code: -12"); the harness sizes them and every request is answered."""
    log_start = mqtt_janus.log_path.stat().st_size
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await _echotest_bursts(url, 40, 64) == 40 * 64
    assert loop.time() - started < 20
    with mqtt_janus.log_path.open("rb") as log:
        log.seek(log_start)
        assert b"Can't publish" not in log.read()


async def test_mqtt5_reply_topic_gives_a_client_its_own_replies(
    mosquitto: MosquittoBroker, janus_factory: Callable[..., JanusServer]
) -> None:
    topics = {"subscribe_topic": "to-janus-v5", "publish_topic": "from-janus-v5"}
    api = BrokerAPI(
        "127.0.0.1",
        mosquitto.port,
        mosquitto.username,
        mosquitto.password,
        admin=False,
        extra={"mqtt_version": "5", **topics},
    )
    janus_factory(mqtt_api=api)
    common = "?mqtt_version=5&request_topic=to-janus-v5&response_topic=from-janus-v5"
    await wait_janus_ready(_url(mosquitto, query=common))
    own = JanusTransport.create_transport(_url(mosquitto, query=common + "&reply_topic=c/a"))
    shared = JanusTransport.create_transport(_url(mosquitto, query=common))
    try:
        await own.connect()
        await shared.connect()
        await asyncio.gather(*(own.ping() for _ in range(10)))
        await asyncio.gather(*(shared.ping() for _ in range(10)))
        # own's replies went to its reply topic only; shared's came on the common topic, which
        # own also reads (Janus's events come there).
        await eventually(lambda: own.stats()["unrouted"] >= 10)
        assert shared.stats()["unrouted"] == 0
    finally:
        await own.disconnect()
        await shared.disconnect()


async def test_cut_link_reconnects_and_resubscribes(url: str, mosquitto: MosquittoBroker) -> None:
    proxy = await FaultProxy(mosquitto.port).start()
    try:
        await cut_link_is_recovered(_url(mosquitto, proxy.port), proxy)
    finally:
        await proxy.close()


async def test_broker_gone_is_a_typed_give_up(
    url: str, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "janus_fast")
    proxy = await FaultProxy(mosquitto.port).start()
    try:
        await gone_broker_is_a_typed_give_up(_url(mosquitto, proxy.port), proxy)
    finally:
        await proxy.close()
    assert PASSWORD not in caplog.text


async def test_wrong_password_is_a_typed_error_without_it(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    transport = JanusTransport.create_transport(
        f"mqtt://{mosquitto.username}:Wrong-Pw-77@127.0.0.1:{mosquitto.port}/"
    )
    with pytest.raises(TransportError, match="cannot connect") as caught:
        await transport.connect()
    assert "Wrong-Pw-77" not in str(caught.value) and "Wrong-Pw-77" not in caplog.text
    assert "Wrong-Pw-77" not in repr(transport)


async def test_restarted_broker_is_reconnected(
    url: str, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "janus_fast")
    events: list[ConnectionEvent] = []
    session = JanusSession(base_url=url, retry_delay=0.1, connect_timeout=2, max_retries=30)
    async with session:
        await session.create()
        session.transport.on_connection_event(events.append)
        echo = EchoTest()
        await echo.attach(session)
        # In this thread: the broker dies with the thread that started it (PDEATHSIG).
        mosquitto.restart()
        await eventually(lambda: any(e.kind == "reconnected" for e in events), 30)
        assert events[0].kind == "disconnected"
        for _ in range(50):  # Janus's own MQTT client reconnects on its own schedule
            try:
                reply = await echo.request({"audio": True}, timeout=0.5)
                break
            except Exception:  # until Janus is back on the broker
                continue
        else:
            raise AssertionError("no reply after the broker restart")
        assert reply["plugindata"]["data"]["result"] == "ok"
        await echo.destroy()
    assert PASSWORD not in caplog.text
    await asyncio.sleep(0)
