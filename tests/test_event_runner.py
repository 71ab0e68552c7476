"""The event runner: handlers run to completion on one task per loop; a handler that suspends
keeps its task (and its target's later events) while the other targets go on, in order."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from janus_fast import JanusPlugin
from janus_fast._compat import timeout


class Recorder(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        super().__init__()
        self.gate = gate
        self.seen: list[int] = []
        self.tasks: set[Any] = set()

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.tasks.add(asyncio.current_task())
        if self.gate is not None and response["n"] == 0:
            await self.gate.wait()
        self.seen.append(response["n"])


async def settle(condition: Any) -> None:
    async with timeout(5):
        while not condition():
            await asyncio.sleep(0.001)


async def test_a_suspended_handler_keeps_its_order_and_holds_up_no_other_target() -> None:
    gate = asyncio.Event()
    slow, fast = Recorder(gate), Recorder()
    for n in range(5):
        slow.deliver({"janus": "event", "n": n})
        fast.deliver({"janus": "event", "n": n})
    await settle(lambda: fast.seen == [0, 1, 2, 3, 4])
    assert slow.seen == []  # its first event is still waiting at the gate
    slow.deliver({"janus": "event", "n": 5})
    await asyncio.sleep(0.01)
    assert slow.seen == []
    gate.set()
    await settle(lambda: len(slow.seen) == 6)
    assert slow.seen == [0, 1, 2, 3, 4, 5]
    assert len(slow.tasks) == 1 and None not in slow.tasks  # one task from its first event on


async def test_handlers_run_in_a_task_so_deadlines_work_inside_them() -> None:
    outcomes: list[str] = []

    class Waiting(JanusPlugin):
        name = "janus.plugin.echotest"

        async def on_receive(self, response: dict[str, Any]) -> None:
            try:
                await asyncio.wait_for(asyncio.Event().wait(), 0.01)
            except asyncio.TimeoutError:
                outcomes.append("timed out")
            try:
                async with timeout(0.01):
                    await asyncio.sleep(1)
            except asyncio.TimeoutError:
                outcomes.append("timed out again")

    plugin, other = Waiting(), Recorder()
    plugin.deliver({"janus": "event", "n": 0})
    other.deliver({"janus": "event", "n": 0})
    await settle(lambda: len(outcomes) == 2)
    assert outcomes == ["timed out", "timed out again"] and other.seen == [0]


async def test_a_raising_handler_is_logged_and_the_others_carry_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Raising(JanusPlugin):
        name = "janus.plugin.echotest"

        async def on_receive(self, response: dict[str, Any]) -> None:
            raise RuntimeError(f"boom {response['n']}")

    bad, good = Raising(), Recorder()
    with caplog.at_level(logging.ERROR, logger="janus_fast.events"):
        for n in range(3):
            bad.deliver({"janus": "event", "n": n})
            good.deliver({"janus": "event", "n": n})
        await settle(lambda: good.seen == [0, 1, 2])
        await asyncio.sleep(0.01)
    raised = [r for r in caplog.records if "on_receive raised" in r.getMessage()]
    assert len(raised) == 3
    bad.deliver({"janus": "event", "n": 9})  # still delivered after the errors
    good.deliver({"janus": "event", "n": 9})
    await settle(lambda: good.seen[-1:] == [9])


async def test_callbacks_and_iterators_see_events_delivered_by_the_runner() -> None:
    plugin = Recorder()
    seen: list[str] = []
    plugin.on(None, lambda event: seen.append(event.janus))
    stream = plugin.events()
    plugin.deliver({"janus": "event", "n": 1})
    plugin.deliver({"janus": "webrtcup", "n": 2})
    async with timeout(5):
        first, second = await stream.__anext__(), await stream.__anext__()
    assert (first.janus, second.janus) == ("event", "webrtcup")
    assert seen == ["event", "webrtcup"] and plugin.seen == [1, 2]
    await stream.aclose()


async def test_an_on_receive_returning_any_awaitable_is_awaited() -> None:
    loop = asyncio.get_running_loop()
    later: asyncio.Future[None] = loop.create_future()
    seen: list[int] = []

    class FutureReceiver(JanusPlugin):
        name = "janus.plugin.echotest"

        def on_receive(self, response: dict[str, Any]) -> Any:  # type: ignore[override]
            seen.append(response["n"])
            return later if response["n"] == 0 else asyncio.sleep(0)

    plugin = FutureReceiver()
    plugin.deliver({"janus": "event", "n": 0})
    plugin.deliver({"janus": "event", "n": 1})
    await asyncio.sleep(0.01)
    assert seen == [0]  # the second waits for the first's future
    later.set_result(None)
    await settle(lambda: seen == [0, 1])


async def test_a_trickle_still_goes_through_the_plugin_before_on_receive() -> None:
    plugin = Recorder()
    candidate = {
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host",
    }
    plugin.deliver({"janus": "trickle", "n": 0, "candidate": candidate})
    plugin.deliver({"janus": "event", "n": 1})
    await settle(lambda: plugin.seen == [0, 1])
    assert plugin.pending_candidates == 1  # kept for the remote description, then on_receive


async def test_a_subclass_hooking_every_message_still_sees_every_message() -> None:
    hooked: list[str] = []

    class Hooking(Recorder):
        def _on_message(self, message: dict[str, Any]) -> Any:
            hooked.append(message["janus"])
            return super()._on_message(message)

    plugin = Hooking()
    for n, kind in enumerate(("event", "hangup", "trickle", "webrtcup")):
        plugin.deliver({"janus": kind, "n": n})
    await settle(lambda: plugin.seen == [0, 1, 2, 3])
    assert hooked == ["event", "hangup", "trickle", "webrtcup"]
