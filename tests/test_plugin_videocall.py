"""VideoCall plugin against the real Janus: register/list, a whole call's signalling with
hand-written SDPs, typed errors, async errors as ERROR events (a KeyError in janus-client)."""

from __future__ import annotations

import asyncio
import secrets
import sys
from typing import Any

import pytest

from _fake_sdp import answer, offer
from janus_fast import JanusSession, PluginError
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusVideoCallPlugin, VideoCallError, VideoCallEventType


class Events:
    def __init__(self, plugin: JanusVideoCallPlugin) -> None:
        self.seen: dict[VideoCallEventType, list[dict[str, Any]]] = {}
        self._arrived = asyncio.Event()
        for event_type in VideoCallEventType:
            plugin.on_event(event_type, self._collector(event_type))

    def _collector(self, event_type: VideoCallEventType) -> Any:
        def collect(data: dict[str, Any]) -> None:  # sync handlers are supported
            self.seen.setdefault(event_type, []).append(data)
            self._arrived.set()

        return collect

    async def wait(self, event_type: VideoCallEventType, timeout: float = 5) -> dict[str, Any]:
        async with deadline(timeout):
            while not self.seen.get(event_type):
                self._arrived.clear()
                await self._arrived.wait()
        return self.seen[event_type][-1]


def username() -> str:
    return f"user-{secrets.token_hex(6)}"


async def attached(session: JanusSession) -> JanusVideoCallPlugin:
    plugin = JanusVideoCallPlugin()
    await plugin.attach(session)
    return plugin


async def test_register_and_list(janus_url: str) -> None:
    alice_name = username()
    async with JanusSession(base_url=janus_url) as session:
        alice, other = await attached(session), await attached(session)
        events = Events(alice)
        assert alice_name not in await alice.list_users()
        assert await alice.register(alice_name) is True
        assert alice.username == alice_name
        assert (await events.wait(VideoCallEventType.REGISTERED))["username"] == alice_name
        assert alice_name in await other.list_users()
        with pytest.raises(VideoCallError) as caught:  # refused locally, as in janus-client
            await alice.register(username())
        assert caught.value.error_code == 0
        with pytest.raises(VideoCallError) as caught:
            await other.register(alice_name)
        assert caught.value.error_code == 476  # username taken
        assert isinstance(caught.value, PluginError)
        assert other.username is None
        with pytest.raises(VideoCallError) as caught:  # call before register: local error
            await other.call(alice_name, jsep=offer())
        assert caught.value.error_code == 0
        with pytest.raises(VideoCallError) as caught:
            await alice.call(username(), jsep=offer(direction="sendrecv"))
        assert caught.value.error_code == 478  # no such user
        with pytest.raises(VideoCallError) as caught:
            await alice.accept(answer=answer(offer()))  # nothing to accept
        assert "No incoming call" in caught.value.error_message
        await alice.destroy()
        assert alice.username is None
    async with JanusSession(base_url=janus_url) as session:  # the name is freed (Janus does it
        observer = await attached(session)  # just after the detach reply, hence the polling)
        for _ in range(100):
            if alice_name not in await observer.list_users():
                break
            await asyncio.sleep(0.02)
        assert alice_name not in await observer.list_users()


async def test_call_signalling(janus_url: str) -> None:
    """A whole call with hand-written SDPs: call, incomingcall, accept, set, hangup."""
    async with JanusSession(base_url=janus_url) as session:
        alice, bob = await attached(session), await attached(session)
        alice_events, bob_events = Events(alice), Events(bob)
        await alice.register(username())
        bob_name = username()
        await bob.register(bob_name)
        assert await alice.call(bob_name, jsep=offer(direction="sendrecv")) is True
        await alice_events.wait(VideoCallEventType.CALLING)
        incoming = await bob_events.wait(VideoCallEventType.INCOMINGCALL)
        assert incoming["username"] == alice.username
        assert incoming["jsep"]["type"] == "offer"  # copied into the data, as in janus-client
        assert bob.in_call
        assert await bob.accept(incoming["jsep"], answer=answer(incoming["jsep"], "sendrecv"))
        accepted = await alice_events.wait(VideoCallEventType.ACCEPTED)
        assert accepted["username"] == bob_name
        assert alice.in_call
        assert await bob.set_media(audio=True, video=False, bitrate=128000) is True
        await bob_events.wait(VideoCallEventType.SET)
        with pytest.raises(VideoCallError):  # already in a call: refused locally
            await alice.call(bob_name, jsep=offer())
        assert await alice.hangup() is True
        assert not alice.in_call
        await bob_events.wait(VideoCallEventType.HANGUP)
        for _ in range(100):
            if not bob.in_call:
                break
            await asyncio.sleep(0.02)
        assert not bob.in_call


async def test_async_errors_become_error_events(janus_url: str) -> None:
    """janus-client's B3: an error event without ``result`` raised KeyError in the reader."""
    async with JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        events = Events(plugin)
        stream = await plugin.send({"janus": "message", "body": {"request": "accept"}})
        async with stream:
            await stream.get({"janus": "ack"})
        error = await events.wait(VideoCallEventType.ERROR)
        assert error["error_code"] == 481
        assert (await plugin.list_users()) is not None  # the handle and reader live on


async def test_unexpected_event_shapes_never_raise() -> None:
    plugin = JanusVideoCallPlugin()
    events = Events(plugin)
    for message in (
        {"janus": "event", "plugindata": {"data": {"videocall": "event"}}},
        {"janus": "event", "plugindata": {"data": {"videocall": "event", "result": "odd"}}},
        {"janus": "event", "plugindata": {"data": {"videocall": "event", "result": {}}}},
        {"janus": "event", "plugindata": {"data": {"result": {"event": "simulcast"}}}},
        {"janus": "event", "plugindata": {"data": {"error_code": 478, "error": "x"}}},
        {"janus": "event", "jsep": {"type": "offer", "sdp": ""}},
        {"janus": "hangup", "reason": "Close PC"},
        {"janus": "media"},
    ):
        await plugin.on_receive(message)
    assert len(events.seen[VideoCallEventType.OTHER]) == 4
    assert len(events.seen[VideoCallEventType.SIMULCAST]) == 1
    assert events.seen[VideoCallEventType.ERROR][0]["error_code"] == 478
    await plugin.on_receive(
        {
            "janus": "event",
            "plugindata": {"data": {"videocall": "event", "result": {"event": "incomingcall"}}},
            "jsep": {"type": "offer", "sdp": "v=0"},
        }
    )
    assert plugin.in_call
    assert events.seen[VideoCallEventType.INCOMINGCALL][0]["jsep"]["type"] == "offer"


async def test_media_methods_import_aiortc_lazily(
    janus_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registered handle, in a call, without the [media] extra: the media methods say so."""
    async with deadline(20), JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        assert await plugin.register(username())
        monkeypatch.setitem(sys.modules, "aiortc", None)
        with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
            await plugin.call("you")
        await plugin.on_receive(  # an incoming call, as Janus delivers it
            {
                "janus": "event",
                "plugindata": {"data": {"videocall": "event", "result": {"event": "incomingcall"}}},
                "jsep": {"type": "offer", "sdp": "v=0"},
            }
        )
        assert plugin.in_call
        with pytest.raises(ImportError, match=r"janus-fast\[media\]"):
            await plugin.accept({"type": "offer", "sdp": "v=0"})
        await plugin.destroy()
