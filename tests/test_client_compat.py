"""janus-client compatibility: custom transports, a janus-client style program, import hygiene."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import websockets

from janus_fast import (
    InvalidURLError,
    JanusPlugin,
    JanusSession,
    JanusTransport,
    MessageTransaction,
    is_subset,
)
from janus_fast.testing import JanusServer


class WebsocketsRelay(JanusTransport):
    """A custom transport as janus-client documents them: ``_send(dict)`` + ``receive(dict)``."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.target = base_url.replace("relay://", "ws://")
        self.sent: list[dict[str, Any]] = []
        self._ws: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        self._ws = await websockets.connect(self.target, subprotocols=["janus-protocol"])  # type: ignore[list-item]
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self._ws:
            await self.receive(json.loads(raw))

    async def _disconnect(self) -> None:
        assert self._reader is not None
        self._reader.cancel()
        await self._ws.close()

    async def _send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await self._ws.send(json.dumps(message))


@pytest.fixture
def relay_registered() -> Any:
    def matcher(url: str) -> bool:
        return url.startswith("relay://")

    JanusTransport.register_transport(matcher, WebsocketsRelay)
    yield
    JanusTransport.unregister_transport(matcher, WebsocketsRelay)


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


async def test_custom_transport_through_register_transport(
    janus_server: JanusServer, relay_registered: Any
) -> None:
    url = janus_server.ws_url.replace("ws://", "relay://")
    session = JanusSession(base_url=url)
    assert isinstance(session.transport, WebsocketsRelay)
    assert "WebsocketsRelay" in JanusTransport.registered_schemes()
    async with session:
        assert (await session.transport.ping())["janus"] == "pong"
        echo = EchoTest()
        await echo.attach(session)
        reply = await echo.request({"audio": True})
        assert reply["plugindata"]["data"]["result"] == "ok"
        transport: WebsocketsRelay = session.transport  # type: ignore[assignment]
        attach = next(m for m in transport.sent if m["janus"] == "attach")
        assert attach["session_id"] == session.id and "transaction" in attach
    assert session.transport.stats()["pending"] == 0


def test_unknown_and_malformed_urls_are_typed_errors() -> None:
    with pytest.raises(InvalidURLError, match="No protocol matched") as caught:
        JanusSession(base_url="ftp://example.invalid/janus")
    # The message names every registered scheme, built from the registry.
    for scheme in ("ws", "wss", "http", "https", "unix", "unix+dgram", "mqtt", "amqp"):
        assert scheme in JanusTransport.registered_schemes()
        assert f" {scheme}," in str(caught.value) or f" {scheme})" in str(caught.value)
    with pytest.raises(InvalidURLError):
        JanusSession(base_url="ws://[::1")
    with pytest.raises(InvalidURLError):
        JanusSession(base_url="")


def test_is_subset_keeps_janus_client_semantics() -> None:
    message = {"janus": "event", "plugindata": {"data": {"result": "ok", "n": 1, "x": [1]}}}
    assert is_subset(message, {"janus": "event"})
    assert is_subset(message, {"plugindata": {"data": {"result": "ok"}}})
    assert not is_subset(message, {"plugindata": {"data": {"result": "done"}}})
    assert is_subset(message, {"plugindata": {"data": {"n": True}}})  # bool counts as int
    assert is_subset(message, {"plugindata": {"data": {"x": [2]}}})  # lists: key presence only
    assert not is_subset(message, {"missing": None})
    with pytest.raises(TypeError):
        is_subset([], {})  # type: ignore[arg-type]


async def test_message_transaction_standalone() -> None:
    transaction = MessageTransaction()
    transaction.put_msg({"janus": "ack"})
    asyncio.get_running_loop().call_later(0.01, transaction.put_msg, {"janus": "event", "n": 1})
    assert (await transaction.get({"janus": "event"}, timeout=2))["n"] == 1
    with pytest.raises(TimeoutError):
        await transaction.get({"janus": "never"}, timeout=0.05)
    await transaction.done()


JANUS_CLIENT_PROGRAM = """
import asyncio, sys
from janus_fast import JanusSession, JanusPlugin, MessageTransaction, is_subset, PluginAttachFail

class EchoTestPlugin(JanusPlugin):
    name = "janus.plugin.echotest"

    async def on_receive(self, response):
        if response["janus"] == "event":
            print("EVENT", response["plugindata"]["data"]["result"])

async def main(url):
    session = JanusSession(base_url=url)
    plugin = EchoTestPlugin()
    await plugin.attach(session)
    message_transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
    response = await message_transaction.get({"janus": "ack"}, timeout=15)
    await message_transaction.done()
    print("ACK", response["janus"])
    await asyncio.sleep(0.5)
    await plugin.destroy()
    await session.destroy()

asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.parametrize("scheme", ["ws", "http"])
def test_a_janus_client_program_runs_with_only_the_import_changed(
    janus_server: JanusServer, scheme: str
) -> None:
    url = janus_server.ws_url if scheme == "ws" else janus_server.http_url
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(JANUS_CLIENT_PROGRAM), url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "ACK ack" in done.stdout
    assert "EVENT ok" in done.stdout


def test_importing_has_no_side_effects() -> None:
    code = textwrap.dedent(
        """
        import asyncio, logging, sys
        policy = type(asyncio.get_event_loop_policy())
        import janus_fast
        assert not logging.getLogger().handlers, logging.getLogger().handlers
        assert logging.getLogger().level == logging.WARNING
        assert type(asyncio.get_event_loop_policy()) is policy
        for heavy in ("aiortc", "av", "aiohttp", "uvloop"):
            assert heavy not in sys.modules, heavy
        print("clean")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"
