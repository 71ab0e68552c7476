"""pytest with the ``janus_server`` and ``janus_factory`` fixtures (no conftest needed: the
fixtures come with janus_fast's pytest plugin).

Run: pytest docs/examples/test_with_fixtures.py
"""

import asyncio

import pytest

from janus_fast import JanusSession, UnauthorizedError


def test_ping(janus_server):
    async def scenario():
        async with JanusSession(base_url=janus_server.ws_url) as session:
            assert (await session.transport.ping())["janus"] == "pong"

    asyncio.run(scenario())


def test_wrong_secret_is_refused(janus_factory):
    janus = janus_factory(api_secret="right")  # stopped when the test ends

    async def scenario():
        async with JanusSession(base_url=janus.http_url, api_secret="wrong") as session:
            with pytest.raises(UnauthorizedError):
                await session.create()

    asyncio.run(scenario())
