"""The scripted Janus over MQTT: a fake Janus publishing through a real ``mosquitto``.

Rule: a real broker (``janus_fast.testing.MosquittoBroker``) carries the messages; the scripted
Janus is one more MQTT client of it, subscribed to Janus's request topics (``to-janus``,
``to-janus-admin``) and publishing each plan's messages, one publish each (QoS 0, in order), to
the matching response topic (``from-janus``, ``from-janus-admin``), with the brain and the armed
mutations of ``_fuzz_server``. Every client on a response topic sees every message on it, so
pushed traffic reaches them all. The broker holds the connection, not Janus: a plan's ``close``
only ends the answer there (replies lost, as when Janus restarts). aiomqtt waits for each
incoming message in a task of its own: its coroutine is ``FuzzServerQueue.get``, never one of
the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from _fuzz_packet import PacketScriptedJanus

from janus_fast.testing import MosquittoBroker

#: Janus's request topic -> its response topic (the Janus API's and the Admin API's).
TOPICS = {"to-janus": "from-janus", "to-janus-admin": "from-janus-admin"}


class FuzzServerQueue(asyncio.Queue):  # type: ignore[type-arg]
    """The fake Janus's incoming queue: aiomqtt waits on it in a task of its own for each
    message, which the fuzzer tells from the client's by this coroutine's name."""

    async def get(self) -> Any:
        """Take the next message (waiting for one).

        Returns:
            The message.
        """
        return await super().get()


class MqttScriptedJanus(PacketScriptedJanus):
    """The scripted Janus behind ``broker`` (a running ``mosquitto``, shared by the tests of a
    module: it starts in about half a second)."""

    def __init__(self, broker: MosquittoBroker) -> None:
        super().__init__()
        self.broker = broker
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        broker = self.broker
        return f"mqtt://{broker.username}:{broker.password}@127.0.0.1:{broker.port}/"

    async def start(self) -> MqttScriptedJanus:
        import aiomqtt

        client = aiomqtt.Client(
            "127.0.0.1",
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=f"fuzz-janus-{id(self)}",
            queue_type=FuzzServerQueue,
            max_queued_outgoing_messages=100_000,
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        client.pending_calls_threshold = 100_000
        await client.__aenter__()
        self._client = client
        for topic in TOPICS:
            await client.subscribe(topic)
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="fuzz-server-mqtt")
        # The plugins' own topics answer nothing: a response topic is the peer to push to.
        self._locks.setdefault("from-janus", asyncio.Lock())
        return self

    async def _read(self) -> None:
        async for message in self._client.messages:
            payload = message.payload
            if isinstance(payload, bytes | bytearray):
                self.answer(bytes(payload), TOPICS.get(str(message.topic), "from-janus"))

    def reset(self) -> None:
        super().reset()
        self._locks.setdefault("from-janus", asyncio.Lock())

    async def send(self, peer: Any, data: bytes) -> None:
        with contextlib.suppress(Exception):  # the link to the broker going: lost, like Janus's
            await asyncio.wait_for(self._client.publish(peer, data, qos=0), 1.0)

    async def drop(self, peer: Any) -> None:
        return None

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.__aexit__(None, None, None), 2.0)
        await super().close()
