"""The native API: typed requests, typed errors, typed events.

Run: python docs/examples/quickstart_native.py ws://127.0.0.1:8188
"""

import asyncio
import os
import sys

from janus_fast import JanusEchoTestPlugin, JanusSession, JanusVideoRoomPlugin, VideoRoomError


async def main(url: str) -> None:
    async with JanusSession(base_url=url, timeout=10) as session:  # 10 s for every request
        echo = JanusEchoTestPlugin()
        await echo.attach(session, opaque_id="quickstart")
        print(await echo.configure(audio=True, bitrate=128_000))  # {'echotest': 'event', ...}

        room = JanusVideoRoomPlugin()
        await room.attach(session)
        try:
            await room.destroy_room(424242)  # no such room
        except VideoRoomError as exc:  # a PluginError too: the plugin's error_code, typed
            print("VideoRoom said", exc.error_code, exc.error_message)
    # leaving the block detached the handles, destroyed the session and closed the connection


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
