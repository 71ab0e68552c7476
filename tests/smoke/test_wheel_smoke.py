"""Smoke test of an installed janus-fast against a real Janus: what a user's first hour touches.

Rule: self-contained (no conftest, no test helpers, only pytest, uvloop and the janus_fast pytest
plugin), so ``scripts/wheel_smoke.sh`` can run it from a temporary directory against a wheel
installed in a fresh virtualenv on each supported CPython; it is also part of the normal suite.
Each scenario runs on asyncio and uvloop, over WebSocket and HTTP, bounded by a deadline. With
``JANUS_FAST_SMOKE_REPO`` set, the package must not be imported from that checkout.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

import janus_fast
from janus_fast import EventType, Expect, JanusPlugin, JanusSession, PluginEvent
from janus_fast.plugins import JanusEchoTestPlugin

BOUND = 30.0  # seconds for one scenario


def _run(loop_name: str, scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` on a fresh loop of the kind named, within ``BOUND`` seconds."""
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if loop_name == "uvloop":
        import uvloop  # a missing uvloop fails the test: it never skips

        factory = uvloop.new_event_loop
    loop = factory()
    try:
        loop.run_until_complete(asyncio.wait_for(scenario, BOUND))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


class _EchoEvents(JanusPlugin):
    name = "janus.plugin.echotest"


def test_the_installed_package_is_imported(pytestconfig: pytest.Config) -> None:
    package = Path(janus_fast.__file__).resolve().parent
    # The compiled extension as the import system found it (the module already imported).
    spec = importlib.util.find_spec("janus_fast._core")
    assert spec is not None and spec.origin is not None
    core = Path(spec.origin).resolve()
    assert core.parent == package and core.suffix in (".so", ".pyd")
    assert [p.name for p in package.glob("_core.*") if p.suffix != ".pyi"] == [core.name]
    assert (package / "py.typed").is_file()
    # The Janus fixtures come from the package's pytest11 entry point.
    assert pytestconfig.pluginmanager.has_plugin("janus_fast.testing.pytest_plugin") or (
        pytestconfig.pluginmanager.has_plugin("janus_fast")
    )
    repo = os.environ.get("JANUS_FAST_SMOKE_REPO")
    if repo:
        assert not package.is_relative_to(Path(repo).resolve()), f"imported from {package}"
        assert "site-packages" in package.parts


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
@pytest.mark.parametrize("transport", ["ws", "http"])
def test_session_echotest_and_events(janus_server: Any, transport: str, loop_name: str) -> None:
    url: str = janus_server.ws_url if transport == "ws" else janus_server.http_url

    async def scenario() -> None:
        async with JanusSession(base_url=url) as session:
            assert (await session.transport.ping())["janus"] == "pong"
            info = await session.transport.info()
            assert "janus.plugin.echotest" in info["plugins"]

            echo = JanusEchoTestPlugin()
            await echo.attach(session)
            assert session.id is not None and echo.id is not None
            assert await echo.configure(audio=True, bitrate=128000) == {
                "echotest": "event",
                "result": "ok",
            }

            events = _EchoEvents()
            await events.attach(session)
            seen: list[PluginEvent] = []
            events.on(EventType.EVENT, seen.append)
            iterator = events.events(EventType.EVENT)
            transaction = await events.send({"janus": "message", "body": {"video": True}})
            await transaction.get({"janus": "ack"}, timeout=5)
            await transaction.done()
            event = await asyncio.wait_for(iterator.__anext__(), 5)
            assert isinstance(event, PluginEvent) and event.handle_id == events.id
            assert event.data["result"] == "ok"
            assert seen and seen[0].handle_id == events.id
            await iterator.aclose()

            # A missed deadline is caught the way janus-client code catches it, on every Python.
            with pytest.raises(asyncio.TimeoutError):
                await session.request({"janus": "keepalive"}, Expect.PONG, timeout=0.2)
            await echo.destroy()
            await events.destroy()

    _run(loop_name, scenario())


def test_the_console_script_reaches_janus(janus_server: Any) -> None:
    script = Path(sys.executable).with_name("janus-fast")
    assert script.is_file(), f"no console script next to {sys.executable}"
    done = subprocess.run(
        [str(script), "info", janus_server.http_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "janus.plugin.echotest" in done.stdout
