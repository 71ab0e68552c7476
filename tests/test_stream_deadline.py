"""A waiting ``MessageTransaction.get`` keeps its deadline on the stream's own core entry.

Rule: a ``get`` registers nothing of its own in the transport's core (no second entry per wait);
its deadline fails only that ``get`` (``RequestTimeoutError``), the stream lives on and later
gets still read its messages; ``done()`` leaves nothing behind. Real Janus, both transports.
"""

from __future__ import annotations

import asyncio

import pytest

from janus_fast import JanusPlugin, JanusSession, RequestTimeoutError


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


async def test_a_get_deadline_lives_on_the_stream_entry_and_fails_only_that_get(
    janus_url: str,
) -> None:
    session = JanusSession(base_url=janus_url)
    echo = EchoTest()
    try:
        await echo.attach(session)
        transport = session.transport
        idle = transport.stats()["pending"]  # a long poll may hold one (HTTP)
        transaction = await echo.send({"janus": "message", "body": {"audio": True}})
        event = await transaction.get({"janus": "event"}, timeout=5)
        assert event["plugindata"]["data"]["result"] == "ok"
        waiting = asyncio.ensure_future(transaction.get({"janus": "never"}, timeout=0.3))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        # Only the stream itself is registered while its get waits.
        assert transport.stats()["pending"] == idle + 1
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(waiting, 5)
        # The stream outlived that get: its kept ack is still there, and a later wait with a
        # later deadline times out on its own deadline (the earlier one does not fire again).
        assert (await transaction.get({"janus": "ack"}, timeout=5))["janus"] == "ack"
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RequestTimeoutError):
            await transaction.get({"janus": "never"}, timeout=0.4)
        assert loop.time() - started >= 0.35
        assert transport.stats()["pending"] == idle + 1
        await transaction.done()
        assert transport.stats()["pending"] == idle
    finally:
        await echo.destroy()
        await session.destroy()
        await session.transport.disconnect()


async def test_done_while_a_get_waits_keeps_that_gets_deadline(janus_url: str) -> None:
    """``done()`` makes the transport forget the stream, with the deadline on its entry: the
    waiting ``get`` still times out at its own deadline (it never waits forever)."""
    session = JanusSession(base_url=janus_url)
    echo = EchoTest()
    try:
        await echo.attach(session)
        transaction = await echo.send({"janus": "message", "body": {"audio": True}})
        waiting = asyncio.ensure_future(transaction.get({"janus": "never"}, timeout=0.3))
        await asyncio.sleep(0.05)
        await transaction.done()
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(waiting, 3)
    finally:
        await echo.destroy()
        await session.destroy()
        await session.transport.disconnect()


async def test_concurrent_gets_on_one_stream_each_get_their_message_or_deadline(
    janus_url: str,
) -> None:
    """Two gets waiting on one stream at once: each returns its own message, and one whose
    message never comes fails at its own deadline (none waits forever)."""
    session = JanusSession(base_url=janus_url)
    echo = EchoTest()
    try:
        await echo.attach(session)
        transaction = await echo.send({"janus": "message", "body": {"audio": True}})
        never = asyncio.ensure_future(transaction.get({"janus": "never"}, timeout=0.5))
        await asyncio.sleep(0)  # waiting first
        event, ack = await asyncio.wait_for(
            asyncio.gather(
                transaction.get({"janus": "event"}, timeout=5),
                transaction.get({"janus": "ack"}, timeout=5),
            ),
            5,
        )
        assert (event["janus"], ack["janus"]) == ("event", "ack")
        with pytest.raises(RequestTimeoutError):
            await asyncio.wait_for(never, 3)
        await transaction.done()
    finally:
        await echo.destroy()
        await session.destroy()
        await session.transport.disconnect()
