"""Reconnection and claim: the connection is cut, the transport reconnects and claims the session.

It starts its own Janus (keeping sessions for 30 s after their connection is lost:
``reclaim_session_timeout``) behind a ``FaultProxy`` that cuts the connection on demand.

Run: python docs/examples/reconnect.py   (needs the `janus` binary)
"""

import asyncio

from janus_fast import ConnectionEvent, JanusEchoTestPlugin, JanusSession
from janus_fast.testing import FaultProxy, JanusConfig, JanusServer


async def main() -> None:
    async with JanusServer(JanusConfig(reclaim_session_timeout=30)) as janus:
        proxy = await FaultProxy(janus.ports.ws).start()
        seen: list[str] = []
        reconnected = asyncio.Event()

        def on_connection(event: ConnectionEvent) -> None:
            seen.append(event.kind)
            if event.kind == "reconnected":
                reconnected.set()

        async with JanusSession(base_url=proxy.url("ws"), retry_delay=0.1) as session:
            session.transport.on_connection_event(on_connection)
            echo = JanusEchoTestPlugin()
            await echo.attach(session)
            session_id, handle_id = session.id, echo.id

            proxy.cut()  # the TCP connection dies (an RST)
            await asyncio.wait_for(reconnected.wait(), 10)

            # Same objects, same ids: the session was claimed on the new connection.
            assert (session.id, echo.id) == (session_id, handle_id)
            print(await echo.configure(audio=True))
            print("connection events:", seen)
        await proxy.close()


if __name__ == "__main__":
    asyncio.run(main())
