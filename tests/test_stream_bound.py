"""A ``send()`` stream (``MessageTransaction``) keeps at most ``MAX_KEPT_MESSAGES`` messages: a
server sending thousands of events with one transaction id costs bounded memory; the oldest are
dropped, counted in ``messages_dropped`` (only those no ``get`` had returned) with one warning.

Rule: the server is the scripted fake (a real Janus sends a request's replies a handful at a
time and cannot be made to flood one transaction); everything is loopback and bounded.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from _fake_janus import FakeJanus, frame
from janus_fast import JanusTransport, MessageTransaction
from janus_fast.message_transaction import MAX_KEPT_MESSAGES

SENT = 5_000


async def test_a_flooded_stream_keeps_the_newest_messages_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = await FakeJanus().start()
    transport = JanusTransport.create_transport(
        fake.url, config={"max_retries": 0, "timeout": 10, "ping_interval": None}
    )
    await transport.connect()
    try:
        await asyncio.wait_for(fake.connected.wait(), 5)
        transaction = await transport.send({"janus": "message", "body": {}})
        (request,) = await asyncio.wait_for(fake.read_requests(), 5)
        tid = request["transaction"].encode()
        with caplog.at_level(logging.WARNING, logger="janus_fast.message_transaction"):
            for n in range(SENT):
                body = b'{"janus":"event","transaction":"%s","n":%d}' % (tid, n)
                fake.send(frame(0x1, body))
            last = await transaction.get(lambda m: m.get("n") == SENT - 1, timeout=20)
        assert last["n"] == SENT - 1
        assert transaction.messages_dropped == SENT - MAX_KEPT_MESSAGES
        assert f"messages={MAX_KEPT_MESSAGES}" in repr(transaction)
        warnings = [r for r in caplog.records if "messages_dropped" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
        # The oldest kept message is the first one after the dropped ones; order is intact.
        first = await transaction.get({"janus": "event"}, timeout=1)
        assert first["n"] == SENT - MAX_KEPT_MESSAGES
        await transaction.done()
    finally:
        await transport.disconnect()
        await fake.close()


async def test_messages_a_get_returned_are_dropped_uncounted_and_the_caller_sees_the_count() -> (
    None
):
    caller = MessageTransaction("t1")
    stream = caller.state  # what a transport's core feeds
    for n in range(MAX_KEPT_MESSAGES):
        stream.put_msg({"janus": "event", "n": n})
    for n in range(10):  # returned by get: dropping them later loses nothing
        assert (await caller.get(lambda m, n=n: m["n"] == n, timeout=1))["n"] == n
    for n in range(MAX_KEPT_MESSAGES, MAX_KEPT_MESSAGES + 15):
        stream.put_msg({"janus": "event", "n": n})
    assert caller.messages_dropped == 5  # 15 dropped, 10 of them already returned
    assert (await caller.get({"janus": "event"}, timeout=1))["n"] == 15  # the oldest kept
    leftovers = stream.leftovers()
    assert len(leftovers) == MAX_KEPT_MESSAGES - 1  # all kept but the one get returned
    assert [m["n"] for m in leftovers[:2]] == [16, 17]  # type: ignore[index]
    await caller.done()
