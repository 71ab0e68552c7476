"""Regression tests for what the end-to-end fuzzer found in the typed plugin clients.

Rule: each test replays one finding against the fuzzer's scripted Janus (WebSocket) with the real
typed client, and checks the promise it broke: a method typed ``list[dict]`` returns dicts only.
"""

from __future__ import annotations

from typing import Any

import pytest
from _fuzz_server import Plan, Reply, WsScriptedJanus, normal_plan

from janus_fast import JanusSession
from janus_fast.plugins import JanusAudioBridgePlugin, JanusTextRoomPlugin, JanusVideoRoomPlugin

ODD_ENTRIES: list[Any] = [None, 1, "room", [], {"room": 1234, "description": "kept"}, True]


def odd_list(key: str) -> Any:
    """A mutation: ``plugindata.data[key]`` of the answer becomes a list of odd entries.

    Args:
        key: The field of the plugin's reply that holds the list.

    Returns:
        The mutator for ``ScriptedJanus.arm``.
    """

    def mutate(replies: list[Reply]) -> Plan:
        for reply in replies:
            plugindata = reply.message.get("plugindata")
            if isinstance(plugindata, dict) and isinstance(plugindata.get("data"), dict):
                plugindata["data"][key] = list(ODD_ENTRIES)
        return normal_plan(replies)

    return mutate


@pytest.mark.parametrize(
    ("plugin_class", "method", "key"),
    [
        (JanusVideoRoomPlugin, "list_rooms", "list"),
        (JanusVideoRoomPlugin, "list_participants", "participants"),
        (JanusAudioBridgePlugin, "list_rooms", "list"),
        (JanusAudioBridgePlugin, "list_participants", "participants"),
        (JanusTextRoomPlugin, "list_rooms", "list"),
        (JanusTextRoomPlugin, "list_participants", "participants"),
    ],
)
async def test_listed_entries_that_are_not_objects_are_left_out(
    plugin_class: Any, method: str, key: str
) -> None:
    """A list from Janus holding non-objects: the typed method returns only its objects."""
    server = await WsScriptedJanus().start()
    session = JanusSession(base_url=server.url, timeout=2.0)
    plugin = plugin_class()
    try:
        await plugin.attach(session)
        server.arm("message", odd_list(key))
        args = () if method == "list_rooms" else (1234,)
        result = await getattr(plugin, method)(*args)
        assert result == [{"room": 1234, "description": "kept"}]
    finally:
        await plugin.destroy()
        await session.destroy()
        await server.close()
