"""Bounds and lifetimes of the janus-client compatible API: event inboxes have a bound (drop-oldest,
counted, one WARNING), an undecodable message never blocks a ``MessageTransaction``, and a
disconnected transport stops its sessions' keepalives."""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from _fake_janus import FakeJanus, frame
from janus_fast import JanusPlugin, JanusSession, JanusTransport, MessageTransaction, ProtocolError

BAD_JSON = [
    b'{"janus":"event","transaction":"%s","x":"\\ud800"}',  # a lone surrogate
    b'{"janus":"event","transaction":"%s","x":' + b"[" * 1100 + b"]" * 1100 + b"}",  # too deep
    b'{"janus":"event","transaction":"%s","x":1e400}',  # infinity
]


@dataclass
class Lazy:
    """Stands for the core's lazy message: the type is known, the body is decoded on demand."""

    raw: bytes
    janus: str = "event"


@pytest.mark.parametrize("bad", BAD_JSON)
async def test_an_undecodable_message_is_dropped_once_and_never_blocks(bad: bytes) -> None:
    raw = bad.replace(b"%s", b"t1")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    transaction = MessageTransaction()
    transaction.put_msg(Lazy(raw))
    transaction.put_msg(Lazy(b'{"janus":"event","transaction":"t1","n":2}'))
    with pytest.raises(ProtocolError, match="not valid JSON"):
        await transaction.get({"janus": "event"}, timeout=1)
    assert (await transaction.get({"janus": "event"}, timeout=1))["n"] == 2
    assert (await transaction.get(timeout=1))["n"] == 2  # the dropped one stays dropped
    assert transaction.leftovers() == []


async def test_an_undecodable_reply_from_a_fake_server_never_blocks_the_transaction() -> None:
    fake = await FakeJanus().start()
    transport = JanusTransport.create_transport(
        fake.url, config={"max_retries": 0, "timeout": 5, "ping_interval": None}
    )
    await transport.connect()
    try:
        await asyncio.wait_for(fake.connected.wait(), 5)
        transaction = await transport.send({"janus": "message", "body": {}})
        (request,) = await asyncio.wait_for(fake.read_requests(), 5)
        tid = request["transaction"].encode()
        for bad in BAD_JSON:
            fake.send(frame(0x1, bad.replace(b"%s", tid)))
        fake.send(frame(0x1, b'{"janus":"event","transaction":"' + tid + b'","n":7}'))
        errors = 0
        while True:  # the core may drop them first; if not, each costs one ProtocolError
            try:
                message = await transaction.get({"janus": "event"}, timeout=5)
                break
            except ProtocolError:
                errors += 1
        assert message["n"] == 7 and errors <= len(BAD_JSON)
        await transaction.done()
    finally:
        await transport.disconnect()
        await fake.close()


class SlowEcho(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.received = 0

    async def on_receive(self, response: dict[str, Any]) -> None:
        if response.get("janus") == "event":
            self.received += 1
            await self.gate.wait()


async def test_event_inboxes_are_bounded_drop_oldest_counted_and_warned_once(
    janus_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sent, bound = 200, 50
    async with JanusSession(base_url=janus_url, event_queue_size=bound) as session:
        plugin = SlowEcho()
        await plugin.attach(session)
        assert plugin.event_queue_size == bound
        with caplog.at_level(logging.WARNING, logger="janus_fast.events"):
            for _ in range(sent):
                transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
                await transaction.get({"janus": "ack"})
                await transaction.done()  # the event goes to on_receive
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while plugin.events_dropped < sent - bound - 2:  # all arrived: the inbox is full
                assert loop.time() < deadline, (plugin.received, plugin.events_dropped)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # stragglers
            assert plugin.received == 1  # the first is still in on_receive
            while plugin.received + plugin.events_dropped < sent:  # let the rest through
                plugin.gate.set()
                assert loop.time() < deadline, (plugin.received, plugin.events_dropped)
                await asyncio.sleep(0.05)
        assert plugin.received + plugin.events_dropped == sent
        assert plugin.events_dropped > 0 and plugin.received <= bound + 2  # one in on_receive
        warnings = [r for r in caplog.records if "events_dropped" in r.getMessage()]
        assert len(warnings) == 1
        await plugin.destroy()


def test_event_queue_size_is_validated() -> None:
    with pytest.raises(ValueError, match="event_queue_size"):
        JanusSession(base_url="ws://127.0.0.1:1", event_queue_size=0)


async def test_disconnect_stops_the_keepalive_of_live_sessions(janus_url: str) -> None:
    transport = JanusTransport.create_transport(janus_url)
    session = JanusSession(transport=transport, keepalive_interval=0.1)
    await session.create()
    task = session.keepalive_task
    assert task is not None and not task.done()
    await transport.disconnect()
    # disconnect() tells every session (transport_disconnected): the keepalive stops at once.
    assert session.keepalive_task is None
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 3)
    assert task.cancelled()
    await session.destroy()  # local release only: the transport is disconnected
    assert session.keepalive_task is None and not session.created


async def test_a_session_created_again_keeps_its_new_keepalive(janus_url: str) -> None:
    transport = JanusTransport.create_transport(janus_url)
    session = JanusSession(transport=transport, keepalive_interval=0.1)
    await session.create()
    first = session.keepalive_task
    await session.destroy()
    await session.create()  # at once: the first keepalive's cancellation has not run yet
    second = session.keepalive_task
    assert first is not None and second is not None and second is not first
    await asyncio.wait_for(asyncio.gather(first, return_exceptions=True), 3)
    assert first.cancelled()
    # The first task's end did not take the new one's place: it stays, and keeps the session.
    assert session.keepalive_task is second and not second.done()
    await asyncio.sleep(0.35)
    assert session.keepalive_task is second and not second.done()
    await session.destroy()
    await transport.disconnect()


class CountingEcho(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self) -> None:
        super().__init__()
        self.events = 0

    async def on_receive(self, response: dict[str, Any]) -> None:
        if response.get("janus") == "event":
            self.events += 1


def live_transactions() -> int:
    return sum(isinstance(obj, MessageTransaction) for obj in gc.get_objects())


async def test_transactions_dropped_without_done_are_released(janus_url: str) -> None:
    sent = 500
    async with JanusSession(base_url=janus_url) as session:
        plugin = CountingEcho()
        await plugin.attach(session)
        baseline = session.transport.stats()["pending"]
        before = live_transactions()
        transactions = [
            await plugin.send({"janus": "message", "body": {"audio": True}}) for _ in range(sent)
        ]
        await transactions[-1].get({"janus": "ack"}, timeout=10)
        assert session.transport.stats()["pending"] >= baseline + sent
        del transactions  # never done(): dropping them is the release
        gc.collect()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while session.transport.stats()["pending"] > baseline or plugin.events < sent:
            assert loop.time() < deadline, (session.transport.stats()["pending"], plugin.events)
            await asyncio.sleep(0.05)
        assert plugin.events == sent  # every event reached on_receive (kept ones or later ones)
        gc.collect()
        assert live_transactions() <= before  # nothing kept them or their messages
        await plugin.destroy()
