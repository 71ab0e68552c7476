"""TextRoom over real DataChannels (aiortc) against the local Janus: ``setup``, join, public and
private messages, announcements, kick, history, a PIN-protected room, leave; ``destroy()``
closes the PeerConnection; a ``full_trickle`` Janus works too.

Rule: all ICE stays on this machine (``no_stun()``); every test is bounded by a ``deadline``
and closes every PeerConnection it opened.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from _media import (
    clean_teardown,  # noqa: F401  (autouse fixture)
    no_default_stun,  # noqa: F401  (autouse fixture)
    no_stun,
)
from janus_fast import JanusSession
from janus_fast._compat import timeout as deadline
from janus_fast.plugins import JanusTextRoomPlugin, TextRoomError, TextRoomEventType
from janus_fast.testing.config import JanusConfig
from janus_fast.testing.server import JanusServer

BOUND = 20.0


@pytest.fixture(scope="module")
def trickle_janus(pytestconfig: pytest.Config) -> Iterator[JanusServer]:
    """A Janus that trickles its own candidates (``full_trickle``: none in its SDPs)."""
    binary = pytestconfig.getoption("--janus-binary", default=None)
    config = JanusConfig(plugins=("textroom",), nat={"full_trickle": True})
    with JanusServer(config, binary=binary) as server:
        yield server


def new_room() -> int:
    return 100_000 + secrets.randbelow(10**9)


class Inbox:
    """Every TextRoom event of one handle, in arrival order; ``next`` waits for one type."""

    def __init__(self, plugin: JanusTextRoomPlugin) -> None:
        self.events: asyncio.Queue[tuple[TextRoomEventType, dict[str, Any]]] = asyncio.Queue()
        for event_type in TextRoomEventType:
            plugin.on_event(event_type, self._collector(event_type))

    def _collector(self, event_type: TextRoomEventType) -> Any:
        return lambda data: self.events.put_nowait((event_type, data))

    async def next(self, event_type: TextRoomEventType, **match: Any) -> dict[str, Any]:
        """The next event of ``event_type`` whose data has the ``match`` items."""
        while True:
            kind, data = await self.events.get()
            if kind is event_type and all(data.get(k) == v for k, v in match.items()):
                return data


async def set_up(session: JanusSession) -> JanusTextRoomPlugin:
    plugin = JanusTextRoomPlugin(pc_config=no_stun())
    await plugin.attach(session)
    await plugin.setup()
    return plugin


async def test_textroom_over_datachannels(janus_url: str) -> None:
    room, pin_room = new_room(), new_room()
    async with deadline(BOUND), JanusSession(base_url=janus_url) as session:
        alice = bob = None
        try:
            alice, bob = await set_up(session), await set_up(session)
            alice_inbox, bob_inbox = Inbox(alice), Inbox(bob)
            await alice.create_room(room, secret="s", is_private=False, history=5)
            assert await alice.join_room(room, "alice", display="Alice") == []
            assert alice.data_channel is not None and alice.data_channel.readyState == "open"
            await alice.send_message(room, "first")  # over the DataChannel, acknowledged
            await alice.send_message(room, "second")

            assert await bob.join_room(room, "bob") == [{"username": "alice", "display": "Alice"}]
            history = [await bob_inbox.next(TextRoomEventType.MESSAGE) for _ in range(2)]
            assert [m["text"] for m in history] == ["first", "second"]  # the room's history
            await alice_inbox.next(TextRoomEventType.JOIN, username="bob")

            await alice.send_message(room, "public")
            message = await bob_inbox.next(TextRoomEventType.MESSAGE, text="public")
            assert message["from"] == "alice" and not message.get("whisper", False)
            await alice.send_message(room, "private", to="bob")
            message = await bob_inbox.next(TextRoomEventType.MESSAGE, text="private")
            assert message["from"] == "alice" and message["whisper"] is True
            await bob.send_message(room, "to you", tos=["alice"], ack=False)  # fire and forget
            message = await alice_inbox.next(TextRoomEventType.MESSAGE, text="to you")
            assert message["from"] == "bob" and message["whisper"] is True

            await alice.send_announcement(room, "notice", "s")
            for inbox in (alice_inbox, bob_inbox):
                assert (await inbox.next(TextRoomEventType.ANNOUNCEMENT))["text"] == "notice"
            with pytest.raises(TextRoomError) as caught:  # the DataChannel's error reply
                await alice.send_announcement(room, "notice", "wrong")
            assert caught.value.error_code == 419

            await alice.kick_participant(room, "bob", "s")
            assert (await bob_inbox.next(TextRoomEventType.KICKED))["username"] == "bob"
            assert [p["username"] for p in await alice.list_participants(room)] == ["alice"]

            await alice.create_room(pin_room, pin="1234", is_private=False)
            with pytest.raises(TextRoomError) as caught:
                await bob.join_room(pin_room, "bob")  # no PIN
            assert caught.value.error_code == 413
            with pytest.raises(TextRoomError) as caught:
                await bob.join_room(pin_room, "bob", pin="4321")
            assert caught.value.error_code == 419
            await bob.join_room(pin_room, "bob", pin="1234")
            await bob.leave_room(pin_room)  # over the DataChannel
            assert await alice.list_participants(pin_room) == []

            await alice.leave_room(room)
            await alice.destroy_room(room, secret="s")
            await alice.destroy_room(pin_room)
            pcs = [alice.pc, bob.pc]
        finally:
            for plugin in (alice, bob):
                if plugin is not None:
                    await plugin.destroy()
        assert all(pc.connectionState == "closed" for pc in pcs)
        assert alice.data_channel is None


async def test_textroom_full_trickle(trickle_janus: JanusServer, transport_kind: str) -> None:
    """Janus trickles the candidates for its offer, possibly before ``setup`` answers it."""
    url = trickle_janus.ws_url if transport_kind == "ws" else trickle_janus.http_url
    room = new_room()
    trickled: list[dict[str, Any]] = []
    async with deadline(BOUND), JanusSession(base_url=url) as session:
        plugin = JanusTextRoomPlugin(pc_config=no_stun())
        await plugin.attach(session)
        plugin.on("trickle", lambda event: trickled.append(event.message["candidate"]))
        try:
            await plugin.setup()
            assert any("candidate" in entry for entry in trickled)
            inbox = Inbox(plugin)
            await plugin.create_room(room, is_private=False)
            await plugin.join_room(room, "solo")
            await plugin.send_message(room, "echo?", to="solo")
            assert (await inbox.next(TextRoomEventType.MESSAGE))["text"] == "echo?"
            await plugin.destroy_room(room)
        finally:
            await plugin.destroy()
