"""janus-client 0.9.0's observable failures, site by site, on a real Janus: janus_fast's error
through the janus-client compatible API has janus-client's text (``str(exc)``) and is an instance
of janus-client's builtin class, while staying the typed janus_fast class.

Each test runs janus-client itself against the same Janus and compares the texts it produces, so
the expectation is janus-client's behaviour, not a copy of it. The table these tests cover is in
docs/janus-client-compat.md.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sys
import warnings
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

import janus_fast
from janus_fast import (
    JanusSession,
    JanusTransport,
    PluginAttachFail,
    PluginNotFoundError,
    RequestTimeoutError,
    TransportError,
    UnauthorizedError,
)
from janus_fast.errors import InvalidMessageError, InvalidStateError
from janus_fast.testing import JanusServer

Factory = Callable[..., JanusServer]


@pytest.fixture(scope="module")
def janus_client() -> ModuleType:
    """janus-client 0.9.0, imported without its side effects leaking into the test process (it
    warns at import and calls ``logging.basicConfig(level=INFO)``)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import janus_client
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("janus_client").setLevel(logging.CRITICAL)
    return janus_client


async def failure(action: Awaitable[Any]) -> BaseException:
    """The exception ``action`` raises (the test fails if it returns)."""
    try:
        await asyncio.wait_for(action, 30)
    except Exception as exc:
        return exc
    raise AssertionError("expected a failure")


def plugin_class(library: ModuleType, plugin_name: str) -> type[Any]:
    class Plugin(library.JanusPlugin):  # type: ignore[misc,name-defined]
        name = plugin_name

        async def on_receive(self, response: dict[str, Any]) -> None:
            pass

    return Plugin


def url_of(server: JanusServer, kind: str) -> str:
    return server.ws_url if kind == "ws" else server.http_url


async def create_fails(library: ModuleType, url: str, **auth: Any) -> BaseException:
    session = library.JanusSession(base_url=url, **auth)
    try:
        return await failure(session.create())
    finally:
        await session.transport.disconnect()


# -- session create ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "auth"),
    [
        ({"api_secret": "right-secret"}, {}),
        ({"api_secret": "right-secret"}, {"api_secret": "wrong-secret"}),
        ({"token_auth": True}, {}),
        ({"token_auth": True}, {"token": "not-a-token"}),
    ],
)
async def test_create_session_failure_has_janus_clients_text(
    janus_factory: Factory,
    janus_client: ModuleType,
    transport_kind: str,
    mode: dict[str, Any],
    auth: dict[str, Any],
) -> None:
    server = janus_factory(**mode)
    url = url_of(server, transport_kind)
    theirs = await create_fails(janus_client, url, **auth)
    ours = await create_fails(janus_fast, url, **auth)
    assert type(theirs) is Exception
    assert str(theirs).startswith("Create session fail: {'code': 403, ")
    assert str(ours) == str(theirs)
    assert isinstance(ours, UnauthorizedError) and ours.code == 403
    for secret in ("right-secret", "wrong-secret", "not-a-token"):
        assert secret not in str(ours) and secret not in repr(ours)


# -- attach --------------------------------------------------------------------------------------
async def attach_fails(library: ModuleType, url: str) -> BaseException:
    session = library.JanusSession(base_url=url)
    try:
        return await failure(plugin_class(library, "janus.plugin.nope")().attach(session))
    finally:
        await session.destroy()
        await session.transport.disconnect()


async def test_attach_failure_has_janus_clients_text_and_class(
    janus_url: str, janus_client: ModuleType
) -> None:
    theirs = await attach_fails(janus_client, janus_url)
    ours = await attach_fails(janus_fast, janus_url)
    assert type(theirs).__name__ == type(ours).__name__ == "PluginAttachFail"
    assert str(theirs).startswith("Fail to attach plugin: {'code': 460, ")
    assert str(ours) == str(theirs)
    assert isinstance(ours, PluginAttachFail) and isinstance(ours, PluginNotFoundError)
    assert ours.code == 460


# -- MessageTransaction.get ----------------------------------------------------------------------
async def get_times_out(library: ModuleType, url: str) -> BaseException:
    session = library.JanusSession(base_url=url)
    plugin = plugin_class(library, "janus.plugin.echotest")()
    await plugin.attach(session)
    try:
        transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
        error = await failure(transaction.get({"janus": "never"}, timeout=0.2))
        await transaction.done()
        return error
    finally:
        await session.destroy()
        await session.transport.disconnect()


async def test_transaction_timeout_has_janus_clients_text_and_class(
    janus_url: str, janus_client: ModuleType
) -> None:
    theirs = await get_times_out(janus_client, janus_url)
    ours = await get_times_out(janus_fast, janus_url)
    assert isinstance(theirs, asyncio.TimeoutError) and str(theirs) == ""
    assert str(ours) == str(theirs)
    assert isinstance(ours, asyncio.TimeoutError) and isinstance(ours, RequestTimeoutError)
    assert "deadline" in repr(ours)  # what expired is kept, outside the text


