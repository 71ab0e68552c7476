"""Many sessions over one connection, raw requests and the transport's counters.

Run: python docs/examples/shared_transport.py ws://127.0.0.1:8188
"""

import asyncio
import os
import sys

from janus_fast import Expect, JanusSession, JanusTransport


async def main(url: str) -> None:
    transport = JanusTransport.create_transport(url)
    sessions = [JanusSession(transport=transport) for _ in range(10)]
    await asyncio.gather(*(session.create() for session in sessions))
    print(transport.session_count, "sessions on one transport")

    # A request the library has no method for: sent as given, completed by the Expect rule.
    reply = await transport.request({"janus": "info"}, Expect.SERVER_INFO)
    print(reply.json()["version_string"])

    for session in sessions:
        await session.destroy()  # a shared transport stays connected
    stats = transport.stats()  # a new dict of ints on every call
    print({key: stats[key] for key in ("completed", "pending", "sessions", "unrouted")})
    await transport.disconnect()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
