"""Reconnection is supervised: whatever a server says after a cut, the transport ends in a typed
state (reconnected, or given_up with the error and every session lost), never half-alive.

A scripted fake server plays the Janus that comes back after the cut (a real Janus cannot be made
to send a malformed ``info`` or ``claim`` reply)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from _fake_janus import FakeJanus, text
from janus_fast import (
    ConnectionClosedError,
    EventType,
    JanusPlugin,
    JanusSession,
    ProtocolError,
    RequestTimeoutError,
    TransportError,
)
from janus_fast.events import ConnectionEvent

OPTIONS = {
    "max_retries": 3,
    "retry_delay": 0.01,
    "retry_delay_max": 0.02,
    "timeout": None,  # a request waiting for the connection has no deadline of its own
    "ping_interval": None,
    "connect_timeout": 0.5,
    "keepalive_interval": 60,  # no info request to derive it
    "coalesce": False,  # one request per frame, and no version probe after the handshake
}


class Fake(FakeJanus):
    """The scripted server, closing every connection it accepted (not only the last) at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: list[asyncio.StreamWriter] = []

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await super().accept(reader, writer)

    async def close(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        await super().close()


async def next_requests(fake: FakeJanus) -> list[dict[str, Any]]:
    """The requests of the next text frame, as they are (an ``info`` is not answered here)."""

    async def read() -> list[dict[str, Any]]:
        opcode, payload = await fake.read_frame()
        while opcode != 0x1:
            opcode, payload = await fake.read_frame()
        decoder = json.JSONDecoder()
        requests, index, body = [], 0, payload.decode()
        while index < len(body):
            request, index = decoder.raw_decode(body, index)
            requests.append(request)
        return requests

    return await asyncio.wait_for(read(), 5)


async def answer_create(fake: FakeJanus, session_id: int) -> None:
    (create,) = await next_requests(fake)
    assert create["janus"] == "create"
    fake.send(
        text({"janus": "success", "transaction": create["transaction"], "data": {"id": session_id}})
    )


async def answer_attach(fake: FakeJanus, session_id: int, handle_id: int) -> None:
    (attach,) = await next_requests(fake)
    assert attach["janus"] == "attach" and attach["session_id"] == session_id
    fake.send(
        text(
            {
                "janus": "success",
                "transaction": attach["transaction"],
                "session_id": session_id,
                "data": {"id": handle_id},
            }
        )
    )


async def cut_and_wait_for_the_next_connection(fake: FakeJanus) -> None:
    fake.connected.clear()
    assert fake.writer is not None
    fake.writer.transport.abort()
    await asyncio.wait_for(fake.connected.wait(), 5)


def refuse_claim(fake: FakeJanus, claim: dict[str, Any], session_id: int) -> None:
    """Answer a recovery's ``claim`` as Janus does for a session it no longer has (458)."""
    error = {"code": 458, "reason": f"No such session {session_id}"}
    fake.send(text({"janus": "error", "transaction": claim["transaction"], "error": error}))


def raw_frame(payload: bytes) -> bytes:
    """A text frame with bytes that are not valid JSON text for Python (a lone surrogate)."""
    from _fake_janus import frame

    return frame(0x1, payload)


INFO_REPLIES = {
    "reclaim timeout as a string": lambda tx: text(
        {"janus": "server_info", "transaction": tx, "reclaim-session-timeout": "30s"}
    ),
    "a lone surrogate": lambda tx: raw_frame(
        b'{"janus":"server_info","transaction":"'
        + tx.encode()
        + b'","name":"\\ud800","reclaim-session-timeout":30}'
    ),
    "reclaim timeout as a bool": lambda tx: text(
        {"janus": "server_info", "transaction": tx, "reclaim-session-timeout": True}
    ),
}


async def _expect_given_up(
    session: JanusSession, fake: FakeJanus, events: list[ConnectionEvent], waiting: Any
) -> ConnectionEvent:
    for _ in range(250):
        if any(e.kind == "given_up" for e in events):
            break
        await asyncio.sleep(0.02)
    given_up = [e for e in events if e.kind == "given_up"]
    assert given_up, [e.kind for e in events]
    transport = session.transport
    assert not transport.connected
    assert not transport.reconnecting  # type: ignore[attr-defined]
    # The request that waited for the connection (no deadline) is told, not left hanging.
    with pytest.raises(ConnectionClosedError):
        await asyncio.wait_for(waiting, 2)
    assert not session.created
    # The object is usable again: connect() really connects.
    fake.connected.clear()
    await asyncio.wait_for(transport.connect(), 5)
    await asyncio.wait_for(fake.connected.wait(), 5)
    assert transport.connected
    ping = asyncio.ensure_future(transport.ping())
    (request,) = await next_requests(fake)
    fake.send(text({"janus": "pong", "transaction": request["transaction"]}))
    assert (await asyncio.wait_for(ping, 2))["janus"] == "pong"
    return given_up[0]


async def answer_every_info(fake: FakeJanus, reply: Any) -> None:
    """On every connection the client makes, answer each ``info`` with ``reply(transaction)``
    (recovery may try several times)."""
    reader = None
    while True:
        while fake.reader is reader:
            await asyncio.sleep(0.005)
        reader = fake.reader
        try:
            while True:
                for request in await next_requests(fake):
                    if request.get("janus") == "info":
                        fake.send(reply(request["transaction"]))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
            pass


async def stop(task: asyncio.Future[None]) -> None:
    """Cancel ``task`` until it has really finished.

    One cancel is not always enough: on Python 3.11 and older a cancel that lands as the task's
    own ``wait_for`` completes is lost (``wait_for`` returns the result), and a cancelled
    ``wait_for`` may still hold the fake's reader for a few loop turns.
    """
    for _ in range(50):
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
        if task.done():
            break
    assert task.done(), "the scripted server did not stop"
    if not task.cancelled():
        task.result()  # an error of its own is the test's failure


@pytest.mark.parametrize("case", sorted(INFO_REPLIES))
async def test_a_malformed_info_after_reconnecting_gives_up_cleanly(case: str) -> None:
    fake = await Fake().start()
    session = JanusSession(base_url=fake.url, **OPTIONS)
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    lost: list[Any] = []
    session.on(EventType.LOST, lost.append)
    server: asyncio.Future[None] | None = None
    try:
        creating = asyncio.ensure_future(session.create())
        await asyncio.wait_for(fake.connected.wait(), 5)
        await answer_create(fake, 1234)
        await asyncio.wait_for(creating, 5)
        fake.connected.clear()
        server = asyncio.ensure_future(answer_every_info(fake, INFO_REPLIES[case]))
        assert fake.writer is not None
        fake.writer.transport.abort()
        await asyncio.wait_for(fake.connected.wait(), 5)
        waiting = asyncio.ensure_future(session.transport.ping())
        for _ in range(250):
            if any(e.kind == "given_up" for e in events):
                break
            await asyncio.sleep(0.02)
        # The scripted server must have stopped reading before the test reads the socket itself.
        await stop(server)
        given_up = await _expect_given_up(session, fake, events, waiting)
        if case == "a lone surrogate":
            # A core that drops undecodable JSON as malformed never completes the info: each
            # attempt then times out. Either way recovery ends, typed.
            assert isinstance(given_up.error, (ProtocolError, RequestTimeoutError))
        else:
            assert isinstance(given_up.error, ProtocolError), repr(given_up.error)
            assert "reclaim-session-timeout" in str(given_up.error)
        assert lost
    finally:
        if server is not None:
            await stop(server)
        await session.transport.disconnect()
        await fake.close()


async def test_a_malformed_create_reply_while_recreating_gives_up_cleanly() -> None:
    fake = await Fake().start()
    session = JanusSession(base_url=fake.url, reconnect_policy="recreate", **OPTIONS)
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    try:
        creating = asyncio.ensure_future(session.create())
        await asyncio.wait_for(fake.connected.wait(), 5)
        await answer_create(fake, 77)
        await asyncio.wait_for(creating, 5)
        await cut_and_wait_for_the_next_connection(fake)
        waiting = asyncio.ensure_future(session.transport.ping())
        (info,) = await next_requests(fake)
        fake.send(
            text(
                {
                    "janus": "server_info",
                    "transaction": info["transaction"],
                    "reclaim-session-timeout": 0,
                }
            )
        )
        (claim,) = await next_requests(fake)  # sent with the info
        assert claim["janus"] == "claim" and claim["session_id"] == 77
        refuse_claim(fake, claim, 77)
        (create,) = await next_requests(fake)
        assert create["janus"] == "create" and create["id"] == 77
        # "success" without the data the client reads (a KeyError before supervision).
        fake.send(text({"janus": "success", "transaction": create["transaction"]}))
        given_up = await _expect_given_up(session, fake, events, waiting)
        assert isinstance(given_up.error, ProtocolError), repr(given_up.error)
    finally:
        await session.transport.disconnect()
        await fake.close()


class RebindBug(JanusPlugin):
    """An EchoTest handle whose ``rebind`` (a public method a subclass may override) raises."""

    name = "janus.plugin.echotest"

    def rebind(self, new_id: int) -> None:
        raise RuntimeError("a bug in rebind")


async def test_an_unexpected_exception_in_recovery_is_logged_and_gives_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Recovery re-creates the session and re-attaches its handle, whose ``rebind`` raises
    something untyped (a bug): recovery gives up with it wrapped, logged with its traceback."""
    fake = await Fake().start()
    session = JanusSession(base_url=fake.url, reconnect_policy="recreate", **OPTIONS)
    transport = session.transport
    events: list[ConnectionEvent] = []
    transport.on_connection_event(events.append)
    try:
        creating = asyncio.ensure_future(session.create())
        await asyncio.wait_for(fake.connected.wait(), 5)
        await answer_create(fake, 5)
        await asyncio.wait_for(creating, 5)
        attaching = asyncio.ensure_future(RebindBug().attach(session))
        await answer_attach(fake, 5, 50)
        await asyncio.wait_for(attaching, 5)
        await cut_and_wait_for_the_next_connection(fake)
        waiting = asyncio.ensure_future(transport.ping())
        (info,) = await next_requests(fake)
        assert info["janus"] == "info"
        fake.send(
            text(
                {
                    "janus": "server_info",
                    "transaction": info["transaction"],
                    "reclaim-session-timeout": 0,
                }
            )
        )
        (claim,) = await next_requests(fake)  # sent with the info
        refuse_claim(fake, claim, 5)
        (create,) = await next_requests(fake)
        assert create["janus"] == "create" and create["id"] == 5
        fake.send(
            text({"janus": "success", "transaction": create["transaction"], "data": {"id": 5}})
        )
        await answer_attach(fake, 5, 51)  # the new handle id: the plugin's rebind raises
        given_up = await _expect_given_up(session, fake, events, waiting)
        assert isinstance(given_up.error, TransportError)
        assert isinstance(given_up.error.__cause__, RuntimeError)
        assert "a bug in rebind" in str(given_up.error)
        assert any(r.exc_info and r.levelno == logging.ERROR for r in caplog.records)
    finally:
        await transport.disconnect()
        await fake.close()


async def test_a_connection_lost_during_recovery_fails_its_requests_at_once() -> None:
    """The info sent on the new socket fails when that socket goes, not at its deadline."""
    fake = await Fake().start()
    session = JanusSession(base_url=fake.url, **{**OPTIONS, "connect_timeout": 5})
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    try:
        creating = asyncio.ensure_future(session.create())
        await asyncio.wait_for(fake.connected.wait(), 5)
        await answer_create(fake, 9)
        await asyncio.wait_for(creating, 5)
        await cut_and_wait_for_the_next_connection(fake)
        (info,) = await next_requests(fake)
        assert info["janus"] == "info"
        loop = asyncio.get_running_loop()
        started = loop.time()
        await cut_and_wait_for_the_next_connection(fake)  # the info is never answered
        (info,) = await next_requests(fake)
        assert info["janus"] == "info"
        assert loop.time() - started < 2  # not the 5 s deadline of the first info
        assert [e.kind for e in events].count("reconnecting") == 2
        fake.send(
            text(
                {
                    "janus": "server_info",
                    "transaction": info["transaction"],
                    "reclaim-session-timeout": 30,
                }
            )
        )
        (claim,) = await next_requests(fake)
        assert claim["janus"] == "claim" and claim["session_id"] == 9
        fake.send(text({"janus": "success", "transaction": claim["transaction"], "session_id": 9}))
        for _ in range(100):
            if "reconnected" in [e.kind for e in events]:
                break
            await asyncio.sleep(0.02)
        assert "reconnected" in [e.kind for e in events]
        assert session.created
    finally:
        await session.transport.disconnect()
        await fake.close()


async def test_recreate_policy_claims_when_the_server_now_keeps_sessions() -> None:
    """Known not to keep sessions, Janus is asked no claims with the info; if the new info says
    it keeps them now, the claims follow and the session comes back as it was."""
    fake = await Fake().start()
    session = JanusSession(base_url=fake.url, reconnect_policy="recreate", **OPTIONS)
    events: list[ConnectionEvent] = []
    session.transport.on_connection_event(events.append)
    try:
        creating = asyncio.ensure_future(session.create())
        await asyncio.wait_for(fake.connected.wait(), 5)
        await answer_create(fake, 41)
        await asyncio.wait_for(creating, 5)
        asking = asyncio.ensure_future(session.transport.info())
        (info,) = await next_requests(fake)
        fake.send(
            text(
                {
                    "janus": "server_info",
                    "transaction": info["transaction"],
                    "reclaim-session-timeout": 0,
                }
            )
        )
        await asyncio.wait_for(asking, 5)
        await cut_and_wait_for_the_next_connection(fake)
        (info,) = await next_requests(fake)  # alone: no claim sent with it
        assert info["janus"] == "info"
        fake.send(
            text(
                {
                    "janus": "server_info",
                    "transaction": info["transaction"],
                    "reclaim-session-timeout": 30,
                }
            )
        )
        (claim,) = await next_requests(fake)
        assert claim["janus"] == "claim" and claim["session_id"] == 41
        fake.send(text({"janus": "success", "transaction": claim["transaction"], "session_id": 41}))
        for _ in range(100):
            if "reconnected" in [e.kind for e in events]:
                break
            await asyncio.sleep(0.02)
        assert "reconnected" in [e.kind for e in events]
        assert session.created and session.id == 41
    finally:
        await session.transport.disconnect()
        await fake.close()
