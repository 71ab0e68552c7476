"""Admin/Monitor API against the real Janus, over both admin transports (WS and HTTP)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from janus_fast import (
    EventType,
    JanusError,
    JanusPlugin,
    JanusSession,
    PluginAttachFail,
    PluginError,
    SessionNotFoundError,
    UnauthorizedError,
)
from janus_fast.admin import AdminError, JanusAdminMonitorClient
from janus_fast.errors import (
    InvalidElementTypeError,
    NotAcceptingSessionsError,
    PluginNotFoundError,
    UnauthorizedPluginError,
)
from janus_fast.plugins import JanusEchoTestPlugin, JanusVideoRoomPlugin, VideoRoomError
from janus_fast.testing import JanusServer


@pytest.fixture(params=["ws", "http"])
def admin_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


def admin_url(janus: JanusServer, kind: str) -> str:
    return janus.admin_ws_url if kind == "ws" else janus.admin_http_url


def client_url(janus: JanusServer, kind: str) -> str:
    return janus.ws_url if kind == "ws" else janus.http_url


def admin_of(janus: JanusServer, kind: str, secret: str | None = None) -> JanusAdminMonitorClient:
    return JanusAdminMonitorClient(admin_url(janus, kind), secret or janus.admin_secret)


async def test_server_info_and_settings(janus_server: JanusServer, admin_kind: str) -> None:
    async with admin_of(janus_server, admin_kind) as admin:
        assert (await admin.ping())["janus"] == "pong"
        info = await admin.info()
        assert info["janus"] == "server_info"
        assert "janus.plugin.videoroom" in info["plugins"]
        settings = await admin.get_settings()
        assert await admin.loops_info() == []
        # Set every runtime setting to its current value (the server is shared).
        assert (
            await admin.set_session_timeout(settings["session_timeout"])
            == (settings["session_timeout"])
        )
        assert await admin.set_log_level(settings["log_level"]) == settings["log_level"]
        assert (
            await admin.set_log_timestamps(settings["log_timestamps"])
            is (settings["log_timestamps"])
        )
        assert await admin.set_log_colors(settings["log_colors"]) is settings["log_colors"]
        assert await admin.set_locking_debug(False) is False
        assert await admin.set_refcount_debug(False) is False
        assert await admin.set_libnice_debug(False) is False
        assert (
            await admin.set_min_nack_queue(settings["min_nack_queue"])
            == (settings["min_nack_queue"])
        )
        assert (
            await admin.set_nack_optimizations(settings["nack-optimizations"])
            is (settings["nack-optimizations"])
        )
        assert (
            await admin.set_no_media_timer(settings["no_media_timer"])
            == (settings["no_media_timer"])
        )
        assert (
            await admin.set_slowlink_threshold(settings["slowlink_threshold"])
            == (settings["slowlink_threshold"])
        )
        assert await admin.get_status() == await admin.get_settings()
        with pytest.raises(AdminError) as caught:
            await admin.set_log_level(99)
        assert isinstance(caught.value, InvalidElementTypeError)
        assert caught.value.code == 467
        await admin.custom_logline("janus_fast admin test", level=4)
        await admin.custom_event("janus_fast.test", {"ok": True})
        assert (await admin.resolve_address("localhost"))["ip"] == "127.0.0.1"
        with pytest.raises(AdminError):
            await admin.test_stun("256.0.0.1", 3478)  # unresolvable: fails at once
        assert isinstance(await admin.query_transport("janus.transport.http", {}), dict)
        for query in (admin.query_eventhandler, admin.query_logger):
            with pytest.raises(PluginNotFoundError):  # none is enabled
                await query("janus.nothing", {"request": "info"})


async def test_secrets_stay_out_of_errors_and_reprs(
    janus_server: JanusServer, admin_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="janus_fast")
    wrong = "wrong-admin-secret-value"
    admin = admin_of(janus_server, admin_kind, secret=wrong)
    assert "(" in repr(admin) or "<" in repr(admin)
    async with admin:
        assert (await admin.ping())["janus"] == "pong"  # no secret needed
        with pytest.raises(AdminError) as caught:
            await admin.list_sessions()
        assert isinstance(caught.value, UnauthorizedError)
        assert caught.value.code == 403
        message = {"janus": "list_sessions"}
        reply = await admin.send_wrapper(message)  # the raw API returns the error, as before
        assert reply["janus"] == "error"
        assert reply["error"]["code"] == 403
        assert message == {"janus": "list_sessions"}  # the caller's dict is untouched
        for text in (str(caught.value), repr(admin), str(admin), caplog.text):
            assert wrong not in text
            assert janus_server.admin_secret not in text


async def test_send_wrapper_matches_like_janus_client(
    janus_server: JanusServer, admin_kind: str
) -> None:
    async with admin_of(janus_server, admin_kind) as admin:
        status = await admin.send_wrapper({"janus": "get_status"}, {"janus": "success"})
        assert "status" in status
        pong = await admin.send_wrapper({"janus": "ping"}, authorize=False)
        assert pong["janus"] == "pong"
        sessions = await admin.send_wrapper({"janus": "list_sessions"}, lambda m: "sessions" in m)
        assert isinstance(sessions["sessions"], list)


async def test_sessions_and_handles(
    janus_server: JanusServer, admin_kind: str, tmp_path: Path
) -> None:
    async with (
        admin_of(janus_server, admin_kind) as admin,
        JanusSession(base_url=client_url(janus_server, admin_kind)) as session,
    ):
        echo = JanusEchoTestPlugin()
        await echo.attach(session)
        assert session.id is not None and echo.id is not None
        assert session.id in await admin.list_sessions()
        assert await admin.list_handles(session.id) == [echo.id]
        info = await admin.handle_info(session.id, echo.id)
        assert info["handle_id"] == echo.id
        assert info["plugin"] == "janus.plugin.echotest"
        assert "plugin_specific" in await admin.handle_info(session.id, echo.id, plugin_only=True)
        assert await admin.set_session_timeout(120, session.id) == 120
        await admin.start_pcap(session.id, echo.id, str(tmp_path), "capture.pcap")
        await admin.stop_pcap(session.id, echo.id)
        await admin.start_text2pcap(session.id, echo.id, str(tmp_path), "capture.txt", 100)
        await admin.stop_text2pcap(session.id, echo.id)
        await admin.hangup_webrtc(session.id, echo.id)
        with pytest.raises(SessionNotFoundError):
            await admin.list_handles(1)


async def test_message_plugin_creates_and_destroys_a_room(
    janus_server: JanusServer, admin_kind: str
) -> None:
    room = 880_000 + (7 if admin_kind == "ws" else 8)
    async with (
        admin_of(janus_server, admin_kind) as admin,
        JanusSession(base_url=janus_server.ws_url) as session,
    ):
        videoroom = JanusVideoRoomPlugin()
        await videoroom.attach(session)
        created = await admin.message_plugin(
            "janus.plugin.videoroom", {"request": "create", "room": room, "secret": "s"}
        )
        assert created == {"videoroom": "created", "room": room, "permanent": False}
        assert await videoroom.exists(room)
        with pytest.raises(PluginError) as caught:
            await admin.message_plugin(
                "janus.plugin.videoroom", {"request": "create", "room": room}
            )
        assert caught.value.error_code == 427  # already exists
        await admin.message_plugin(
            "janus.plugin.videoroom", {"request": "destroy", "room": room, "secret": "s"}
        )
        assert not await videoroom.exists(room)
        with pytest.raises(PluginNotFoundError):
            await admin.message_plugin("janus.plugin.nope", {"request": "list"})


class Watcher(JanusPlugin):
    name = "janus.plugin.echotest"


async def test_detach_handle_and_destroy_session_are_observed(
    janus_server: JanusServer, admin_kind: str
) -> None:
    async with (
        admin_of(janus_server, admin_kind) as admin,
        JanusSession(base_url=client_url(janus_server, admin_kind)) as session,
    ):
        detached = Watcher()
        await detached.attach(session)
        events = detached.events(EventType.DETACHED)
        handle_id = detached.id
        assert session.id is not None and handle_id is not None
        await admin.detach_handle(session.id, handle_id)
        event = await asyncio.wait_for(anext(events), 5)
        assert event.handle_id == handle_id
        await events.aclose()
        assert detached.id is None  # the handle object is released by the detached event
        assert handle_id not in session.plugin_handles

        videoroom = JanusVideoRoomPlugin()
        await videoroom.attach(session)
        await admin.destroy_session(session.id)
        assert session.id not in await admin.list_sessions()
        # Janus pushes nothing for this: the next request finds out, with a typed error.
        with pytest.raises(VideoRoomError) as caught:  # janus-client's catch style …
            await videoroom.exists(1234)
        assert isinstance(caught.value, SessionNotFoundError)  # … and the typed core error
        assert caught.value.error_code == 458
        assert not session.created  # and the session object knows it is gone


async def test_token_workflow(janus_factory: Any, admin_kind: str) -> None:
    janus: JanusServer = janus_factory(token_auth=True)
    url = client_url(janus, admin_kind)
    async with admin_of(janus, admin_kind) as admin:
        assert await admin.list_tokens() == []
        first, second = await admin.add_token(), await admin.add_token()
        assert first != second  # a new token per call (janus-client reused one forever)
        token = await admin.add_token("jf-token", plugins=["janus.plugin.echotest"])
        assert token == "jf-token"
        listed = {t["token"]: t["allowed_plugins"] for t in await admin.list_tokens()}
        assert listed["jf-token"] == ["janus.plugin.echotest"]
        assert {first, second} <= listed.keys()
        async with JanusSession(base_url=url, token=token) as session:
            await JanusEchoTestPlugin().attach(session)
            with pytest.raises(PluginAttachFail) as caught:
                await JanusVideoRoomPlugin().attach(session)
            assert isinstance(caught.value, UnauthorizedPluginError)
            assert caught.value.code == 405
            allowed = await admin.allow_token(token, ["janus.plugin.videoroom"])
            assert "janus.plugin.videoroom" in allowed
            await JanusVideoRoomPlugin().attach(session)
            remaining = await admin.disallow_token(token, ["janus.plugin.videoroom"])
            assert remaining == ["janus.plugin.echotest"]
            with pytest.raises(ValueError):
                await admin.allow_token(token, [])
        assert await admin.remove_token(token) is True
        async with JanusSession(base_url=url, token=token) as session:
            with pytest.raises(UnauthorizedError) as refused:
                await session.create()
            assert refused.value.code == 403
        with pytest.raises(AdminError) as caught_admin:
            await admin.remove_token(token)
        assert caught_admin.value.code == 490  # Janus 1.1.2: "Error removing token"


async def test_accept_new_sessions(janus_factory: Any, admin_kind: str) -> None:
    janus: JanusServer = janus_factory()
    url = client_url(janus, admin_kind)
    async with admin_of(janus, admin_kind) as admin:
        assert await admin.accept_new_sessions(False) is False
        async with JanusSession(base_url=url) as session:
            with pytest.raises(NotAcceptingSessionsError) as caught:
                await session.create()
            assert caught.value.code == 472
            assert isinstance(caught.value, JanusError)
        assert await admin.accept_new_sessions(True) is True
        async with JanusSession(base_url=url) as session:
            await session.create()
            assert session.created


async def test_connects_on_demand_and_reconnects(
    janus_server: JanusServer, admin_kind: str
) -> None:
    admin = admin_of(janus_server, admin_kind)
    assert "disconnected" in repr(admin)
    assert isinstance(await admin.list_sessions(), list)  # connects by itself
    assert "connected" in repr(admin)
    await admin.disconnect()
    await admin.connect()
    assert (await admin.ping())["janus"] == "pong"
    await admin.disconnect()
    assert "disconnected" in str(admin)  # no recursion (janus-client's __str__ recursed)
