"""Logging: every library record carries its session, handle, transaction and server as fields.

Run: python docs/examples/logging_json.py ws://127.0.0.1:8188/janus
"""

import asyncio
import json
import logging
import sys

from janus_fast import JanusPlugin, JanusSession
from janus_fast.logfields import FIELDS


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the four janus_* fields (None where not known)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one JSON line."""
        entry = {"logger": record.name, "level": record.levelname, "message": record.getMessage()}
        entry.update({field: getattr(record, field, None) for field in FIELDS})
        return json.dumps(entry)


class EchoTest(JanusPlugin):
    """A bare handle on the EchoTest plugin."""

    name = "janus.plugin.echotest"


async def main(url: str) -> None:
    """Log the library's records as JSON lines while one handle makes one of them."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("janus_fast").addHandler(handler)  # every library logger is under it

    async with JanusSession(base_url=url) as session:
        echo = EchoTest()
        await echo.attach(session)
        # A caller-set handle_id is ignored with a warning: a record about this handle.
        reply = await echo.send({"janus": "message", "handle_id": 1, "body": {"audio": True}})
        await reply.done()
        print(f"session {session.id} handle {echo.id}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8188/janus"))
