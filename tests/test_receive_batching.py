"""Receive batching (SO_RCVLOWAT) on the WebSocket transport: it engages under load against a real
Janus, for replies owed and for a dense event stream (a VideoRoom fan-in), without losing or
delaying anything, and its guard frees replies and events that would otherwise wait for a batch
that never completes (a fake server: a real Janus cannot be made to answer only some requests or
to stop an event stream at an exact point)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from _fake_janus import FakeJanus, text
from janus_fast import JanusPlugin, JanusSession, JanusTransport, RequestTimeoutError
from janus_fast.testing import JanusServer

NO_RETRY = {"max_retries": 0, "timeout": 10, "ping_interval": None}


class _EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


class _Room(JanusPlugin):
    """A VideoRoom handle that notes the ``joining`` events it receives, and when."""

    name = "janus.plugin.videoroom"

    def __init__(self) -> None:
        super().__init__()
        self.joined_by: list[int] = []
        self.last_at = 0.0

    async def on_receive(self, response: dict[str, Any]) -> None:
        data = (response.get("plugindata") or {}).get("data") or {}
        if "joining" in data:
            self.joined_by.append(data["joining"]["id"])
            self.last_at = time.perf_counter()


async def _room_request(handle: _Room, body: dict[str, Any], reply: str) -> dict[str, Any]:
    async with await handle.send({"janus": "message", "body": body}) as tx:
        message: dict[str, Any] = await tx.get({"janus": reply}, timeout=10)
    data = message["plugindata"]["data"]
    assert "error" not in data, data
    return data


async def test_a_room_fan_in_is_batched_and_every_event_arrives(janus_server: JanusServer) -> None:
    """64 handles join one room with notify_joining, 8 at a time: Janus pushes 2,016 ``joining``
    events; the event stream raises the watermark by itself, and each handle gets exactly the
    joins after its own."""
    count = 64
    async with JanusSession(base_url=janus_server.ws_url, **NO_RETRY) as session:
        handles = [_Room() for _ in range(count)]
        for handle in handles:
            await handle.attach(session)
        room = random.randrange(10**9, 2 * 10**9)
        create = {"request": "create", "room": room, "publishers": count, "notify_joining": True}
        await _room_request(handles[0], create, "success")
        stats = session.transport.receive_batching_stats  # type: ignore[attr-defined]
        streams_before, reads_before = stats["event_streams"], stats["reads"]
        gate = asyncio.Semaphore(8)
        ids: list[int] = [0] * count

        async def join(index: int) -> None:
            body = {"request": "join", "ptype": "publisher", "room": room, "display": f"p{index}"}
            async with gate:
                ids[index] = (await _room_request(handles[index], body, "event"))["id"]

        await asyncio.gather(*(join(index) for index in range(count)))
        joined_at = time.perf_counter()
        expected = count * (count - 1) // 2
        for _ in range(200):
            if sum(len(handle.joined_by) for handle in handles) >= expected:
                break
            await asyncio.sleep(0.01)
        assert sum(len(handle.joined_by) for handle in handles) == expected
        # Every participant heard of each later one exactly once (when it joined is known only
        # to Janus, so: no duplicates, no self, and the first one joined heard of the most).
        for index, handle in enumerate(handles):
            assert len(set(handle.joined_by)) == len(handle.joined_by)
            assert ids[index] not in handle.joined_by
        assert max(handles, key=lambda handle: len(handle.joined_by)).joined_by
        assert max(handle.last_at for handle in handles) - joined_at < 2.0
        stats = session.transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["event_streams"] > streams_before, stats
        assert stats["reads"] - reads_before < expected / 2, stats  # several events per read
        await _room_request(handles[0], {"request": "destroy", "room": room}, "success")
        for handle in handles:
            await handle.destroy()


async def test_pings_in_flight_are_batched_and_all_answered(janus_server: JanusServer) -> None:
    transport = JanusTransport.create_transport(janus_server.ws_url, config=NO_RETRY)
    await transport.connect()
    try:
        for _ in range(5):
            replies = await asyncio.gather(*(transport.ping() for _ in range(256)))
            assert [reply["janus"] for reply in replies] == ["pong"] * 256
        stats = transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["raised"] > 0
        assert stats["watermark"] == 1  # nothing owed any more: back to the kernel default
    finally:
        await transport.disconnect()


async def test_plugin_messages_in_flight_are_batched(janus_server: JanusServer) -> None:
    async with JanusSession(base_url=janus_server.ws_url, **NO_RETRY) as session:
        handles = [_EchoTest() for _ in range(4)]
        for handle in handles:
            await handle.attach(session)

        async def compat(handle: _EchoTest) -> dict[str, Any]:
            async with await handle.send({"janus": "message", "body": {"audio": True}}) as tx:
                event = await tx.get({"janus": "event"})
                await tx.get({"janus": "ack"})
                return event

        for _ in range(3):
            native = await asyncio.gather(
                *(handles[i % 4].request({"audio": True}) for i in range(64))
            )
            assert all(reply["plugindata"]["data"]["result"] == "ok" for reply in native)
            streamed = await asyncio.gather(*(compat(handles[i % 4]) for i in range(64)))
            assert all(event["plugindata"]["data"]["result"] == "ok" for event in streamed)
        stats = session.transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["raised"] > 0
        for handle in handles:
            await handle.destroy()


async def test_batching_can_be_turned_off(janus_server: JanusServer) -> None:
    config = {**NO_RETRY, "receive_batching": False}
    transport = JanusTransport.create_transport(janus_server.ws_url, config=config)
    await transport.connect()
    try:
        await asyncio.gather(*(transport.ping() for _ in range(64)))
        assert transport.receive_batching_stats == {  # type: ignore[attr-defined]
            "watermark": 0,
            "raised": 0,
            "event_streams": 0,
            "guard_trips": 0,
            "guard_checks": 0,
            "quiet_drops": 0,
            "reads": 0,
        }
    finally:
        await transport.disconnect()


async def test_guard_frees_replies_when_the_rest_of_the_batch_never_comes() -> None:
    fake = await FakeJanus().start()
    transport = JanusTransport.create_transport(fake.url, config=NO_RETRY)
    await transport.connect()
    try:
        pings = [asyncio.ensure_future(transport.ping()) for _ in range(16)]
        requests: list[dict[str, Any]] = []
        while len(requests) < 16:
            requests.extend(await asyncio.wait_for(fake.read_requests(), 5))
        stats = transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["watermark"] > 100  # 16 pings owed: the reader waits for about 8 pongs
        # Answer one ping only: its pong is below the watermark and the others never come.
        started = time.perf_counter()
        fake.send(text({"janus": "pong", "transaction": requests[0]["transaction"]}))
        done, _ = await asyncio.wait(pings, timeout=2, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1 and done.pop().result()["janus"] == "pong"
        assert time.perf_counter() - started < 0.5
        assert transport.receive_batching_stats["guard_trips"] >= 1  # type: ignore[attr-defined]
        # The rest, answered late, still arrive.
        for request in requests[1:]:
            fake.send(text({"janus": "pong", "transaction": request["transaction"]}))
        replies = await asyncio.wait_for(asyncio.gather(*pings), 2)
        assert all(reply["janus"] == "pong" for reply in replies)
    finally:
        await transport.disconnect()
        await fake.close()


async def test_expired_requests_stop_counting_as_owed() -> None:
    fake = await FakeJanus().start()
    transport = JanusTransport.create_transport(fake.url, config={**NO_RETRY, "timeout": 0.2})
    await transport.connect()
    try:
        results = await asyncio.gather(
            *(transport.ping() for _ in range(16)), return_exceptions=True
        )
        assert all(isinstance(result, RequestTimeoutError) for result in results)
        # Nothing was read or sent since: the guard lowers the watermark on its own (it ticks
        # every millisecond; allow a loaded machine a second).
        for _ in range(100):
            if transport.receive_batching_stats["watermark"] == 1:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
        assert transport.receive_batching_stats["watermark"] == 1  # type: ignore[attr-defined]
        unanswered: list[dict[str, Any]] = []
        while len(unanswered) < 16:
            unanswered.extend(await asyncio.wait_for(fake.read_requests(), 5))
        ping = asyncio.ensure_future(transport.ping())
        request = (await asyncio.wait_for(fake.read_requests(), 5))[0]
        assert transport.receive_batching_stats["watermark"] == 1  # type: ignore[attr-defined]
        fake.send(text({"janus": "pong", "transaction": request["transaction"]}))
        assert (await asyncio.wait_for(ping, 0.5))["janus"] == "pong"
    finally:
        await transport.disconnect()
        await fake.close()


async def test_guard_backs_off_while_the_replies_owed_do_not_come() -> None:
    """Replies owed that take long (or never come) must not keep a 1 ms guard timer running: it
    stops after a few quiet ticks, and the replies, when they come, are read at once."""
    fake = await FakeJanus().start()
    config = {**NO_RETRY, "coalesce": False}  # one request per frame, no version probe
    transport = JanusTransport.create_transport(fake.url, config=config)
    await transport.connect()
    pings = [asyncio.ensure_future(transport.ping()) for _ in range(16)]
    try:
        requests: list[dict[str, Any]] = []
        while len(requests) < 16:
            requests.extend(await asyncio.wait_for(fake.read_requests(), 5))
        stats = transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["watermark"] > 100 or stats["quiet_drops"] > 0
        checks_before = stats["guard_checks"]
        await asyncio.sleep(0.5)  # nothing arrives: a 1 ms guard would tick ~500 times
        stats = transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["guard_checks"] - checks_before < 50, stats
        assert stats["quiet_drops"] >= 1
        assert stats["watermark"] == 1
        started = time.perf_counter()
        for request in requests:
            fake.send(text({"janus": "pong", "transaction": request["transaction"]}))
        replies = await asyncio.wait_for(asyncio.gather(*pings), 2)
        assert all(reply["janus"] == "pong" for reply in replies)
        assert time.perf_counter() - started < 0.5
    finally:
        for ping in pings:
            ping.cancel()
        await asyncio.gather(*pings, return_exceptions=True)
        await transport.disconnect()
        await fake.close()


async def test_the_tail_of_an_event_stream_is_not_held_back() -> None:
    """A dense stream of events raises the watermark; when it stops with a partial batch, the
    last events still arrive within the guard's few milliseconds, and batching goes off."""
    fake = await FakeJanus().start()
    config = {**NO_RETRY, "coalesce": False}  # one request per frame, no version probe
    transport = JanusTransport.create_transport(fake.url, config=config)
    await transport.connect()
    session_id, handle_id = 1111, 2222
    handle = _Room()
    try:
        transport.register_session(session_id, JanusSession(transport=transport))
        transport.register_handle(session_id, handle_id, handle)

        def joining(number: int) -> bytes:
            data = {"videoroom": "event", "room": 1, "joining": {"id": number, "display": "x"}}
            return text(
                {
                    "janus": "event",
                    "session_id": session_id,
                    "sender": handle_id,
                    "plugindata": {"plugin": "janus.plugin.videoroom", "data": data},
                }
            )

        number = 0
        for _ in range(40):  # ~1.9 KB per loop iteration: a dense stream
            for _ in range(10):
                number += 1
                fake.send(joining(number))
            # One iteration, not a timed sleep: asyncio's own loop sleeps at least 1 ms in its
            # selector for any timer, which is no longer "dense" by the estimate's rule.
            await asyncio.sleep(0)
        stats = transport.receive_batching_stats  # type: ignore[attr-defined]
        assert stats["event_streams"] >= 1, stats
        number += 1
        fake.send(joining(number))  # the tail: one event, far below the watermark
        sent_at = time.perf_counter()
        while len(handle.joined_by) < number and time.perf_counter() - sent_at < 2:
            await asyncio.sleep(0.0005)
        assert handle.joined_by == list(range(1, number + 1))  # all, in order
        assert handle.last_at - sent_at < 0.1
        await asyncio.sleep(0.05)
        assert transport.receive_batching_stats["watermark"] == 1  # type: ignore[attr-defined]
    finally:
        await transport.disconnect()
        await fake.close()


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


