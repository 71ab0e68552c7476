"""``MqttEventReceiver``: consumes what Janus's MQTT event handler (``mqttevh``) publishes.

Rule: subscribes ``<topic>/#`` (that also matches ``<topic>`` itself, for ``addevent = false``);
each message is one event. ``<topic>/status`` carries mqttevh's connect/disconnect notices, not
events: counted (``status``) and skipped. The client library's incoming queue is bounded
(``max_queued``): a message that finds it full is discarded by the library and counted here
(``dropped``). Needs the optional extra ``janus-fast[mqtt]`` (aiomqtt),
imported only when the receiver starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from janus_fast.errors import InvalidOptionError
from janus_fast.eventhandlers._consumer import BrokerReceiver
from janus_fast.eventhandlers.stream import EventStream


def _aiomqtt() -> Any:
    try:
        import aiomqtt
    except ImportError as exc:
        raise ImportError(
            "MqttEventReceiver needs aiomqtt: pip install 'janus-fast[mqtt]'"
        ) from exc
    return aiomqtt


class MqttEventReceiver(BrokerReceiver):
    """Subscribe to mqttevh's events at an MQTT broker.

    ``topic`` is mqttevh's ``topic`` (default ``/janus/events``). ``stats()``: ``connects``,
    ``messages``, ``status``, ``errors``, ``dropped`` (messages discarded because the incoming
    queue held ``max_queued``).

    Args:
        stream: the stream the events go to (None: a new ``EventStream``, as ``receiver.stream``).
        host: the broker's host.
        port: the broker's port.
        topic: mqttevh's ``topic``; ``<topic>/#`` is subscribed.
        username: the broker user, if it requires one.
        password: the broker password; never logged or shown.
        client_id: the MQTT client id (None: one chosen by the client library).
        qos: the subscription's QoS (0, 1 or 2).
        max_queued: bound of the client library's incoming queue (a message beyond it is
            discarded and counted in ``dropped``).
        server: the tag set on every event (``event.server``; None: the event's emitter).
        reconnect_interval: seconds between attempts to get a lost link back.
        connect_timeout: seconds ``start()`` waits for the first subscription.

    Raises:
        InvalidOptionError: a bad port, QoS, bound or duration.
    """

    kind = "MQTT"

    def __init__(
        self,
        stream: EventStream | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        topic: str = "/janus/events",
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        qos: int = 0,
        max_queued: int = 10_000,
        server: str | None = None,
        reconnect_interval: float = 1.0,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__(
            stream,
            host=host,
            port=port,
            server=server,
            reconnect_interval=reconnect_interval,
            connect_timeout=connect_timeout,
        )
        if not topic or "#" in topic or "+" in topic:
            raise InvalidOptionError(f"topic must be mqttevh's base topic, not {topic!r}")
        if qos not in (0, 1, 2):
            raise InvalidOptionError(f"qos must be 0, 1 or 2, not {qos!r}")
        if not (isinstance(max_queued, int) and max_queued > 0):
            raise InvalidOptionError("max_queued must be an integer > 0")
        self.topic = topic.rstrip("/")
        self.client_id = client_id
        self.qos = qos
        self.max_queued = max_queued
        self._username = username
        self._password = password
        self._counters["status"] = 0
        self._counters["dropped"] = 0

    def __repr__(self) -> str:
        return (
            f"MqttEventReceiver(host={self.host!r}, port={self.port}, topic={self.topic!r}, "
            f"server={self.server!r}, auth={self._username is not None})"
        )

    def _library(self) -> Any:
        return _aiomqtt()

    async def _consume(self, ready: Callable[[], None]) -> None:
        aiomqtt = _aiomqtt()
        status_topic = f"{self.topic}/status"
        async with aiomqtt.Client(
            self.host,
            self.port,
            username=self._username,
            password=self._password,
            identifier=self.client_id,
            timeout=self.connect_timeout,
            max_queued_incoming_messages=self.max_queued,
            queue_type=_counting_queue(self._count),
        ) as client:
            await client.subscribe(f"{self.topic}/#", qos=self.qos)
            ready()
            async for message in client.messages:
                if str(message.topic) == status_topic:
                    self._count("status")
                    continue
                payload = message.payload
                if isinstance(payload, str):
                    payload = payload.encode()
                if isinstance(payload, bytes | bytearray):
                    self._deliver(bytes(payload))


def _counting_queue(count: Callable[[str], None]) -> type[asyncio.Queue[Any]]:
    """Return a queue class that counts (``dropped``) each put it refuses when full."""

    class CountingQueue(asyncio.Queue[Any]):
        def put_nowait(self, item: Any) -> None:
            try:
                super().put_nowait(item)
            except asyncio.QueueFull:
                count("dropped")  # the library discards it (and logs a warning)
                raise

    return CountingQueue
