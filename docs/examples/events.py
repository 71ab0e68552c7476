"""Events: callbacks (``on``) and async iterators (``events``) on a handle.

Two handles join one VideoRoom created with ``notify_joining``: the first is told, by an event
Janus pushes on its own, that the second joined.

Run: python docs/examples/events.py ws://127.0.0.1:8188
"""

import asyncio
import os
import sys

from janus_fast import EventType, JanusSession, JanusVideoRoomPlugin, PluginEvent


async def main(url: str) -> None:
    async with JanusSession(base_url=url) as session:
        alice, bob = JanusVideoRoomPlugin(), JanusVideoRoomPlugin()
        await alice.attach(session)
        await bob.attach(session)
        room = await alice.create_room(description="events example", notify_joining=True)

        await alice.join_as_publisher(room, display="alice")
        seen: list[PluginEvent] = []
        alice.on(EventType.EVENT, seen.append)  # a callback (sync or async) per event type
        stream = alice.events(EventType.EVENT)  # an iterator: subscribed from this call on

        await bob.join_as_publisher(room, display="bob")
        event = await asyncio.wait_for(stream.__anext__(), 10)
        print("alice got", event.data)  # {'videoroom': 'event', 'room': ..., 'joining': {...}}
        assert isinstance(event, PluginEvent) and event.data["joining"]["display"] == "bob"
        await stream.aclose()
        await asyncio.sleep(0)  # let the callback run too
        assert seen and seen[0] == event

        await alice.destroy_room(room)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