async def test_no_descriptor_is_left_open_across_connects_and_reconnects(
    janus_server: JanusServer,
) -> None:
    from janus_fast.testing import FaultProxy

    before = _open_fds()
    for _ in range(5):
        transport = JanusTransport.create_transport(janus_server.ws_url, config=NO_RETRY)
        await transport.connect()
        await asyncio.gather(*(transport.ping() for _ in range(32)))
        await transport.disconnect()
    proxy = await FaultProxy(janus_server.ports.ws).start()
    transport = JanusTransport.create_transport(
        proxy.url(), config={**NO_RETRY, "max_retries": 5, "retry_delay": 0.01}
    )
    await transport.connect()
    reconnects: list[str] = []
    transport.on_connection_event(
        lambda event: reconnects.append(event.kind) if event.kind == "reconnected" else None
    )

    async def reconnected(count: int) -> None:
        while len(reconnects) < count:
            await asyncio.sleep(0.01)

    try:
        for attempt in range(3):
            await asyncio.gather(*(transport.ping() for _ in range(32)))
            proxy.cut()
            await asyncio.wait_for(reconnected(attempt + 1), 5)
        await asyncio.gather(*(transport.ping() for _ in range(32)))
    finally:
        await transport.disconnect()
        await proxy.close()
    await asyncio.sleep(0.05)
    assert _open_fds() <= before + 1  # +1 at most: a loop-owned descriptor opened on first use


