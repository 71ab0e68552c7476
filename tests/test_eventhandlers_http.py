"""The HTTP event receiver against a real Janus 1.1.2 whose ``sampleevh`` posts to it: typed
lifecycle events with the right ids, grouping, gzip, Basic auth (and its refusal), duplicates from
a retransmission discarded, the stream bound counted."""

from __future__ import annotations

import asyncio
import logging

import pytest

from _eventhandlers import collect_until, custom_event, wait_for
from janus_fast import JanusSession
from janus_fast.eventhandlers import (
    CoreEvent,
    EventStream,
    EventType,
    ExternalEvent,
    HandleEvent,
    HttpEventReceiver,
    JanusEvent,
    PluginEvent,
    SessionEvent,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing import FaultProxy
from janus_fast.testing.config import EventHandler


def _sampleevh(url: str, **settings: object) -> tuple[EventHandler, ...]:
    return (EventHandler("sampleevh", url, **settings),)  # type: ignore[arg-type]


def _named(events: list[JanusEvent], kind: type[JanusEvent], name: str) -> list[JanusEvent]:
    return [e for e in events if isinstance(e, kind) and getattr(e, "name", None) == name]


def _started(events: list[JanusEvent]) -> list[JanusEvent]:
    return [e for e in events if isinstance(e, CoreEvent) and e.status == "started"]


async def test_session_handle_and_plugin_events_with_their_ids(janus_factory) -> None:
    async with HttpEventReceiver(path="/janus-events", server="janus-a") as receiver:
        janus = janus_factory(event_handlers=_sampleevh(receiver.url, json="indented"))
        async with JanusSession(base_url=janus.ws_url) as session:
            echo = JanusEchoTestPlugin()
            await echo.attach(session, opaque_id="evh-opaque-1")
            handle_id = echo.id
            await echo.configure(audio=True, video=False)
            # The EchoTest notifies its plugin event after it answered, from its own thread, and
            # Janus drops it if the handle is gone by then: wait for it before detaching.
            events = await collect_until(
                receiver.stream, lambda got: any(isinstance(e, PluginEvent) for e in got)
            )
            await echo.destroy()
            session_id = session.id
        before = list(events)
        events += await collect_until(
            receiver.stream,
            lambda got: (
                bool(_started(before + got))
                and all(
                    _named(before + got, kind, name)
                    for kind, name in (
                        (SessionEvent, "created"),
                        (HandleEvent, "attached"),
                        (HandleEvent, "detached"),
                        (SessionEvent, "destroyed"),
                    )
                )
            ),
        )
    # Janus gives no order across its threads (core, transports, plugins): look events up by kind.
    (started,) = _started(events)
    assert started.session_id is None and started.type == EventType.CORE
    (created,) = _named(events, SessionEvent, "created")
    assert created.session_id == session_id and created.type == EventType.SESSION
    assert created.transport is not None
    assert created.transport["transport"] == "janus.transport.websockets"
    (attached,) = _named(events, HandleEvent, "attached")
    assert (attached.session_id, attached.handle_id) == (session_id, handle_id)
    assert attached.opaque_id == "evh-opaque-1" and attached.plugin == "janus.plugin.echotest"
    (detached,) = _named(events, HandleEvent, "detached")
    assert (detached.session_id, detached.handle_id) == (session_id, handle_id)
    plugin = [e for e in events if isinstance(e, PluginEvent)]
    assert plugin and plugin[0].plugin == "janus.plugin.echotest"
    assert (plugin[0].session_id, plugin[0].handle_id) == (session_id, handle_id)
    assert plugin[0].data["audio_active"] is True and plugin[0].data["video_active"] is False
    assert plugin[0].opaque_id == "evh-opaque-1"
    for event in events:
        assert event.server == "janus-a" and event.emitter == janus.server_name
        assert isinstance(event.timestamp, int) and event.raw["type"] == event.type
    assert receiver.stats()["accepted"] >= 1 and receiver.stream.stats()["duplicates"] == 0


async def test_grouped_gzip_posts_with_basic_auth(janus_factory) -> None:
    async with HttpEventReceiver(username="evh-user", password="evh-Secret-9") as receiver:
        proxy = await FaultProxy(receiver.port).start()
        try:
            janus = janus_factory(
                event_handlers=_sampleevh(
                    f"http://127.0.0.1:{proxy.port}/",
                    events="external",
                    compress=True,
                    backend_user="evh-user",
                    backend_pwd="evh-Secret-9",
                )
            )
            proxy.hold()  # the first answer waits: Janus's handler thread is busy with it…
            await custom_event(janus, "test.grouping", {"n": 0})
            await wait_for(lambda: receiver.stats()["accepted"] == 1)
            for n in range(1, 30):  # …so these queue up in Janus
                await custom_event(janus, "test.grouping", {"n": n})
            proxy.release()  # and go out grouped: one JSON array
            events = await collect_until(receiver.stream, lambda got: len(got) == 30)
        finally:
            await proxy.close()
    assert sorted(e.data["n"] for e in events if isinstance(e, ExternalEvent)) == list(range(30))
    assert {e.schema for e in events if isinstance(e, ExternalEvent)} == {"test.grouping"}
    stats = receiver.stats()
    # One event, then the 29 queued meanwhile in one array (a third post only if Janus's events
    # thread had not handed the last ones over when the first answer came).
    assert stats["accepted"] in (2, 3), stats
    assert stats["unauthorized"] == 0 and stats["compressed"] == stats["accepted"]
    assert "evh-Secret-9" not in repr(receiver) and "evh-user" not in repr(receiver)


async def test_two_servers_one_stream_told_apart(janus_factory) -> None:
    stream = EventStream()
    async with (
        HttpEventReceiver(stream, server="janus-a") as receiver_a,
        HttpEventReceiver(stream, server="janus-b") as receiver_b,
    ):
        janus_a = janus_factory(event_handlers=_sampleevh(receiver_a.url, events="external"))
        janus_b = janus_factory(event_handlers=_sampleevh(receiver_b.url, events="external"))
        await custom_event(janus_a, "test.multi", {"from": "a"})
        await custom_event(janus_b, "test.multi", {"from": "b"})
        events = await collect_until(stream, lambda got: len(got) == 2)
    seen = {(e.server, e.emitter, e.data["from"]) for e in events if isinstance(e, ExternalEvent)}
    assert seen == {("janus-a", janus_a.server_name, "a"), ("janus-b", janus_b.server_name, "b")}


async def test_wrong_password_is_refused_and_not_retransmitted(janus_factory) -> None:
    async with HttpEventReceiver(username="evh-user", password="right") as receiver:
        janus = janus_factory(
            event_handlers=_sampleevh(
                receiver.url,
                events="external",
                grouping=False,
                backend_user="evh-user",
                backend_pwd="wrong",
                retransmissions_backoff=10,
            )
        )
        for n in range(3):
            await custom_event(janus, "test.auth", {"n": n})
        await wait_for(lambda: receiver.stats()["unauthorized"] >= 3)
        await asyncio.sleep(0.5)  # room for retransmissions, were there any
    # A 401 is a delivered HTTP answer for libcurl: Janus drops the event, it does not retry.
    assert receiver.stats()["unauthorized"] == receiver.stats()["requests"] == 3
    assert len(receiver.stream) == 0 and receiver.stream.stats()["received"] == 0


async def test_a_retransmission_after_a_lost_answer_is_discarded(janus_factory) -> None:
    async with HttpEventReceiver() as receiver:
        proxy = await FaultProxy(receiver.port).start()
        try:
            url = f"http://127.0.0.1:{proxy.port}/"
            janus = janus_factory(
                event_handlers=_sampleevh(url, events="external", retransmissions_backoff=50)
            )
            proxy.hold()  # the 200 answer is kept from Janus…
            await custom_event(janus, "test.dup", {"n": 1})
            await wait_for(lambda: receiver.stats()["accepted"] == 1)
            proxy.cut()  # …and lost: libcurl fails, Janus posts the same events again
            proxy.release()
            await wait_for(lambda: receiver.stats()["accepted"] == 2)
        finally:
            await proxy.close()
    assert receiver.stream.stats()["duplicates"] == 1
    (event,) = await collect_until(receiver.stream, lambda got: len(got) == 1)
    assert isinstance(event, ExternalEvent) and event.data == {"n": 1}
    assert len(receiver.stream) == 0


async def test_the_stream_bound_drops_the_oldest_and_counts(
    janus_factory, caplog: pytest.LogCaptureFixture
) -> None:
    stream = EventStream(maxsize=3)
    async with HttpEventReceiver(stream) as receiver:
        janus = janus_factory(event_handlers=_sampleevh(receiver.url, events="external"))
        with caplog.at_level(logging.WARNING, logger="janus_fast.eventhandlers"):
            for n in range(10):
                await custom_event(janus, "test.bound", {"n": n})
            await wait_for(lambda: stream.stats()["received"] == 10)
    assert stream.stats()["dropped"] == 7 and len(stream) == 3
    kept = [stream.get_nowait() for _ in range(3)]
    assert [e.data["n"] for e in kept if isinstance(e, ExternalEvent)] == [7, 8, 9]
    warnings = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(warnings) == 1
    # Every post was answered 200 although the stream was full: Janus never retransmitted.
    assert receiver.stats()["refused"] == 0 and stream.stats()["duplicates"] == 0
