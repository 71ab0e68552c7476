"""TextRoom over real DataChannels (aiortc) on a Janus with ``string_ids = true``: string room ids
in the DataChannel requests and events, and the one timeout rule on the DataChannel path (a
request Janus never answers waits for the session's ``timeout`` option, or an explicit one).

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded and closes every
PeerConnection it opened.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.errors import RequestTimeoutError
from janus_fast.plugins import JanusTextRoomPlugin, TextRoomEventType
from janus_fast.testing.pytest_plugin import JanusFactory

BOUND = 30.0
#: The session's timeout option: long enough for API requests, short for the unanswered one.
OPTION = 1.5


class Inbox:
    """TextRoom events of one handle, in arrival order; ``next`` waits for one type."""

    def __init__(self, plugin: JanusTextRoomPlugin) -> None:
        self.events: asyncio.Queue[tuple[TextRoomEventType, dict[str, Any]]] = asyncio.Queue()
        for event_type in TextRoomEventType:
            plugin.on_event(event_type, self._collector(event_type))

    def _collector(self, event_type: TextRoomEventType) -> Any:
        return lambda data: self.events.put_nowait((event_type, data))

    async def next(self, event_type: TextRoomEventType, **match: Any) -> dict[str, Any]:
        while True:
            kind, data = await self.events.get()
            if kind is event_type and all(data.get(k) == v for k, v in match.items()):
                return data


async def test_textroom_datachannels_with_string_ids(janus_factory: JanusFactory) -> None:
    janus = janus_factory(string_ids=True, plugins=("textroom",))
    room = f"chat-{secrets.token_hex(4)}"
    async with deadline(BOUND), JanusSession(base_url=janus.ws_url, timeout=OPTION) as session:
        alice = JanusTextRoomPlugin(pc_config=no_stun())
        bob = JanusTextRoomPlugin(pc_config=no_stun())
        try:
            for plugin in (alice, bob):
                await plugin.attach(session)
                await plugin.setup(timeout=15)
            bob_inbox = Inbox(bob)
            assert await alice.create_room(room, secret="s", is_private=False) == room
            await alice.join_room(room, "alice")
            await bob.join_room(room, "bob")
            await alice.send_message(room, "hello")  # over the DataChannel, acknowledged
            message = await bob_inbox.next(TextRoomEventType.MESSAGE, text="hello")
            assert message["room"] == room and message["from"] == "alice"
            await alice.send_announcement(room, "notice", "s")
            assert (await bob_inbox.next(TextRoomEventType.ANNOUNCEMENT))["room"] == room

            # Janus never answers a message sent with "ack": false: the wait for its reply
            # ends at the session's option by default, or at an explicit timeout.
            unanswered = {"textroom": "message", "room": room, "text": "x", "ack": False}
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(RequestTimeoutError):
                await alice.datachannel_request(unanswered)
            assert OPTION * 0.9 <= loop.time() - started < OPTION + 2.0
            started = loop.time()
            with pytest.raises(asyncio.TimeoutError):  # also what janus-client code catches
                await alice.datachannel_request(unanswered, timeout=0.3)
            assert 0.25 <= loop.time() - started < 1.5

            await bob.leave_room(room)  # over the DataChannel
            assert [p["username"] for p in await alice.list_participants(room)] == ["alice"]
            await alice.destroy_room(room, secret="s")
        finally:
            for plugin in (alice, bob):
                await plugin.destroy()
