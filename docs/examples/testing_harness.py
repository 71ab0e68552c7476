"""A real Janus for your own tests: started from a private config, on free loopback ports.

Run: python docs/examples/testing_harness.py   (needs the `janus` binary)
"""

import asyncio

from janus_fast import JanusSession
from janus_fast.testing import JanusConfig, JanusServer


async def main() -> None:
    config = JanusConfig(api_secret="s3cret", event_loops=2, json="compact")
    async with JanusServer(config) as janus:
        print(janus.version, janus.ws_url, janus.http_url, janus.admin_ws_url, janus.pid)
        async with JanusSession(base_url=janus.ws_url, api_secret="s3cret") as session:
            await session.create()
            print("session", session.id)


if __name__ == "__main__":
    asyncio.run(main())
