"""The drop-in API: a janus-client 0.9.0 program with only its import changed.

Run: python docs/examples/quickstart_compat.py ws://127.0.0.1:8188  (or http://127.0.0.1:8088/janus)
"""

import asyncio
import os
import sys

# from janus_client import JanusSession, JanusPlugin   # before
from janus_fast import JanusPlugin, JanusSession  # after: nothing else changes


class EchoTestPlugin(JanusPlugin):
    name = "janus.plugin.echotest"

    async def on_receive(self, response):  # events for this handle, in order
        print("event:", response["janus"])


async def main(url: str) -> None:
    session = JanusSession(base_url=url)
    plugin = EchoTestPlugin()
    await plugin.attach(session)  # the session is created lazily
    transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
    event = await transaction.get({"janus": "event"}, timeout=15)
    print("reply:", event["plugindata"]["data"])
    await transaction.done()
    await plugin.destroy()
    await session.destroy()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_URL"]))
