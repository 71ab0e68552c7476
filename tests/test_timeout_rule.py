"""The one timeout rule, against the real Janus: a typed plugin or Admin method without ``timeout``
waits for the connection's ``timeout`` option; an explicit ``timeout=`` wins. The replies are held
back by a ``FaultProxy`` so no request can complete."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from janus_fast import JanusSession
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import RequestTimeoutError
from janus_fast.plugins import JanusTextRoomPlugin, JanusVideoRoomPlugin
from janus_fast.testing import FaultProxy, JanusServer
from janus_fast.timeouts import OPTION_TIMEOUT, resolve

OPTION = 0.3


@contextlib.asynccontextmanager
async def proxy_to(port: int) -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy(port).start()
    try:
        yield proxy
    finally:
        proxy.release()
        await proxy.close()


async def times_out_after(call: Callable[[], Awaitable[Any]]) -> float:
    """Seconds until ``call()`` raised ``RequestTimeoutError``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RequestTimeoutError):
        await call()
    return loop.time() - started


def test_resolve() -> None:
    assert resolve(OPTION_TIMEOUT, 12.5) == 12.5
    assert resolve(OPTION_TIMEOUT, None) is None
    assert resolve(3.0, 12.5) == 3.0
    assert resolve(None, 12.5) is None
    assert repr(OPTION_TIMEOUT) == "OPTION_TIMEOUT"


@pytest.mark.parametrize("scheme", ["ws", "http"])
async def test_plugin_methods_default_to_the_session_timeout(
    janus_server: JanusServer, scheme: str
) -> None:
    ports = janus_server.ports
    assert ports is not None
    async with (
        proxy_to(ports.ws if scheme == "ws" else ports.http) as proxy,
        JanusSession(base_url=proxy.url(scheme), timeout=OPTION) as session,
    ):
        videoroom, textroom = JanusVideoRoomPlugin(), JanusTextRoomPlugin()
        await videoroom.attach(session)
        await textroom.attach(session)
        assert await videoroom.exists(1234)  # answered while nothing is held
        proxy.hold()
        # No timeout given: the session's option (0.3 s), not a 15 s method default.
        elapsed = await times_out_after(lambda: videoroom.exists(1234))
        assert OPTION * 0.9 <= elapsed < 2.0
        elapsed = await times_out_after(lambda: textroom.list_rooms())
        assert OPTION * 0.9 <= elapsed < 2.0
        elapsed = await times_out_after(lambda: videoroom.join_as_publisher(1234))
        assert OPTION * 0.9 <= elapsed < 2.0
        # An explicit timeout wins over the option.
        elapsed = await times_out_after(lambda: videoroom.list_rooms(timeout=0.8))
        assert 0.8 * 0.9 <= elapsed < 2.5
        proxy.release()
        assert await videoroom.exists(1234, timeout=5)  # the session still works


async def test_admin_methods_default_to_the_client_timeout(janus_server: JanusServer) -> None:
    assert janus_server.ports is not None
    async with proxy_to(janus_server.ports.admin_ws) as proxy:
        admin = JanusAdminMonitorClient(proxy.url("ws"), janus_server.admin_secret, timeout=OPTION)
        async with admin:
            assert (await admin.ping())["janus"] == "pong"
            proxy.hold()
            elapsed = await times_out_after(admin.list_sessions)
            assert OPTION * 0.9 <= elapsed < 2.0
            request = {"request": "list"}
            elapsed = await times_out_after(
                lambda: admin.message_plugin("janus.plugin.videoroom", request)
            )
            assert OPTION * 0.9 <= elapsed < 2.0
            elapsed = await times_out_after(
                lambda: admin.message_plugin("janus.plugin.videoroom", request, timeout=0.8)
            )
            assert 0.8 * 0.9 <= elapsed < 2.5
            proxy.release()
            assert (await admin.ping())["janus"] == "pong"


def test_admin_default_option_is_the_session_default() -> None:
    admin = JanusAdminMonitorClient("ws://127.0.0.1:1", "secret")
    session = JanusSession(base_url="ws://127.0.0.1:1")
    assert admin.transport.options.timeout == session.transport.options.timeout == 30.0
