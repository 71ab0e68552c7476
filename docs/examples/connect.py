"""Connect: a transport for one URL, the server's info, a ping, a session.

Run: python docs/examples/connect.py ws://127.0.0.1:8188
"""

import asyncio
import os
import sys

from janus_fast import JanusSession, JanusTransport


async def main(url: str) -> None:
    # A transport alone (no session): the scheme picks WebSocket or HTTP.
    transport = JanusTransport.create_transport(url, config={"timeout": 5})
    await transport.connect()
    info = await transport.info()
    print(info["name"], info["version_string"], sorted(info["plugins"]))
    print(await transport.ping())  # {'janus': 'pong', ...}
    await transport.disconnect()

    # A session: entering `async with` connects; the Janus session is created on first use
    # (or by create()) and destroyed on leaving the block, which also closes the connection.
    async with JanusSession(base_url=url) as session:
        assert session.id is None  # not created yet (as in janus-client)
        await session.create()
        print("session", session.id, "over", type(session.transport).__name__)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