async def test_transaction_get_rejects_a_bad_matcher_with_janus_clients_text(
    janus_client: ModuleType,
) -> None:
    from janus_client.message_transaction import MessageTransaction, is_subset

    theirs = await failure(MessageTransaction().get(matcher=5, timeout=0.1))  # type: ignore[arg-type]
    ours = await failure(janus_fast.MessageTransaction().get(matcher=5, timeout=0.1))  # type: ignore[arg-type]
    assert type(ours) is type(theirs) is TypeError
    assert str(ours) == str(theirs)
    for args in (([], {}), ({}, [])):
        with pytest.raises(TypeError) as their_error:
            is_subset(*args)
        with pytest.raises(TypeError) as our_error:
            janus_fast.is_subset(*args)  # type: ignore[arg-type]
        assert str(our_error.value) == str(their_error.value)


# -- requests ------------------------------------------------------------------------------------
async def send_without_janus(library: ModuleType, url: str) -> BaseException:
    session = library.JanusSession(base_url=url)
    try:
        return await failure(session.send({"body": {}}))
    finally:
        await session.destroy()
        await session.transport.disconnect()


async def test_request_without_janus_key_has_janus_clients_text(
    janus_url: str, janus_client: ModuleType
) -> None:
    theirs = await send_without_janus(janus_client, janus_url)
    ours = await send_without_janus(janus_fast, janus_url)
    assert type(theirs) is Exception and str(theirs) == 'Must set "janus" field'
    assert str(ours) == str(theirs) and isinstance(ours, InvalidMessageError)


async def test_plugin_send_before_attach_has_janus_clients_text(
    janus_client: ModuleType,
) -> None:
    theirs = await failure(plugin_class(janus_client, "janus.plugin.echotest")().send({}))
    ours = await failure(plugin_class(janus_fast, "janus.plugin.echotest")().send({}))
    assert type(theirs) is Exception and str(theirs) == "Plugin not attached to session"
    assert str(ours) == str(theirs) and isinstance(ours, InvalidStateError)


# -- transport -----------------------------------------------------------------------------------
async def test_send_before_connect_has_janus_clients_text(
    janus_server: JanusServer, janus_client: ModuleType
) -> None:
    url = janus_server.ws_url  # janus-client's HTTP transport needs no connect (see the docs)
    theirs = await failure(
        janus_client.JanusTransport.create_transport(url).send({"janus": "ping"})
    )
    ours = await failure(JanusTransport.create_transport(url).send({"janus": "ping"}))
    assert type(theirs) is Exception
    assert str(ours) == str(theirs) == "Must connect before any communication."


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


async def test_session_connect_refused_is_the_sockets_error(janus_client: ModuleType) -> None:
    url = f"ws://127.0.0.1:{refused_port()}"
    theirs = await create_fails(janus_client, url)
    ours = await create_fails(janus_fast, url)
    assert type(theirs) is ConnectionRefusedError
    assert str(ours) == str(theirs)
    assert isinstance(ours, ConnectionRefusedError) and isinstance(ours, TransportError)
    entered = await failure(JanusSession(base_url=url).__aenter__())  # async with: the same
    assert str(entered) == str(theirs) and isinstance(entered, ConnectionRefusedError)


async def test_transport_connect_refused_is_the_sockets_error(janus_client: ModuleType) -> None:
    """``transport.connect()`` itself (not only through the session): the socket's error."""
    url = f"ws://127.0.0.1:{refused_port()}"
    theirs = await failure(janus_client.JanusTransport.create_transport(base_url=url).connect())
    ours = await failure(JanusTransport.create_transport(url).connect())
    assert type(theirs) is ConnectionRefusedError
    assert str(ours) == str(theirs) and ours.args == theirs.args
    assert isinstance(ours, ConnectionRefusedError) and isinstance(ours, TransportError)


