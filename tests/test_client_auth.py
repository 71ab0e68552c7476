"""Credentials: api_secret and tokens reach Janus on both transports, and errors are typed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from janus_fast import JanusPlugin, JanusSession, PluginAttachFail, UnauthorizedError
from janus_fast.errors import UnauthorizedPluginError
from janus_fast.testing import JanusServer, mint_signed_token


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


class VideoRoom(JanusPlugin):
    name = "janus.plugin.videoroom"


def url_of(janus: JanusServer, kind: str) -> str:
    return janus.ws_url if kind == "ws" else janus.http_url


async def test_api_secret(
    janus_factory: Any, transport_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    janus = janus_factory(api_secret="very-secret-value")
    url = url_of(janus, transport_kind)
    async with JanusSession(base_url=url, api_secret="wrong-secret-value") as session:
        with pytest.raises(UnauthorizedError) as caught:
            await session.create()
        assert caught.value.code == 403
        assert "wrong-secret-value" not in str(caught.value)
    caplog.set_level(logging.DEBUG, logger="janus_fast")
    session = JanusSession(base_url=url, api_secret="very-secret-value")
    async with session:
        echo = EchoTest()
        await echo.attach(session)
        reply = await echo.request({"audio": True})
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert "very-secret-value" not in repr(session) + repr(session.transport)
    assert "very-secret-value" not in caplog.text


async def test_signed_token_and_unauthorized_plugin(
    janus_factory: Any, transport_kind: str
) -> None:
    janus = janus_factory(token_auth_secret="hmac-secret")
    url = url_of(janus, transport_kind)
    token = mint_signed_token("hmac-secret", ["janus.plugin.echotest"])
    async with JanusSession(base_url=url, token=token) as session:
        echo = EchoTest()
        await echo.attach(session)
        assert (await echo.request({"audio": True}))["plugindata"]["data"]["result"] == "ok"
        with pytest.raises(PluginAttachFail) as caught:
            await VideoRoom().attach(session)
        assert isinstance(caught.value, UnauthorizedPluginError)
        assert caught.value.code == 405
    expired = mint_signed_token("hmac-secret", ["janus.plugin.echotest"], ttl=-60)
    async with JanusSession(base_url=url, token=expired) as session:
        with pytest.raises(UnauthorizedError):
            await session.create()
