"""Timeouts: one rule, the ``timeout`` option of the session's transport; ``timeout=`` wins.

Run: python docs/examples/timeouts.py ws://127.0.0.1:8188
"""

import asyncio
import os
import sys

from janus_fast import Expect, JanusEchoTestPlugin, JanusSession, RequestTimeoutError


async def main(url: str) -> None:
    async with JanusSession(base_url=url, timeout=2) as session:
        echo = JanusEchoTestPlugin()
        await echo.attach(session)  # bounded by the 2 s option
        await echo.configure(audio=True)  # typed plugin methods too
        await echo.configure(audio=True, timeout=30)  # an explicit timeout= wins
        await session.request({"janus": "keepalive"}, Expect.ACK, timeout=None)  # no deadline

        loop = asyncio.get_running_loop()
        started = loop.time()
        try:  # a keepalive is answered with an ack, never an event: waits for the option's 2 s
            await session.request({"janus": "keepalive"}, Expect.PLUGIN_MESSAGE)
        except RequestTimeoutError:
            print(f"timed out after {loop.time() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
