"""The HTTP connection budget at scale, on a real Janus: many sessions on one HTTP transport.

Janus's HTTP server serves about 1,000 connections; each session holds one long poll. With the
default ``max_connections`` (512: up to 448 sessions, 64 connections kept for requests), asking one
transport for 1,000 sessions at once admits exactly ``transport.max_sessions`` and refuses the rest
at once with ``ConnectionLimitError`` — nothing left to time out — and every admitted session's
5 EchoTest handles each complete one request. 400 sessions fit: all of it succeeds.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import pytest

from janus_fast import ConnectionLimitError, JanusPlugin, JanusSession, JanusTransport
from janus_fast.testing import JanusServer

HANDLES_PER_SESSION = 5
#: The transport's default budget (``TransportOptions.max_connections``) and what it leaves for
#: sessions (an eighth kept for requests).
MAX_CONNECTIONS = 512
MAX_SESSIONS = MAX_CONNECTIONS - MAX_CONNECTIONS // 8


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


@pytest.fixture
def scale_janus(janus_factory: Any) -> JanusServer:
    """A Janus of its own (thousands of handles; a few event loops, not a thread per handle)."""
    server: JanusServer = janus_factory(event_loops=2, json="compact", debug_level=3)
    return server


async def run_scale(janus: JanusServer, wanted: int) -> dict[str, Any]:
    """Ask one HTTP transport for ``wanted`` sessions at once, then attach 5 EchoTest handles to
    each admitted session and make one request on each handle, all concurrently."""
    transport = JanusTransport.create_transport(janus.http_url, config={"timeout": 30})
    await transport.connect()
    loop = asyncio.get_running_loop()
    sessions = [JanusSession(transport=transport, keepalive_interval=None) for _ in range(wanted)]
    refused_after: list[float] = []
    most_connections = 0
    outcomes: collections.Counter[str] = collections.Counter()

    async def create(session: JanusSession) -> None:
        started = loop.time()
        try:
            await session.create()
        except ConnectionLimitError:
            refused_after.append(loop.time() - started)

    async def handle(session: JanusSession) -> None:
        nonlocal most_connections
        plugin = EchoTest()
        try:
            await plugin.attach(session)
            most_connections = max(most_connections, transport.stats()["open_connections"])
            reply = await plugin.request({"audio": True})
            most_connections = max(most_connections, transport.stats()["open_connections"])
            assert reply.get("janus") == "event", reply
            outcomes["ok"] += 1
        except Exception as exc:
            outcomes[type(exc).__name__] += 1

    async def sample() -> None:
        """The budget holds at every moment, not only where a handle looks: between the creates
        and the handles too (idle request connections once outlived the polls' arrival)."""
        nonlocal most_connections
        while True:
            most_connections = max(most_connections, transport.stats()["open_connections"])
            await asyncio.sleep(0.001)

    sampler = loop.create_task(sample())
    try:
        t0 = time.monotonic()
        await asyncio.gather(*(create(s) for s in sessions))
        create_s = time.monotonic() - t0
        admitted = [s for s in sessions if s.created]
        long_polls = transport.stats()["long_polls"]
        listed = await loop.run_in_executor(None, janus.admin_request, {"janus": "list_sessions"})
        t1 = time.monotonic()
        await asyncio.gather(*(handle(s) for s in admitted for _ in range(HANDLES_PER_SESSION)))
        handles_s = time.monotonic() - t1
        return {
            "admitted": len(admitted),
            "refused": len(refused_after),
            "slowest_refusal_s": max(refused_after, default=0.0),
            "long_polls": long_polls,
            "janus_sessions": len(listed["sessions"]),  # what Janus itself holds
            "outcomes": dict(outcomes),
            "most_connections": most_connections,
            "create_s": create_s,
            "handles_s": handles_s,
            "max_sessions": transport.max_sessions,  # type: ignore[attr-defined]
        }
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        await asyncio.gather(*(s.destroy() for s in sessions if s.created))
        await transport.disconnect()


async def test_1000_sessions_on_one_http_transport(scale_janus: JanusServer) -> None:
    """1,000 sessions asked at once: max_sessions (448) admitted, 552 refused at once with
    ConnectionLimitError; the 2,240 handles' attach + request all succeed within the budget."""
    result = await run_scale(scale_janus, 1000)
    print(result)
    assert result["max_sessions"] == MAX_SESSIONS
    assert result["admitted"] == MAX_SESSIONS, result
    assert result["refused"] == 1000 - MAX_SESSIONS, result
    assert result["slowest_refusal_s"] < 0.1, result  # at once: never sent, never waited
    assert result["long_polls"] == result["janus_sessions"] == MAX_SESSIONS, result
    assert result["outcomes"] == {"ok": MAX_SESSIONS * HANDLES_PER_SESSION}, result
    assert result["most_connections"] <= MAX_CONNECTIONS, result


async def test_400_sessions_on_one_http_transport(scale_janus: JanusServer) -> None:
    """400 sessions fit the default budget: all created, 2,000 handles' attach + request succeed."""
    result = await run_scale(scale_janus, 400)
    print(result)
    assert result["admitted"] == 400 and result["refused"] == 0, result
    assert result["long_polls"] == result["janus_sessions"] == 400, result
    assert result["outcomes"] == {"ok": 400 * HANDLES_PER_SESSION}, result
    assert result["most_connections"] <= MAX_CONNECTIONS, result
