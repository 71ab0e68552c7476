"""Streaming plugin against the real Janus, signalling only (no WebRTC stack): mountpoint
administration (create/info/list/edit/destroy, enable/disable, kick_all), a viewer's
watch/start/pause/configure/stop with a hand-written answer, typed errors and events, and string
mountpoint ids. Media through a mountpoint is in test_media_streaming.py.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from _fake_sdp import answer
from janus_fast import JanusSession, PluginError
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusStreamingPlugin, StreamingError, StreamingEventType
from janus_fast.plugins.streaming import classify_event
from janus_fast.testing.pytest_plugin import JanusFactory

BOUND = 15.0
NO_SUCH_MOUNTPOINT = 455
UNAUTHORIZED = 457


def mountpoint_id() -> int:
    return 100_000 + secrets.randbelow(10**9)


def video_stream() -> list[dict[str, Any]]:
    """One VP8 stream on a port the OS chooses (Janus reports it)."""
    return [{"type": "video", "mid": "v", "port": 0, "pt": 96, "codec": "vp8"}]


class Events:
    """Every ``StreamingEventType`` event of a handle, in order."""

    def __init__(self, plugin: JanusStreamingPlugin) -> None:
        self.queue: asyncio.Queue[tuple[StreamingEventType, dict[str, Any]]] = asyncio.Queue(100)
        for event_type in StreamingEventType:
            plugin.on_event(event_type, self._collector(event_type))

    def _collector(self, event_type: StreamingEventType) -> Any:
        async def collect(data: dict[str, Any]) -> None:  # async handlers are supported
            self.queue.put_nowait((event_type, data))

        return collect

    async def next(self, event_type: StreamingEventType) -> dict[str, Any]:
        """The next event of ``event_type`` (others before it are skipped)."""
        while True:
            kind, data = await self.queue.get()
            if kind is event_type:
                return data


async def attached(session: JanusSession) -> JanusStreamingPlugin:
    plugin = JanusStreamingPlugin()
    await plugin.attach(session)
    return plugin


async def test_create_info_list_edit_destroy(janus_url: str) -> None:
    mp = mountpoint_id()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin = await attached(session)
        created = await admin.create_mountpoint(
            "rtp", mp, description="test mountpoint", secret="s", media=video_stream()
        )
        assert created["streaming"] == "created"
        stream = created["stream"]
        assert stream["id"] == mp and stream["description"] == "test mountpoint"
        (port,) = stream["ports"]
        assert port["mid"] == "v" and port["port"] > 0
        try:
            info = await admin.info(mp, secret="s")  # the secret shows ports and secret
            assert info["id"] == mp and info["enabled"] is True and info["viewers"] == 0
            assert info["secret"] == "s"
            assert [(m["mid"], m["codec"], m["port"]) for m in info["media"]] == [
                ("v", "vp8", port["port"])
            ]
            assert "port" not in (await admin.info(mp))["media"][0]  # without it: hidden
            listed = {entry["id"]: entry for entry in await admin.list_mountpoints()}
            assert listed[mp]["description"] == "test mountpoint"
            assert 1 in listed  # the instance's configured mountpoint

            edited = await admin.edit_mountpoint(
                mp, "s", new_description="renamed", new_metadata="meta", new_is_private=True
            )
            assert edited["streaming"] == "edited" and edited["id"] == mp
            info = await admin.info(mp, secret="s")
            assert info["description"] == "renamed" and info["metadata"] == "meta"
            assert mp not in {entry["id"] for entry in await admin.list_mountpoints()}

            with pytest.raises(StreamingError) as wrong:
                await admin.edit_mountpoint(mp, "not-the-secret", new_description="x")
            assert wrong.value.error_code == UNAUTHORIZED
        finally:
            destroyed = await admin.destroy_mountpoint(mp, secret="s")
        assert destroyed == {"streaming": "destroyed", "destroyed": mp}
        with pytest.raises(StreamingError) as gone:
            await admin.info(mp)
        assert isinstance(gone.value, PluginError)
        assert gone.value.error_code == NO_SUCH_MOUNTPOINT
        assert "No such mountpoint" in gone.value.error_message
        await admin.destroy()


async def test_watch_start_pause_configure_stop_signalling_only(janus_url: str) -> None:
    """A viewer with a ready-made answer: every step's status comes back as the reply and as
    its event; ``mountpoint_id`` follows."""
    mp = mountpoint_id()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin, viewer = await attached(session), await attached(session)
        events = Events(viewer)
        await admin.create_mountpoint("rtp", mp, secret="s", media=video_stream())
        try:
            watched = await viewer.watch(mp)
            assert watched["result"]["status"] == "preparing"
            offer = watched["jsep"]
            assert offer["type"] == "offer" and "m=video" in offer["sdp"]
            assert viewer.mountpoint_id == mp
            assert "jsep" in await events.next(StreamingEventType.PREPARING)

            started = await viewer.start(jsep=answer(offer))
            assert started["result"]["status"] == "starting"
            await events.next(StreamingEventType.STARTING)
            assert (await admin.info(mp, secret="s"))["viewers"] == 1

            assert (await viewer.pause())["result"]["status"] == "pausing"
            await events.next(StreamingEventType.PAUSING)
            configured = await viewer.configure(mid="v", send=False)
            assert configured["result"]["event"] == "configured"
            await events.next(StreamingEventType.CONFIGURED)
            assert (await viewer.resume())["result"]["status"] in ("starting", "started")

            # ICE never connects with a hand-written answer, so Janus never reports
            # "started" and would ignore a "stop": the core hangup ends the subscription.
            assert not viewer.started
            assert await viewer.stop() == {}
            assert viewer.mountpoint_id is None
            while (await admin.info(mp, secret="s"))["viewers"]:  # Janus drops it just after
                await asyncio.sleep(0.02)
        finally:
            await admin.destroy_mountpoint(mp, secret="s")
            await viewer.destroy()
            await admin.destroy()


async def test_watch_restart_renegotiates(janus_url: str) -> None:
    """``watch(restart=True)`` on a watched mountpoint: a new offer, as the ``UPDATING`` event."""
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        viewer = await attached(session)
        events = Events(viewer)
        try:
            watched = await viewer.watch(1)  # the instance's configured mountpoint
            await viewer.start(jsep=answer(watched["jsep"]))
            updated = await viewer.watch(1, restart=True)
            assert updated["result"] == {"status": "updating"}
            assert updated["jsep"]["type"] == "offer"
            assert "jsep" in await events.next(StreamingEventType.UPDATING)
            assert viewer.mountpoint_id == 1
        finally:
            await viewer.destroy()


async def test_disable_and_enable(janus_url: str) -> None:
    """The flag only (what it does to media is in test_media_streaming.py); ``disable`` sends
    ``stop_recording: false`` unless asked: Janus 1.1.2's default crashes it on a mountpoint
    that is not recording, and this instance would be gone for every later test."""
    mp = mountpoint_id()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin = await attached(session)
        await admin.create_mountpoint("rtp", mp, secret="s", media=video_stream())
        try:
            assert await admin.disable(mp, secret="s") == {"streaming": "ok"}
            assert (await admin.info(mp))["enabled"] is False
            assert await admin.enable(mp, secret="s") == {"streaming": "ok"}
            assert (await admin.info(mp))["enabled"] is True
        finally:
            await admin.destroy_mountpoint(mp, secret="s")
            await admin.destroy()


async def test_kick_all_and_destroy_reach_the_viewers(janus_url: str) -> None:
    mp = mountpoint_id()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin, viewer = await attached(session), await attached(session)
        events = Events(viewer)
        await admin.create_mountpoint("rtp", mp, secret="s", media=video_stream())
        destroyed = False
        try:
            await viewer.watch(mp)
            assert await admin.kick_all(mp, secret="s") == {"streaming": "kicked_all"}
            await events.next(StreamingEventType.KICKED_ALL)
            assert viewer.mountpoint_id is None
            assert (await admin.info(mp, secret="s"))["viewers"] == 0

            await viewer.watch(mp)  # kicked viewers may watch again
            assert viewer.mountpoint_id == mp
            await admin.destroy_mountpoint(mp, secret="s")
            destroyed = True
            await events.next(StreamingEventType.STOPPED)
            assert viewer.mountpoint_id is None
        finally:
            if not destroyed:
                await admin.destroy_mountpoint(mp, secret="s")
            await viewer.destroy()
            await admin.destroy()


async def test_errors_are_typed(janus_url: str) -> None:
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        plugin = await attached(session)
        with pytest.raises(StreamingError) as no_such:
            await plugin.watch(mountpoint_id())
        assert no_such.value.error_code == NO_SUCH_MOUNTPOINT
        with pytest.raises(StreamingError) as bad_action:
            await plugin.recording(1, "pause")
        assert bad_action.value.error_code == 454 and "start|stop" in bad_action.value.error
        with pytest.raises(StreamingError) as not_watching:
            await plugin.switch(1)
        assert not_watching.value.error_code in (NO_SUCH_MOUNTPOINT, 460)
        with pytest.raises(StreamingError) as bad_type:
            await plugin.create_mountpoint("nonsense", mountpoint_id())
        assert bad_type.value.error_code == 454
        await plugin.destroy()


async def test_edited_event_reaches_viewers(janus_url: str) -> None:
    mp = mountpoint_id()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        admin, viewer = await attached(session), await attached(session)
        events = Events(viewer)
        await admin.create_mountpoint("rtp", mp, secret="s", media=video_stream())
        try:
            await viewer.watch(mp)
            await admin.edit_mountpoint(mp, "s", new_metadata="now live", edited_event=True)
            edited = await events.next(StreamingEventType.EDITED)
            assert edited["id"] == mp and edited["metadata"] == "now live"
        finally:
            await admin.destroy_mountpoint(mp, secret="s")
            await viewer.destroy()
            await admin.destroy()


async def test_string_mountpoint_ids(janus_factory: JanusFactory) -> None:
    server = janus_factory(plugins=("streaming",), string_ids=True)
    async with deadline(BOUND), JanusSession(base_url=server.ws_url) as session:
        admin = await attached(session)
        listed = await admin.list_mountpoints()
        assert [entry["id"] for entry in listed] == ["1"]  # the configured one, as a string
        created = await admin.create_mountpoint("rtp", "cam-1", media=video_stream())
        assert created["stream"]["id"] == "cam-1"
        assert (await admin.info("cam-1"))["id"] == "cam-1"
        with pytest.raises(StreamingError):  # numbers are refused in this mode
            await admin.info(1)
        assert (await admin.watch("cam-1"))["jsep"]["type"] == "offer"
        assert admin.mountpoint_id == "cam-1"
        await admin.stop()
        await admin.destroy_mountpoint("cam-1")
        await admin.destroy()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"streaming": "event", "result": {"status": "started"}}, StreamingEventType.STARTED),
        ({"streaming": "event", "result": {"status": "kicked_all"}}, StreamingEventType.KICKED_ALL),
        (
            {"streaming": "event", "result": {"switched": "ok", "id": 7}},
            StreamingEventType.SWITCHED,
        ),
        ({"streaming": "event", "result": {"event": "configured"}}, StreamingEventType.CONFIGURED),
        (
            {"streaming": "event", "result": {"mid": "v", "substream": 1}},
            StreamingEventType.SIMULCAST,
        ),
        (
            {"streaming": "event", "result": {"mid": "v", "spatial_layer": 1}},
            StreamingEventType.SVC,
        ),
        ({"event": "edited", "id": 7, "metadata": "m"}, StreamingEventType.EDITED),
        ({"streaming": "event", "result": {"status": "brand-new"}}, StreamingEventType.OTHER),
        ({"streaming": "event", "result": "a string"}, StreamingEventType.OTHER),
        (
            {"streaming": "event", "result": {"status": ["not", "a", "str"]}},
            StreamingEventType.OTHER,
        ),
        ({"streaming": "created"}, StreamingEventType.OTHER),
    ],
)
def test_event_shapes(data: dict[str, Any], expected: StreamingEventType) -> None:
    """Every shape, known or not, has an event type; none raises."""
    assert classify_event(data)[0] is expected


async def test_unsolicited_events_reach_handlers_and_state() -> None:
    """Events delivered to ``on_receive`` (no Janus needed: the handle is not attached) fire the
    handlers and update ``mountpoint_id``/``started``; malformed ones become ``OTHER``."""
    plugin = JanusStreamingPlugin()
    events = Events(plugin)

    def event(data: Any) -> dict[str, Any]:
        return {"janus": "event", "plugindata": {"plugin": "janus.plugin.streaming", "data": data}}

    await plugin.on_receive(event({"streaming": "event", "result": {"status": "started"}}))
    assert plugin.started
    await plugin.on_receive(event({"streaming": "event", "result": {"switched": "ok", "id": 9}}))
    assert plugin.mountpoint_id == 9
    await plugin.on_receive(event({"streaming": "event", "error_code": 455, "error": "gone"}))
    await plugin.on_receive(event({"streaming": "event", "result": {"status": "stopped"}}))
    assert plugin.mountpoint_id is None and not plugin.started
    await plugin.on_receive({"janus": "event", "plugindata": "not a dict"})
    kinds = [events.queue.get_nowait()[0] for _ in range(events.queue.qsize())]
    assert kinds == [
        StreamingEventType.STARTED,
        StreamingEventType.SWITCHED,
        StreamingEventType.ERROR,
        StreamingEventType.STOPPED,
        StreamingEventType.OTHER,
    ]