async def test_janus_puts_the_session_id_in_every_reply_within_a_session(
    janus_server: JanusServer,
) -> None:
    """The fact the core's lower bound of a reply's size rests on (``min_reply_wire_bytes``),
    checked on the real server with a plain WebSocket client: acks, successes, events and errors
    of requests sent in a session all carry ``session_id`` and the transaction."""
    import json

    import websockets

    async with websockets.connect(janus_server.ws_url, subprotocols=["janus-protocol"]) as ws:

        async def replies(request: dict[str, Any], count: int = 1) -> list[dict[str, Any]]:
            await ws.send(json.dumps(request))
            return [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(count)]

        (created,) = await replies({"janus": "create", "transaction": "c"})
        session = created["data"]["id"]
        (attached,) = await replies(
            {
                "janus": "attach",
                "session_id": session,
                "plugin": "janus.plugin.echotest",
                "transaction": "t1",
            }
        )
        handle = attached["data"]["id"]
        seen = [attached]
        seen += await replies({"janus": "keepalive", "session_id": session, "transaction": "t2"})
        seen += await replies(
            {
                "janus": "message",
                "session_id": session,
                "handle_id": handle,
                "body": {"audio": True},
                "transaction": "t3",
            },
            2,
        )
        seen += await replies(
            {
                "janus": "trickle",
                "session_id": session,
                "handle_id": handle,
                "candidate": {"completed": True},
                "transaction": "t4",
            }
        )
        seen += await replies({"janus": "bogus", "session_id": session, "transaction": "t5"})
        seen += await replies({"janus": "destroy", "session_id": session, "transaction": "t6"})
    assert sorted(reply["janus"] for reply in seen) == [
        "ack",
        "ack",
        "ack",
        "error",
        "event",
        "success",
        "success",
    ]
    for reply in seen:
        assert reply["session_id"] == session, reply
        assert reply["transaction"].startswith("t"), reply
