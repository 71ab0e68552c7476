"""The janus-client-compatible request path against the native one, no socket: W3's own cost.

Rule: both sides run the same EchoTest ``message`` through a ``JanusCore`` fed Janus 1.1.2's ack
and event for it (the fixtures, compact, with the request's transaction), dispatched as the
transport does; one round is a batch of ``BATCH`` operations on one event loop. The compat side
is what a janus-client program does (``MessageTransaction`` → ``get(event)`` → ``get(ack)`` →
``done()``); the native side awaits the request's future and decodes the reply (``json()``), as
``plugin.request()`` does. The ratio of the two is W3's compat ÷ native without the I/O both
share.

Run: ``maturin develop --release -q``, then
``python -m pytest benches/test_stream_micro.py --benchmark-only``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson
import pytest

from janus_fast import MessageTransaction
from janus_fast._core import COMPLETE, STREAM_ITEM, Expect, JanusCore

FIXTURES = Path(__file__).resolve().parent.parent / "rust" / "proto" / "tests" / "fixtures" / "ws"
SESSION, HANDLE = 123456789, 987654321
BODY = b'{"janus":"message","body":{"audio":true}}'
BATCH = 200


def _reply(name: str) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads((FIXTURES / name).read_bytes())
    message["session_id"] = SESSION
    if "sender" in message:
        message["sender"] = HANDLE
    return message


ACK = _reply("05-keepalive-ack.json")
EVENT = _reply("07-echotest-event.json")


class _Bench:
    """One core, one loop, and the dispatch pass a transport runs after each read."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.core = JanusCore(seed=b"benches/test_stream_micro.py ..")
        self.core.timer_at = 0.0  # the transport's timer is armed: a get adds no Python call

    def feed(self, transaction: str) -> None:
        for reply in (ACK, EVENT):
            self.core.receive_message(orjson.dumps({**reply, "transaction": transaction}))
        for kind, target, item in self.core.drain():
            if kind == COMPLETE:
                if not target.done():
                    target.set_result(item)
            elif kind == STREAM_ITEM:
                target.put_msg(item)

    async def compat(self) -> None:
        stream = MessageTransaction(
            "", 30.0, None, (SESSION, HANDLE), self.loop, None, self.core, None, 1000
        )
        transaction, _ = self.core.encode(BODY, stream.state, Expect.STREAM, SESSION, HANDLE)
        self.loop.call_soon(self.feed, transaction)
        await stream.get({"janus": "event"}, timeout=30)
        await stream.get({"janus": "ack"}, timeout=30)
        await stream.done()

    async def native(self) -> None:
        future = self.loop.create_future()
        deadline = self.loop.time() + 30
        transaction, _ = self.core.encode(
            BODY, future, Expect.PLUGIN_MESSAGE, SESSION, HANDLE, deadline
        )
        self.loop.call_soon(self.feed, transaction)
        (await future).json()

    def batch(self, operation: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async def run() -> None:
            for _ in range(BATCH):
                await operation()

        self.loop.run_until_complete(run())


@pytest.fixture
def bench() -> Any:
    state = _Bench()
    yield state
    state.loop.close()


@pytest.mark.parametrize("side", ["compat", "native"])
def test_echotest_message_without_io(benchmark: Any, bench: _Bench, side: str) -> None:
    operation = bench.compat if side == "compat" else bench.native
    bench.batch(operation)  # warm up
    benchmark(bench.batch, operation)
    assert len(bench.core) == 0  # every request completed and was forgotten
