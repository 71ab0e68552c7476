"""Errors: what a Janus error, a plugin error and a missed deadline raise (same on WS and HTTP).

Run: python docs/examples/errors.py http://127.0.0.1:8088/janus
"""

import asyncio
import os
import sys

from janus_fast import (
    Expect,
    JanusError,
    JanusPlugin,
    JanusSession,
    PluginError,
    PluginNotFoundError,
    RequestTimeoutError,
)


class NoSuchPlugin(JanusPlugin):
    name = "janus.plugin.nosuchthing"


class VideoRoom(JanusPlugin):
    name = "janus.plugin.videoroom"


async def main(url: str) -> None:
    async with JanusSession(base_url=url) as session:
        # A Janus error reply: the typed class of its code (a JanusError with .code, .reason).
        try:
            await NoSuchPlugin().attach(session)
        except PluginNotFoundError as exc:
            assert isinstance(exc, JanusError)
            print("attach failed:", exc.code, exc.reason)

        # A plugin-level error (plugindata.data.error_code): PluginError.
        room = VideoRoom()
        await room.attach(session)
        try:
            await room.request({"request": "destroy", "room": 424242})
        except PluginError as exc:
            print("plugin error:", exc.plugin, exc.error_code, exc.error)

        # A missed deadline: RequestTimeoutError, also an asyncio.TimeoutError on every Python.
        try:  # a keepalive is answered with an ack, never a pong: this waits for the deadline
            await session.request({"janus": "keepalive"}, Expect.PONG, timeout=0.2)
        except asyncio.TimeoutError as exc:
            assert isinstance(exc, RequestTimeoutError)
            print("timed out:", exc.detail)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