async def test_http_connect_failure_is_aiohttps_error(janus_client: ModuleType) -> None:
    """janus-client's HTTP transport let aiohttp's ``ClientConnectorError`` through: the same
    class (aiohttp is loaded: janus-client imported it) and text, still a ``TransportError``."""
    import aiohttp

    port = refused_port()
    url = f"http://127.0.0.1:{port}/janus"
    theirs = await create_fails(janus_client, url)
    ours = await create_fails(janus_fast, url)
    assert type(theirs) is aiohttp.ClientConnectorError
    # The bracketed reason is the socket error's text: under uvloop aiohttp's own socket says
    # "Connect call failed (…)" where uvloop's create_connection says "Connection refused".
    head = str(theirs).split(" [")[0]
    assert head == f"Cannot connect to host 127.0.0.1:{port} ssl:default"
    assert str(ours) == f"{head} [{ours.os_error.strerror}]"
    if not type(asyncio.get_running_loop()).__module__.startswith("uvloop"):
        assert str(ours) == str(theirs)
    assert isinstance(ours, aiohttp.ClientConnectorError) and isinstance(ours, TransportError)
    assert isinstance(ours, ConnectionRefusedError)
    assert (ours.host, ours.port, ours.ssl) == (theirs.host, theirs.port, theirs.ssl)
    assert isinstance(ours.os_error, ConnectionRefusedError)
    transport = JanusTransport.create_transport(url)  # every request, not only create
    await transport.connect()
    try:
        assert str(await failure(transport.ping())) == str(ours)
    finally:
        await transport.disconnect()


async def test_http_connect_failure_without_aiohttp_has_its_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A program that never imported aiohttp gets aiohttp's text on the socket error's class
    (janus_fast does not import aiohttp for it)."""
    monkeypatch.delitem(sys.modules, "aiohttp", raising=False)
    port = refused_port()
    transport = JanusTransport.create_transport(f"http://127.0.0.1:{port}/janus")
    await transport.connect()
    try:
        error = await failure(transport.ping())
    finally:
        await transport.disconnect()
    assert "aiohttp" not in sys.modules
    assert isinstance(error, ConnectionRefusedError) and isinstance(error, TransportError)
    assert type(error).__module__ == "janus_fast.errors"
    assert re.fullmatch(
        rf"Cannot connect to host 127\.0\.0\.1:{port} ssl:default \[.*\]", str(error)
    ), str(error)


# -- typed plugin clients ------------------------------------------------------------------------
async def destroy_missing_room(library: ModuleType, url: str) -> BaseException:
    session = library.JanusSession(base_url=url)
    room = library.JanusVideoRoomPlugin()
    await room.attach(session)
    try:
        return await failure(room.destroy_room(987_654))
    finally:
        await session.destroy()
        await session.transport.disconnect()


async def test_plugin_error_has_janus_clients_text(
    janus_url: str, janus_client: ModuleType
) -> None:
    theirs = await destroy_missing_room(janus_client, janus_url)
    ours = await destroy_missing_room(janus_fast, janus_url)
    assert type(theirs).__name__ == type(ours).__name__ == "VideoRoomError"
    assert str(theirs) == "VideoRoom error 426: No such room (987654)"
    assert str(ours) == str(theirs)
    assert isinstance(ours, janus_fast.PluginError) and ours.error_code == 426


# -- destroy and keepalive -----------------------------------------------------------------------
async def destroy_after_disconnect(library: ModuleType, url: str) -> Any:
    session = library.JanusSession(base_url=url)
    await session.create()
    await session.transport.disconnect()
    return await asyncio.wait_for(session.destroy(), 10)  # a failed destroy is not raised


async def test_destroy_failures_are_not_raised(janus_url: str, janus_client: ModuleType) -> None:
    assert await destroy_after_disconnect(janus_client, janus_url) is None
    assert await destroy_after_disconnect(janus_fast, janus_url) is None


async def test_keepalive_returns_where_janus_client_looped_forever(
    janus_url: str, janus_client: ModuleType
) -> None:
    theirs = janus_client.JanusSession(base_url=janus_url)
    await theirs.create()
    looping = asyncio.ensure_future(theirs.keepalive())
    await asyncio.sleep(0.3)
    assert not looping.done()  # janus-client: sleeps 30 s, then loops forever
    looping.cancel()
    await theirs.destroy()
    async with JanusSession(base_url=janus_url) as ours:
        assert await asyncio.wait_for(ours.keepalive(), 5) is None  # one keepalive, acked


# -- admin ---------------------------------------------------------------------------------------
async def admin_refuses(library: ModuleType, url: str) -> BaseException:
    admin = library.JanusAdminMonitorClient(url, "wrong-admin-secret")
    await admin.connect()
    try:
        return await failure(admin.set_session_timeout(60))
    finally:
        await admin.disconnect()


@pytest.mark.parametrize("kind", ["ws", "http"])
async def test_admin_error_reply_is_a_key_error_as_in_janus_client(
    janus_server: JanusServer, janus_client: ModuleType, kind: str
) -> None:
    url = janus_server.admin_ws_url if kind == "ws" else janus_server.admin_http_url
    theirs = await admin_refuses(janus_client, url)
    ours = await admin_refuses(janus_fast, url)
    assert type(theirs) is KeyError and str(theirs) == "'timeout'"  # the field it looked up
    assert isinstance(ours, KeyError) and isinstance(ours, janus_fast.AdminError)
    assert isinstance(ours, UnauthorizedError) and ours.code == 403
    assert "wrong-admin-secret" not in str(ours) + repr(ours)
