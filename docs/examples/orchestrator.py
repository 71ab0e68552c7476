"""Many Janus servers behind one JanusPool.

Placement, a room per key, failover, drain, move back, metrics, and an orchestrator restart that
adopts what the servers still hold. It starts its own three Janus servers (keeping sessions for
30 s after their connection is lost: ``reclaim_session_timeout``), kills one by pid and starts it
again.

Run: python docs/examples/orchestrator.py   (needs the `janus` binary)
"""

import asyncio
from typing import Any

from janus_fast import JanusVideoRoomPlugin
from janus_fast.pool import JanusPool, PoolEvent, ServerLost, ServerRecovered, ServerSpec
from janus_fast.testing import JanusConfig, JanusServer

KEYS = [f"room-{i}" for i in range(6)]
HEALTH: dict[str, Any] = {"probe_interval": 1.0, "recheck_interval": 0.2, "down_after": 2}


async def open_room(pool: JanusPool, key: str) -> tuple[JanusVideoRoomPlugin, int]:
    """A session on the key's server, a handle named after the key, and the key's room."""
    session = await pool.session(key=key)
    plugin = JanusVideoRoomPlugin()
    await plugin.attach(session, opaque_id=key)  # opaque_id: found again by reconcile()
    room = await plugin.create_room(description=key)
    return plugin, int(room)


async def main() -> None:
    """Start three servers, run the pool through a failure and a restart, then stop them."""
    config = JanusConfig(plugins=("videoroom",), reclaim_session_timeout=30)
    janus = {f"j{i}": JanusServer(config) for i in range(1, 4)}
    await asyncio.gather(*(server.astart() for server in janus.values()))
    specs = [
        ServerSpec(s.ws_url, admin_url=s.admin_ws_url, admin_secret=s.admin_secret, name=name)
        for name, s in janus.items()
    ]
    try:
        async with JanusPool(specs, **HEALTH) as pool:
            rooms = {key: await open_room(pool, key) for key in KEYS}
            print("placed:", {key: pool.keys[key] for key in KEYS})
            rebuilt, back = asyncio.Event(), asyncio.Event()

            async def on_event(event: PoolEvent) -> None:
                if isinstance(event, ServerLost):  # its sessions are already declared lost
                    for key in event.keys:  # re-create each room on the key's new server
                        rooms[key] = await open_room(pool, key)
                        print(f"{key}: {event.server} -> {event.moved[key]}, room re-created")
                    rebuilt.set()
                elif isinstance(event, ServerRecovered):  # nothing moves by itself
                    print(f"{event.server} is back and owns {list(event.keys)} again")
                    back.set()

            pool.on(on_event)
            victim = pool.keys[KEYS[0]]
            janus[victim].kill()  # SIGKILL: the server is down within about 0.2 s
            await asyncio.wait_for(rebuilt.wait(), 10)

            # Maintenance: no new sessions there (Janus itself refuses them), wait a little.
            other = next(name for name in pool.servers if name != victim)
            drained = await pool.drain(other, deadline=0.5)
            print(
                f"drain {other}: {drained.remaining} sessions left, timed out {drained.timed_out}"
            )
            await pool.undrain(other)

            await janus[victim].astart()  # the same ports: a restarted Janus
            await asyncio.wait_for(back.wait(), 10)
            up = [
                line
                for line in pool.prometheus().splitlines()
                if line.startswith("janus_pool_server_up")
            ]
            print("\n".join(up))
        # The orchestrator restarts: its connections are gone, Janus keeps the sessions.
        async with JanusPool(specs, **HEALTH) as pool:
            found = await pool.reconcile(deadline=5)
            for key in KEYS:
                (record,) = found.by_opaque_id[key]
                session = await pool.adopt(record.server, record.session_id, key=key)
                plugin = JanusVideoRoomPlugin()
                plugin.adopt(session, record.handle_id)
                assert await plugin.exists(rooms[key][1])
                await session.destroy()
            print(f"adopted {len(KEYS)} rooms after the restart:", pool.keys)
    finally:
        for server in janus.values():
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
