"""MQTT and RabbitMQ event handlers of a real Janus 1.1.2, through real brokers (Debian's
mosquitto and rabbitmq-server, started on loopback ports from generated configs, stopped by pid):
the typed events arrive with their ids, credentials stay out of the logs, a broker restart is
survived."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterator

import pytest

from _eventhandlers import burst_events, collect_until, custom_event, lifecycle_burst, wait_for
from janus_fast import JanusSession
from janus_fast.errors import TransportError
from janus_fast.eventhandlers import (
    AmqpEventReceiver,
    CoreEvent,
    EventStream,
    ExternalEvent,
    HandleEvent,
    JanusEvent,
    MqttEventReceiver,
    PluginEvent,
    SessionEvent,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.brokers import MosquittoBroker, RabbitMQBroker
from janus_fast.testing.config import EventHandler, EventHandlerKind


@pytest.fixture(scope="module")
def mosquitto() -> Iterator[MosquittoBroker]:
    with MosquittoBroker(password="mqtt-Secret-7") as broker:
        yield broker


@pytest.fixture(scope="module")
def rabbitmq() -> Iterator[RabbitMQBroker]:
    with RabbitMQBroker(password="amqp-Secret-7") as broker:
        yield broker


def _has_plugin_event(got: list[JanusEvent]) -> bool:
    return any(isinstance(e, PluginEvent) for e in got)


def _lifecycle_done(early: list[JanusEvent]) -> Callable[[list[JanusEvent]], bool]:
    """Every event ``_check_lifecycle`` looks at, among ``early`` and those collected since."""

    def done(got: list[JanusEvent]) -> bool:
        names = {(type(e), getattr(e, "name", None)) for e in [*early, *got]}
        return {
            (SessionEvent, "created"),
            (HandleEvent, "attached"),
            (HandleEvent, "detached"),
            (SessionEvent, "destroyed"),
        } <= names

    return done


async def _echo_round(
    janus_url: str, stream: EventStream
) -> tuple[int | None, int | None, list[JanusEvent]]:
    """Attach, configure, detach; returns the ids and the events collected up to the plugin's."""
    async with JanusSession(base_url=janus_url) as session:
        echo = JanusEchoTestPlugin()
        await echo.attach(session, opaque_id="broker-opaque")
        handle_id = echo.id
        await echo.configure(audio=False)
        # The EchoTest notifies its plugin event after it answered, from its own thread, and
        # Janus drops it if the handle is gone by then: wait for it before detaching.
        early = await collect_until(stream, _has_plugin_event)
        await echo.destroy()
        return session.id, handle_id, early


def _check_lifecycle(
    events: list[JanusEvent], session_id: int | None, handle_id: int | None, server: str
) -> None:
    sessions = {(e.name, e.session_id) for e in events if isinstance(e, SessionEvent)}
    assert {("created", session_id), ("destroyed", session_id)} <= sessions
    handles = {(e.name, e.handle_id, e.opaque_id) for e in events if isinstance(e, HandleEvent)}
    assert {("attached", handle_id, "broker-opaque"), ("detached", handle_id, "broker-opaque")} == (
        handles
    )
    plugin = [e for e in events if isinstance(e, PluginEvent)]
    assert plugin and plugin[0].handle_id == handle_id and plugin[0].data["audio_active"] is False
    assert {e.server for e in events} == {server}


