"""The Admin/Monitor API: needs the admin endpoint and its secret.

Run: JANUS_ADMIN_SECRET=... python docs/examples/admin.py ws://127.0.0.1:7188
(or http://127.0.0.1:7088/admin)
"""

import asyncio
import os
import sys

from janus_fast import AdminError, JanusAdminMonitorClient, UnauthorizedError


async def main(admin_url: str, admin_secret: str) -> None:
    async with JanusAdminMonitorClient(admin_url, admin_secret=admin_secret) as admin:
        print((await admin.info())["version_string"])
        print("sessions:", await admin.list_sessions())
        settings = await admin.get_settings()
        print("log level", settings["log_level"])

    async with JanusAdminMonitorClient(admin_url, admin_secret="wrong") as intruder:
        try:
            await intruder.list_sessions()
        except UnauthorizedError as exc:  # also an AdminError
            assert isinstance(exc, AdminError)
            print("refused:", exc.code)


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ["JANUS_ADMIN_URL"]
    asyncio.run(main(url, os.environ["JANUS_ADMIN_SECRET"]))
