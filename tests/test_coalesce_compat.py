"""Several requests in one WebSocket frame only where the server accepts them (Janus >= 1.1.2):
an old Janus (scripted byte for byte) never gets such a frame, a server that claims 1.1.2 but
rejects them gets each rejected request again exactly once, and the real Janus 1.1.2 coalesces."""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

import pytest

from _fake_janus import OldJanus
from janus_fast import JanusSession, JanusTransport
from janus_fast.events import ConnectionEvent
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing import JanusServer

CONFIG = {"max_retries": 0, "timeout": 5, "ping_interval": None}
LOGGER = "janus_fast.transport.websocket"


async def connected(url: str, **options: Any) -> Any:
    transport = JanusTransport.create_transport(url, config={**CONFIG, **options})
    await transport.connect()
    return transport


async def concurrent_pings(transport: Any, n: int = 50) -> None:
    replies = await asyncio.gather(*(transport.ping() for _ in range(n)))
    assert [reply["janus"] for reply in replies] == ["pong"] * n


async def concurrent_echotests(session: JanusSession, n: int = 20) -> None:
    echo = JanusEchoTestPlugin()
    await echo.attach(session)
    results = await asyncio.gather(*(echo.configure(audio=True) for _ in range(n)))
    assert results == [{"echotest": "event", "result": "ok"}] * n


def rejection_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and "several requests" in r.message
    ]


async def test_janus_1_0_never_gets_a_multi_request_frame(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = await OldJanus((1004, "1.0.4")).start()
    transport = await connected(fake.url)
    try:
        # Right after connect (the info answer not in yet) and after it: all succeed.
        await concurrent_pings(transport)
        assert transport.server_version == 1004
        assert transport.coalescing is False
        await concurrent_pings(transport)
        session = JanusSession(transport=transport)
        await session.create()
        await concurrent_echotests(session)
        await session.destroy()
        assert fake.rejections == 0
        assert [len(f) for f in fake.frames] == [1] * len(fake.frames)
        kinds = collections.Counter(f[0]["janus"] for f in fake.frames)
        assert kinds == {  # the probe's answer serves the session's keepalive setup too
            "info": 1,
            "ping": 100,
            "create": 1,
            "attach": 1,
            "message": 20,
            "destroy": 1,
        }
        assert transport.frames_resent == 0
        assert rejection_warnings(caplog) == []
    finally:
        await transport.disconnect()
        await fake.close()


@pytest.mark.parametrize("workload", ["pings", "echotest"])
async def test_a_server_lying_about_its_version_gets_each_request_once(
    workload: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = await OldJanus((1102, "1.1.2"), multi_request_frames=False).start()
    transport = await connected(fake.url)
    caplog.set_level(logging.WARNING, LOGGER)
    try:
        session = JanusSession(transport=transport)
        await session.create()  # its reply comes after the probe's: coalescing is on now
        before = len(fake.frames)
        if workload == "pings":
            await concurrent_pings(transport)
        else:
            await concurrent_echotests(session)  # attach (alone), then 20 configure at once
        rejected = [f for f in fake.frames[before:] if len(f) > 1]
        assert len(rejected) == fake.rejections == 1
        assert len(rejected[0]) == (50 if workload == "pings" else 20)
        assert transport.frames_resent == 1 and transport.server_version == 1102
        # Every request executed exactly once, the rejected ones included.
        executed = collections.Counter(r["transaction"] for r in fake.executed)
        assert max(executed.values()) == 1
        assert all(r["transaction"] in executed for r in rejected[0])
        assert transport.coalescing is False
        assert len(rejection_warnings(caplog)) == 1
        # From now on one request per frame, and nothing more is rejected or logged.
        after = len(fake.frames)
        await concurrent_pings(transport)
        await concurrent_echotests(session)
        assert [len(f) for f in fake.frames[after:]] == [1] * (len(fake.frames) - after)
        assert fake.rejections == transport.frames_resent == 1
        assert transport.stats()["frames_resent"] == 1
        assert transport.stats()["coalescing"] == 0
        assert len(rejection_warnings(caplog)) == 1
        await session.destroy()
        executed = collections.Counter(r["transaction"] for r in fake.executed)
        assert max(executed.values()) == 1
        assert transport.stats()["pending"] == 0
    finally:
        await transport.disconnect()
        await fake.close()


async def test_what_was_learned_is_learned_again_after_a_reconnection() -> None:
    fake = await OldJanus((1102, "1.1.2"), multi_request_frames=True).start()
    transport = await connected(fake.url, max_retries=5, retry_delay=0.01)
    try:
        await transport.ping()
        assert transport.coalescing is True
        reconnected: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_event(event: ConnectionEvent) -> None:
            if event.kind == "reconnected" and not reconnected.done():
                reconnected.set_result(None)

        transport.on_connection_event(on_event)
        fake.version = (1004, "1.0.4")  # another server behind the same address
        fake.multi_request_frames = False
        assert fake.writer is not None
        fake.writer.transport.abort()
        await asyncio.wait_for(reconnected, 5)
        await transport.ping()
        assert transport.server_version == 1004
        assert transport.coalescing is False
        start = len(fake.frames)
        await concurrent_pings(transport)
        assert [len(f) for f in fake.frames[start:]] == [1] * 50
        assert transport.frames_resent == 0
    finally:
        await transport.disconnect()
        await fake.close()


async def test_the_probe_needs_no_credentials(janus_factory: Any) -> None:
    janus = janus_factory(api_secret="s3cret-for-the-probe-test", token_auth=True)
    transport = await connected(janus.ws_url)  # no secret, no token: info needs neither
    try:
        await transport.ping()
        assert transport.server_version == 1102
        assert transport.coalescing is True
        info = await transport.server_info()
        assert info["api_secret"] is True and info["auth_token"] is True
    finally:
        await transport.disconnect()


async def test_real_janus_1_1_2_coalesces(janus_server: JanusServer) -> None:
    transport = await connected(janus_server.ws_url)
    try:
        await transport.ping()  # answered after the probe: the version is known now
        assert transport.server_version == 1102
        assert transport.coalescing is True
        assert transport.stats()["coalescing"] == 1
        await concurrent_pings(transport, 200)
        session = JanusSession(transport=transport)
        await session.create()
        await concurrent_echotests(session)
        await session.destroy()
        assert transport.coalescing is True
        assert transport.frames_resent == 0
    finally:
        await transport.disconnect()
