"""``MessageTransaction``'s awaitables (the extension's ``StreamGet``), Janus-free.

``get()`` and ``done()`` return awaitables, not coroutines: these tests hold them to what
janus-client programs do with a coroutine (``create_task``, ``wait_for``, cancelling the task that
awaits one) and to the stream's rules when a matcher re-enters it or a message is not JSON.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from janus_fast import MessageTransaction
from janus_fast.errors import ProtocolError, RequestTimeoutError


class _Lazy:
    """A message in the lazy form a transport may feed (``janus`` and ``raw``)."""

    def __init__(self, janus: str, raw: bytes) -> None:
        self.janus = janus
        self.raw = raw


async def test_a_get_runs_as_a_task_and_under_wait_for() -> None:
    stream = MessageTransaction("t", timeout=1)
    task: asyncio.Task[dict[str, Any]] = asyncio.create_task(stream.get({"janus": "event"}))
    await asyncio.sleep(0)
    stream.put_msg({"janus": "event", "n": 1})
    assert (await asyncio.wait_for(task, 1))["n"] == 1
    assert (await asyncio.wait_for(stream.get({"janus": "event"}), 1))["n"] == 1
    await asyncio.create_task(stream.done())
    assert stream.done_called


async def test_cancelling_a_waiting_get_frees_the_stream_for_the_next() -> None:
    stream = MessageTransaction("t", timeout=5)
    task = asyncio.ensure_future(stream.get({"janus": "event"}))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(stream.get({"janus": "event"}), 0.02)
    later = asyncio.ensure_future(stream.get({"janus": "event"}))
    await asyncio.sleep(0.01)
    stream.put_msg({"janus": "event", "n": 2})
    assert (await asyncio.wait_for(later, 1))["n"] == 2


async def test_each_get_has_its_own_deadline_and_the_stream_lives_on() -> None:
    stream = MessageTransaction("t", timeout=5)
    with pytest.raises(RequestTimeoutError):
        await stream.get({"janus": "event"}, timeout=0.02)
    stream.put_msg({"janus": "event"})
    assert (await stream.get({"janus": "event"}, timeout=0.02))["janus"] == "event"


async def test_a_matcher_may_feed_the_stream_it_is_matching() -> None:
    stream = MessageTransaction("t", timeout=1)
    stream.put_msg({"janus": "event", "n": 1})

    def feeding(message: dict[str, Any]) -> bool:
        if message["n"] == 1:
            stream.put_msg({"janus": "event", "n": 2})
            return False
        return True

    assert (await stream.get(feeding))["n"] == 2


async def test_a_message_that_is_not_json_raises_once_and_blocks_nothing() -> None:
    stream = MessageTransaction("t", timeout=1)
    stream.put_msg(_Lazy("event", b"{not json"))
    stream.put_msg(_Lazy("event", b'{"janus": "event", "n": 3}'))
    with pytest.raises(ProtocolError, match="not valid JSON"):
        await stream.get({"janus": "event"})
    assert (await stream.get({"janus": "event"}))["n"] == 3
    assert stream.leftovers() == []  # the dropped one is no leftover, the other was taken


async def test_a_failed_stream_fails_waiting_and_later_gets_but_keeps_what_it_has() -> None:
    stream = MessageTransaction("t", timeout=1)
    stream.put_msg({"janus": "ack"})
    waiting = asyncio.ensure_future(stream.get({"janus": "event"}))
    await asyncio.sleep(0)
    stream.fail(ConnectionError("gone"))
    with pytest.raises(ConnectionError, match="gone"):
        await waiting
    assert (await stream.get({"janus": "ack"}))["janus"] == "ack"
    with pytest.raises(ConnectionError):
        await stream.get({"janus": "event"})


async def test_a_dropped_transaction_is_released_on_its_loop() -> None:
    released: list[str] = []
    loop = asyncio.get_running_loop()
    stream = MessageTransaction("t9", on_done=lambda state: released.append(state.id), loop=loop)
    state = stream.state
    del stream
    gc.collect()
    await asyncio.sleep(0.01)
    assert released == ["t9"] and state.done_called


async def test_async_with_gives_the_transaction_and_calls_done_once() -> None:
    calls: list[str] = []
    async with MessageTransaction("t", on_done=lambda state: calls.append(state.id)) as stream:
        assert isinstance(stream, MessageTransaction)
    await stream.done()
    assert calls == ["t"]
