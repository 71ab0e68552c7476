"""Janus 1.1.2's Nanomsg event handler (``nanomsgevh``, an NN_PUB socket) into
``NanomsgEventReceiver``: session, handle and plugin events of a real EchoTest driven over the
Nanomsg transport (IPC), the JSEP, WebRTC and media events of real WebRTC (aiortc, signalled
over the Nanomsg transport too) into a receiver on TCP, nanomsgevh binding while the receiver
dials, and a publisher's garbage counted, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pynng
import pytest

from _eventhandlers import collect_until, custom_event
from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
    shared_clip,
    wait_inbound,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.errors import InvalidOptionError, InvalidStateError, TransportError
from janus_fast.eventhandlers import (
    CoreEvent,
    EventType,
    ExternalEvent,
    HandleEvent,
    JanusEvent,
    JsepEvent,
    MediaEvent,
    MediaSubtype,
    NanomsgEventReceiver,
    PluginEvent,
    SessionEvent,
    WebRTCEvent,
    WebRTCSubtype,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.testing.config import EventHandler, NanomsgAPI, nanomsg_addresses
from janus_fast.testing.nanomsg import ensure_nanomsg_transport
from janus_fast.testing.server import JanusServer
from janus_fast.transports.nanomsg import JanusTransportNanomsg


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_clip(tmp_path_factory)


def _seen(*wanted: tuple[type[JanusEvent], str | None]) -> Callable[[list[JanusEvent]], bool]:
    def done(got: list[JanusEvent]) -> bool:
        names = {(type(e), getattr(e, "name", None)) for e in got}
        return set(wanted) <= names

    return done


async def test_echotest_session_over_the_nanomsg_transport_gives_typed_events(
    janus_factory: Callable[..., JanusServer],
) -> None:
    async with NanomsgEventReceiver(server="nn-a") as receiver:
        assert receiver.address is not None and receiver.address.startswith("ipc://")
        janus = janus_factory(
            plugins=("echotest",),
            nanomsg_api=NanomsgAPI(admin=False),
            event_handlers=(EventHandler("nanomsgevh", receiver.address),),
        )
        ensure_nanomsg_transport(janus)
        await receiver.wait_connected(10)
        api, _ = nanomsg_addresses(janus.config, janus.folder)
        async with JanusSession(base_url=f"nanomsg+{api}") as session:
            assert isinstance(session.transport, JanusTransportNanomsg)
            echo = JanusEchoTestPlugin()
            await echo.attach(session, opaque_id="nn-opaque")
            handle_id = echo.id
            await echo.configure(audio=False)
            # EchoTest's plugin event comes after its answer, from its own thread: wait for it
            # before detaching (Janus drops it once the handle is gone).
            events = await collect_until(
                receiver.stream, lambda got: any(isinstance(e, PluginEvent) for e in got)
            )
            await echo.destroy()
            session_id = session.id
        events += await collect_until(
            receiver.stream, _seen((HandleEvent, "detached"), (SessionEvent, "destroyed"))
        )
    sessions = {(e.name, e.session_id) for e in events if isinstance(e, SessionEvent)}
    assert {("created", session_id), ("destroyed", session_id)} <= sessions
    handles = {(e.name, e.handle_id, e.opaque_id) for e in events if isinstance(e, HandleEvent)}
    assert {("attached", handle_id, "nn-opaque"), ("detached", handle_id, "nn-opaque")} == handles
    plugin = [e for e in events if isinstance(e, PluginEvent)]
    assert plugin[0].handle_id == handle_id and plugin[0].data["audio_active"] is False
    created = next(e for e in events if isinstance(e, SessionEvent) and e.name == "created")
    assert created.transport is not None
    assert created.transport["transport"] == "janus.transport.nanomsg"
    assert {e.server for e in events} == {"nn-a"}
    stats = receiver.stats()
    # one connection per Janus start (ensure_nanomsg_transport may have restarted it)
    assert stats["connections"] >= 1 and stats["invalid"] == 0
    # grouping = true: one nanomsg message may carry several events
    assert 0 < stats["messages"] <= receiver.stream.stats()["received"]
    assert receiver.address is None  # the private IPC folder is gone


def _stats_for(handle_id: int | None) -> Callable[[list[JanusEvent]], bool]:
    def done(got: list[JanusEvent]) -> bool:
        return any(
            isinstance(e, MediaEvent)
            and e.subtype == MediaSubtype.STATS
            and e.handle_id == handle_id
            for e in got
        )

    return done


async def test_jsep_webrtc_and_media_events_of_a_real_echotest_over_tcp(
    janus_factory: Callable[..., JanusServer], clip: Path
) -> None:
    async with NanomsgEventReceiver(address="tcp://127.0.0.1:0") as receiver:
        assert receiver.address is not None and not receiver.address.endswith(":0")
        janus = janus_factory(
            plugins=("echotest",),
            nanomsg_api=NanomsgAPI(admin=False),
            event_handlers=(
                EventHandler("nanomsgevh", receiver.address, events="jsep,webrtc,media"),
            ),
            events={"stats_period": 1},
        )
        ensure_nanomsg_transport(janus)
        await receiver.wait_connected(10)
        api, _ = nanomsg_addresses(janus.config, janus.folder)
        # the SDP offer of aiortc's audio+video fits in the Nanomsg transport's 8191 bytes
        async with deadline(30), JanusSession(base_url=f"nanomsg+{api}") as session:
            echo = JanusEchoTestPlugin(pc_config=no_stun())
            await echo.attach(session)
            try:
                await echo.start(str(clip))
                await echo.wait_webrtcup()
                await wait_inbound(echo.pc, packets=10)
                events = await collect_until(receiver.stream, _stats_for(echo.id), seconds=15)
            finally:
                handle_id, session_id = echo.id, session.id
                await echo.destroy()
    assert {e.type for e in events} <= {EventType.JSEP, EventType.WEBRTC, EventType.MEDIA}
    assert all((e.session_id, e.handle_id) == (session_id, handle_id) for e in events)
    jseps = [(e.owner, e.jsep_type) for e in events if isinstance(e, JsepEvent)]
    assert jseps[:2] == [("remote", "offer"), ("local", "answer")]
    webrtc = [e for e in events if isinstance(e, WebRTCEvent)]
    assert any(e.subtype == WebRTCSubtype.ICE and e.ice == "connected" for e in webrtc)
    assert any(e.subtype == WebRTCSubtype.STATE and e.connection == "webrtcup" for e in webrtc)
    media = [e for e in events if isinstance(e, MediaEvent)]
    assert {e.media for e in media if e.subtype == MediaSubtype.STATE and e.receiving} == {
        "audio",
        "video",
    }


async def test_receiver_dials_a_nanomsgevh_that_binds(
    janus_factory: Callable[..., JanusServer], tmp_path: Path
) -> None:
    address = f"ipc://{tmp_path}/evh.ipc"
    janus = janus_factory(
        plugins=("echotest",),
        event_handlers=(
            EventHandler("nanomsgevh", address, events="external", extra={"mode": "bind"}),
        ),
    )
    async with NanomsgEventReceiver(address=address, dial=True) as receiver:
        await receiver.wait_connected(10)
        await custom_event(janus, "janus-fast.nn", {"n": 1})
        [event] = await collect_until(receiver.stream, lambda got: len(got) == 1)
    assert isinstance(event, ExternalEvent) and event.schema == "janus-fast.nn"
    assert event.data == {"n": 1}


async def test_garbage_from_a_publisher_is_counted_and_the_receiver_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "janus_fast")
    async with NanomsgEventReceiver() as receiver:
        with pynng.Pub0(dial=receiver.address, block_on_dial=True) as publisher:
            await receiver.wait_connected(5)
            for payload in (b"not json", b"[1, 2]", b'{"type": 256, "event": {}}'):
                await publisher.asend(payload)
            event = await receiver.stream.get(timeout=5)
        assert isinstance(event, CoreEvent)
        assert receiver.stats()["invalid"] == 2 and receiver.stream.stats()["invalid"] == 2
        assert receiver.stats()["messages"] == 3
        with pytest.raises(InvalidStateError):
            await receiver.start()


async def test_bad_options_and_a_taken_address_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="ipc:// or tcp://"):
        NanomsgEventReceiver(address="udp://127.0.0.1:1")
    with pytest.raises(InvalidOptionError, match="dial=True"):
        NanomsgEventReceiver(dial=True)
    with pytest.raises(InvalidOptionError, match="recv_buffer"):
        NanomsgEventReceiver(recv_buffer=0)
    address = f"ipc://{tmp_path}/taken.ipc"
    async with NanomsgEventReceiver(address=address):
        with pytest.raises(TransportError, match="cannot listen"):
            await NanomsgEventReceiver(address=address).start()