async def test_mqtt_events_of_a_real_janus(
    janus_factory, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    topic = "/janus-fast/events"
    async with MqttEventReceiver(
        port=mosquitto.port,
        topic=topic,
        username=mosquitto.username,
        password=mosquitto.password,
        server="mqtt-a",
    ) as receiver:
        janus = janus_factory(
            event_handlers=(
                EventHandler(
                    "mqttevh",
                    f"tcp://127.0.0.1:{mosquitto.port}",
                    backend_user=mosquitto.username,
                    backend_pwd=mosquitto.password,
                    extra={"topic": topic, "client_id": "janus-fast-evh", "addevent": True},
                ),
            )
        )
        started = await collect_until(
            receiver.stream, lambda got: any(isinstance(e, CoreEvent) for e in got)
        )
        session_id, handle_id, early = await _echo_round(janus.ws_url, receiver.stream)
        events = started + early
        events += await collect_until(receiver.stream, _lifecycle_done(events))
    _check_lifecycle(events, session_id, handle_id, "mqtt-a")
    stats = receiver.stats()
    assert stats["connects"] == 1 and stats["errors"] == 0 and stats["status"] >= 1
    assert stats["messages"] == receiver.stream.stats()["received"]  # mqttevh never groups
    assert "mqtt-Secret-7" not in caplog.text and "mqtt-Secret-7" not in repr(receiver)


async def test_mqtt_wrong_password_is_a_typed_error(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = MqttEventReceiver(
        port=mosquitto.port, username=mosquitto.username, password="wrong-Pass", connect_timeout=2
    )
    with pytest.raises(TransportError, match=r"MQTT broker 127\.0\.0\.1"):
        await receiver.start()
    assert receiver.stats()["errors"] >= 1 and "wrong-Pass" not in caplog.text


async def test_amqp_queue_mode_keeps_what_janus_sent_before_we_came(
    janus_factory, rabbitmq: RabbitMQBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    queue = f"janus-fast-events-{uuid.uuid4().hex[:8]}"  # the broker outlives the test
    janus = janus_factory(
        event_handlers=(
            EventHandler(
                "rabbitmqevh",
                f"amqp://127.0.0.1:{rabbitmq.port}",
                backend_user=rabbitmq.username,
                backend_pwd=rabbitmq.password,
                extra={"route_key": queue},
            ),
        )
    )
    # Janus declared the queue and published its startup event into it before we consumed.
    async with AmqpEventReceiver(
        port=rabbitmq.port,
        username=rabbitmq.username,
        password=rabbitmq.password,
        queue=queue,
        server="amqp-q",
    ) as receiver:
        session_id, handle_id, early = await _echo_round(janus.http_url, receiver.stream)
        events = early + await collect_until(
            receiver.stream,
            lambda got: (
                _lifecycle_done(early)(got)
                and any(isinstance(e, CoreEvent) and e.status == "started" for e in early + got)
            ),
        )
    # Janus published its startup event before we consumed: the queue kept it.
    (started,) = [e for e in events if isinstance(e, CoreEvent)]
    assert started.status == "started" and started.session_id is None
    _check_lifecycle(events, session_id, handle_id, "amqp-q")
    assert receiver.stats()["errors"] == 0
    assert "amqp-Secret-7" not in caplog.text and "amqp-Secret-7" not in repr(receiver)


async def test_amqp_fanout_exchange_gives_every_receiver_every_event(
    janus_factory, rabbitmq: RabbitMQBroker
) -> None:
    stream = EventStream()
    settings = {
        "port": rabbitmq.port,
        "username": rabbitmq.username,
        "password": rabbitmq.password,
        "exchange": "janus-fast-fanout",
    }
    async with (
        AmqpEventReceiver(stream, server="one", **settings) as one,  # type: ignore[arg-type]
        AmqpEventReceiver(stream, server="two", **settings) as two,  # type: ignore[arg-type]
    ):
        janus = janus_factory(
            event_handlers=(
                EventHandler(
                    "rabbitmqevh",
                    f"amqp://127.0.0.1:{rabbitmq.port}",
                    events="external",
                    backend_user=rabbitmq.username,
                    backend_pwd=rabbitmq.password,
                    extra={
                        "exchange": "janus-fast-fanout",
                        "route_key": "janus-fast-fanout-q",
                        "declare_outgoing_queue": False,
                    },
                ),
            )
        )
        for n in range(5):
            await custom_event(janus, "test.fanout", {"n": n})
        events = await collect_until(stream, lambda got: len(got) == 10)
    for tag in ("one", "two"):
        mine = [e for e in events if e.server == tag and isinstance(e, ExternalEvent)]
        assert sorted(e.data["n"] for e in mine) == list(range(5))
    assert one.stats()["connects"] == two.stats()["connects"] == 1


async def test_mqtt_receiver_and_janus_both_reconnect_after_a_broker_restart(
    janus_factory, mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    topic = "/janus-fast/restart"
    async with MqttEventReceiver(
        port=mosquitto.port,
        topic=topic,
        username=mosquitto.username,
        password=mosquitto.password,
        reconnect_interval=0.2,
    ) as receiver:
        janus = janus_factory(
            event_handlers=(
                EventHandler(
                    "mqttevh",
                    f"tcp://127.0.0.1:{mosquitto.port}",
                    events="external",
                    backend_user=mosquitto.username,
                    backend_pwd=mosquitto.password,
                    extra={"topic": topic, "client_id": "janus-fast-restart"},
                ),
            )
        )
        await custom_event(janus, "test.before", {"n": 0})
        await collect_until(receiver.stream, lambda got: len(got) == 1)
        with caplog.at_level(logging.WARNING, logger="janus_fast.eventhandlers"):
            # In this thread: the broker dies with the thread that started it (PDEATHSIG).
            mosquitto.restart()
            await wait_for(lambda: receiver.stats()["connects"] == 2, seconds=15)
        assert receiver.stats()["errors"] >= 1
        assert len([r for r in caplog.records if "reconnecting" in r.getMessage()]) == 1
        # Janus's MQTT client reconnects on its own; keep raising events until one arrives.
        for n in range(1, 60):
            await custom_event(janus, "test.after", {"n": n})
            try:
                event = await receiver.stream.get(timeout=0.5)
                break
            except asyncio.TimeoutError:
                continue
        else:
            raise AssertionError("no event after the broker restart")
    assert isinstance(event, ExternalEvent) and event.schema == "test.after"


#: 50 sessions of 4 EchoTest handles at once: 500 session and handle events within ~0.3 s.
_BURST = (50, 4)


@pytest.mark.parametrize("kind", ["mqttevh", "rabbitmqevh"])
async def test_broker_handlers_lose_no_event_of_a_burst(
    janus_factory, mosquitto: MosquittoBroker, rabbitmq: RabbitMQBroker, kind: EventHandlerKind
) -> None:
    """Every session and handle event of a burst arrives, and Janus logged no failed publish.

    mqttevh relies on the harness's ``max_buffered``: with the stock 100, Janus's Paho client
    refuses most of such a burst (``Can't publish to MQTT topic ..., return code: -12``).
    """
    stream = EventStream()
    receiver: MqttEventReceiver | AmqpEventReceiver
    if kind == "mqttevh":
        topic = "/janus-fast/burst"
        broker: MosquittoBroker | RabbitMQBroker = mosquitto
        receiver = MqttEventReceiver(
            stream,
            port=mosquitto.port,
            topic=topic,
            username=mosquitto.username,
            password=mosquitto.password,
        )
        backend, extra = f"tcp://127.0.0.1:{mosquitto.port}", {"topic": topic}
    else:
        queue = f"janus-fast-burst-{uuid.uuid4().hex[:8]}"
        broker = rabbitmq
        receiver = AmqpEventReceiver(
            stream,
            port=rabbitmq.port,
            username=rabbitmq.username,
            password=rabbitmq.password,
            queue=queue,
        )
        backend, extra = f"amqp://127.0.0.1:{rabbitmq.port}", {"route_key": queue}
    async with receiver:
        janus = janus_factory(
            event_handlers=(
                EventHandler(
                    kind,
                    backend,
                    events="sessions,handles",
                    backend_user=broker.username,
                    backend_pwd=broker.password,
                    extra=extra,
                ),
            )
        )
        ids, expected = await lifecycle_burst(janus.ws_url, *_BURST)
        got = await burst_events(stream, ids, expected)
    log = janus.log_path.read_text(errors="replace")
    failures = [line for line in log.splitlines() if "Can't publish" in line or "FAILURE" in line]
    assert (len(got), failures[:3]) == (expected, [])
    assert len({(type(e), e.name, e.session_id, e.handle_id) for e in got}) == expected
    # Counts add up: nothing dropped by the stream, nothing left unaccounted.
    counts = stream.stats()
    assert counts["dropped"] == counts["duplicates"] == counts["invalid"] == 0
    assert counts["received"] == counts["delivered"] + counts["queued"] >= expected
    assert receiver.stats()["errors"] == 0


async def test_mqtt_receiver_queue_overflow_is_counted(
    janus_factory, mosquitto: MosquittoBroker
) -> None:
    """aiomqtt discards what finds its incoming queue full (``max_queued``): counted."""
    topic = f"/janus-fast/overflow-{uuid.uuid4().hex[:8]}"  # no retained status of another run
    async with MqttEventReceiver(
        port=mosquitto.port,
        topic=topic,
        username=mosquitto.username,
        password=mosquitto.password,
        max_queued=4,
    ) as receiver:
        janus = janus_factory(
            event_handlers=(
                EventHandler(
                    "mqttevh",
                    f"tcp://127.0.0.1:{mosquitto.port}",
                    events="sessions,handles",
                    backend_user=mosquitto.username,
                    backend_pwd=mosquitto.password,
                    extra={"topic": topic},
                ),
            )
        )
        await wait_for(lambda: receiver.stats()["status"] >= 1)  # mqttevh is connected
        ids, expected = await lifecycle_burst(janus.ws_url, *_BURST)
        got = await burst_events(receiver.stream, ids, expected, quiet=0.5)
        stats = receiver.stats()
    assert stats["messages"] == len(got) and stats["errors"] == 0
    assert stats["messages"] + stats["dropped"] == expected, stats
    assert stats["dropped"] > 0
