"""uvloop: janus_fast runs on it unchanged (``pip install janus-fast[uvloop]``).

Run: python docs/examples/with_uvloop.py ws://127.0.0.1:8188
"""

import asyncio
import os
import sys

import uvloop

from janus_fast import JanusEchoTestPlugin, JanusSession


async def main(url: str) -> None:
    assert "uvloop" in type(asyncio.get_running_loop()).__module__
    async with JanusSession(base_url=url) as session:
        echo = JanusEchoTestPlugin()
        await echo.attach(session)
        print(await echo.configure(video=False))


if __name__ == "__main__":
    # uvloop.run() exists from uvloop 0.18 on; janus_fast installs no loop policy of its own.
    uvloop.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
