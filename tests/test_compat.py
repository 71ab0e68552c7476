"""The CPython 3.10 seams (``janus_fast._compat``, the timeout error) hold on every interpreter.

Rule: each test asserts what janus-client code and the rest of the package rely on: a request
deadline is catchable as ``asyncio.TimeoutError`` *and* ``TimeoutError`` (two classes on 3.10),
deadlines raise ``asyncio.TimeoutError``, ``EventType`` members are their string values, and
``_compat.run`` leaves no task or loop behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from janus_fast import EventType, Expect, JanusSession, RequestTimeoutError
from janus_fast._compat import StrEnum, run, timeout, timeout_at
from janus_fast.message_transaction import MessageTransaction


def test_request_timeout_error_is_both_timeout_classes() -> None:
    error = RequestTimeoutError("late")
    assert isinstance(error, TimeoutError)
    assert isinstance(error, asyncio.TimeoutError)
    assert RequestTimeoutError.__mro__.count(TimeoutError) == 1


async def test_a_missed_deadline_is_caught_as_asyncio_timeout_error() -> None:
    transaction = MessageTransaction()
    caught: BaseException | None = None
    try:
        await transaction.get({"janus": "never"}, timeout=0.02)
    except asyncio.TimeoutError as exc:  # what janus-client code catches
        caught = exc
    assert isinstance(caught, RequestTimeoutError)
    await transaction.done()


async def test_a_real_request_deadline_is_caught_as_asyncio_timeout_error(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        await session.create()
        # A keepalive completes with an ack; waiting for a pong instead never completes.
        with pytest.raises(asyncio.TimeoutError) as caught:
            await session.request({"janus": "keepalive"}, Expect.PONG, timeout=0.2)
        assert isinstance(caught.value, RequestTimeoutError)
        assert isinstance(caught.value, TimeoutError)


async def test_compat_deadlines_raise_asyncio_timeout_error() -> None:
    with pytest.raises(asyncio.TimeoutError):
        async with timeout(0.01):
            await asyncio.sleep(5)
    loop = asyncio.get_running_loop()
    with pytest.raises(asyncio.TimeoutError):
        async with timeout_at(loop.time() + 0.01):
            await asyncio.sleep(5)
    async with timeout(5):
        await asyncio.sleep(0)  # inside the deadline: nothing raised


def test_str_enum_members_are_their_values() -> None:
    assert isinstance(EventType.EVENT, str)
    assert str(EventType.ICE_FAILED) == "ice-failed"
    assert f"{EventType.WEBRTCUP}" == "webrtcup"
    assert EventType("hangup") is EventType.HANGUP
    assert EventType.EVENT == "event"

    class Color(StrEnum):
        RED = "red"

    assert str(Color.RED) == "red" and Color("red") is Color.RED


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_run_cancels_leftover_tasks_and_closes_its_loop(loop_name: str) -> None:
    import uvloop

    factory = uvloop.new_event_loop if loop_name == "uvloop" else asyncio.new_event_loop
    seen: dict[str, Any] = {}

    async def leftover() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    async def main() -> int:
        seen["loop"] = asyncio.get_running_loop()
        seen["task"] = asyncio.get_running_loop().create_task(leftover())
        await asyncio.sleep(0)
        return 7

    assert run(main(), loop_factory=factory) == 7
    assert seen["cancelled"] is True
    assert seen["task"].cancelled()
    assert seen["loop"].is_closed()
