"""JanusPool failover against three real Janus servers: one is killed (SIGKILL by pid) under a
bounded load; exactly its keys move, the live servers see no error, its sessions are declared lost
promptly (typed event and error, measured detection time), nothing hangs, a replica agrees, and
the server's return is reported with the keys it owns again."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from janus_fast import EventType, JanusSession
from janus_fast._compat import timeout
from janus_fast.errors import JanusFastError, SessionLostError, TransportError
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.pool import (
    JanusPool,
    PoolEvent,
    ServerDownError,
    ServerLost,
    ServerRecovered,
    ServerSpec,
    ServerState,
)
from janus_fast.pool.hashing import rendezvous_rank
from janus_fast.testing import FaultProxy, JanusServer

#: Fast health: a failing server is re-probed every 0.2 s; two failures make it down.
FAST = {"probe_interval": 0.5, "probe_timeout": 1.0, "down_after": 2, "recheck_interval": 0.2}
#: From the SIGKILL to ``ServerLost``: the dropped connection wakes the probe at once, then
#: ``down_after - 1`` rechecks (0.2 s); a loaded 2-core machine gets a generous margin.
DETECTION_BOUND = 1.5
KEYS = [f"room-{i}" for i in range(30)]


def start_servers(janus_factory: Any, count: int) -> list[JanusServer]:
    return [janus_factory(plugins=("echotest",)) for _ in range(count)]


def specs(servers: list[JanusServer], *, admin: bool = True) -> list[ServerSpec]:
    return [
        ServerSpec(
            s.ws_url,
            admin_url=s.admin_ws_url if admin else None,
            admin_secret=s.admin_secret if admin else None,
            name=f"janus-{i}",
        )
        for i, s in enumerate(servers)
    ]


async def next_event(stream: Any, kind: type[PoolEvent], within: float) -> Any:
    async with timeout(within):
        async for event in stream:
            if isinstance(event, kind):
                return event
    raise AssertionError(f"the event stream ended before a {kind.__name__}")


@dataclasses.dataclass
class Worker:
    """A bounded load loop on one session: echotest requests and keepalive pings."""

    key: str
    session: JanusSession
    plugin: JanusEchoTestPlugin
    ok: int = 0
    errors: list[BaseException] = dataclasses.field(default_factory=list)
    slowest: float = 0.0
    #: ``Task.cancelling()`` after the session ended (3.11+): the pool's ending of a waiting
    #: call must not leave a cancellation request behind (it would break a later timeout).
    cancelling: int = 0

    async def run(self, stop: asyncio.Event, limit: int) -> None:
        for i in range(limit):
            if stop.is_set():
                return
            started = time.perf_counter()
            try:
                if i % 2:
                    await self.session.keepalive()
                else:
                    await self.plugin.request({"audio": True}, timeout=5.0)
            except JanusFastError as exc:
                self.errors.append(exc)
                if isinstance(exc, SessionLostError):
                    task = asyncio.current_task()
                    self.cancelling = getattr(task, "cancelling", lambda: 0)()
                    await asyncio.sleep(0)  # no cancellation pending either
                    return  # the session is over: nothing more to send on it
            else:
                self.ok += 1
            finally:
                self.slowest = max(self.slowest, time.perf_counter() - started)
            await asyncio.sleep(0.01)


async def test_a_server_killed_under_load(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 3)
    async with (
        JanusPool(specs(servers), **FAST) as pool,
        JanusPool(specs(servers, admin=False), **FAST) as replica,
    ):
        names = pool.servers
        victim = names[1]
        before = {k: pool.server_for(k) for k in KEYS}
        assert before == {k: replica.server_for(k) for k in KEYS}  # replicas agree
        lost_keys = sorted(k for k in KEYS if before[k] == victim)
        assert lost_keys and len(lost_keys) < len(KEYS)
        workers = []
        for key in KEYS:
            session = await pool.session(key=key)
            plugin = JanusEchoTestPlugin()
            await plugin.attach(session)
            workers.append(Worker(key, session, plugin))
        lost_events: dict[str, list[Any]] = {w.key: [] for w in workers}
        for w in workers:
            w.session.on(EventType.LOST, lost_events[w.key].append)
        on_victim = sorted((w.session.id or 0) for w in workers if before[w.key] == victim)
        stream, replica_stream = pool.events(ServerLost), replica.events(ServerLost)
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(w.run(stop, 400)) for w in workers]
        await asyncio.sleep(0.4)  # load running on all three servers
        assert all(w.ok > 0 for w in workers), [(w.key, w.ok, w.errors) for w in workers]

        killed = time.perf_counter()
        servers[1].kill()  # SIGKILL by pid
        lost: ServerLost = await next_event(stream, ServerLost, 10.0)
        detection = time.perf_counter() - killed
        replica_lost: ServerLost = await next_event(replica_stream, ServerLost, 10.0)
        await asyncio.sleep(0.5)  # the live servers keep serving
        stop.set()
        async with timeout(8.0):  # every pending call ends: nothing hangs
            await asyncio.gather(*tasks)

        assert detection < DETECTION_BOUND
        # Exactly the dead server's keys move, each to its next rendezvous server.
        survivors = [n for n in names if n != victim]
        assert lost.server == victim and list(lost.keys) == lost_keys
        assert list(lost.sessions) == on_victim
        for key in KEYS:
            if before[key] == victim:
                expected = rendezvous_rank(key, survivors, survivors, [1.0, 1.0])[0]
                assert lost.moved[key] == pool.keys[key] == expected
            else:
                assert pool.keys[key] == before[key] == pool.server_for(key)  # did not move
        # The replica (it placed nothing) saw the same server go down and places the same way.
        assert replica_lost.server == victim and replica_lost.keys == ()
        assert {k: replica.server_for(k) for k in KEYS} == {k: pool.server_for(k) for k in KEYS}
        for w in workers:
            if before[w.key] == victim:
                # Declared lost by the pool: the typed event names the server; the session's
                # last call failed with the typed error; no call waited for the transport's
                # own give-up.
                (event,) = lost_events[w.key]
                assert f"pool server {victim} is down" in event.reason
                assert not w.session.created
                assert isinstance(w.errors[-1], SessionLostError), w.errors
                assert f"pool server {victim} is down" in str(w.errors[-1])
                # Calls in flight at the kill fail with the connection; the ones waiting for it
                # to come back end with the typed error as soon as the server is declared down.
                assert all(isinstance(e, (ServerDownError, TransportError)) for e in w.errors)
                assert w.slowest < DETECTION_BOUND + 1.0, w.slowest
                assert w.cancelling == 0
            else:
                assert w.errors == [] and lost_events[w.key] == [], (w.key, w.errors)
                assert w.session.created and w.ok > 5
        assert pool.state(victim) is ServerState.DOWN
        for w in workers:
            if w.session.created:
                await w.session.destroy()


async def test_the_return_of_a_server_names_its_keys_and_moves_nothing(
    janus_factory: Any,
) -> None:
    servers = start_servers(janus_factory, 3)
    async with JanusPool(specs(servers), fail_sessions=False, **FAST) as pool:
        victim = pool.servers[2]
        sessions = {k: await pool.session(key=k) for k in KEYS}
        mine = sorted(k for k in KEYS if pool.keys[k] == victim)
        lost_stream = pool.events(ServerLost)
        back_stream = pool.events(ServerRecovered)
        servers[2].stop()  # by pid
        lost: ServerLost = await next_event(lost_stream, ServerLost, 10.0)
        assert list(lost.keys) == mine
        # fail_sessions=False: the session objects are left to their transport.
        assert all(sessions[k].created for k in mine)
        await servers[2].astart()  # the same ports: a restarted Janus
        back: ServerRecovered = await next_event(back_stream, ServerRecovered, 10.0)
        assert back.server == victim
        assert list(back.keys) == mine
        assert dict(back.placed) == dict(lost.moved)  # where they are now
        # Nothing moved by itself; new placements of those keys go to the returned server.
        assert all(pool.keys[k] == lost.moved[k] for k in mine)
        assert all(pool.server_for(k) == victim for k in mine)
        again = await pool.session(key=mine[0])
        assert pool.server_of(again) == victim == pool.keys[mine[0]]
        await again.destroy()


async def test_a_hung_server_is_found_by_its_probes_and_its_calls_end(janus_factory: Any) -> None:
    """No connection drop (a frozen peer): the periodic probe finds it, in the documented time."""
    servers = start_servers(janus_factory, 2)
    proxy = await FaultProxy(servers[0].ports.ws).start()
    health = {"probe_interval": 0.3, "probe_timeout": 0.3, "down_after": 2, "recheck_interval": 0.2}
    bound = 0.3 + 2 * 0.3 + 0.2 + 1.0  # probe_interval + down_after x probe_timeout + recheck
    pool = JanusPool(
        [ServerSpec(proxy.url("ws"), name="hung"), ServerSpec(servers[1].ws_url, name="ok")],
        **health,
    )
    try:
        async with pool:
            key = next(f"k{i}" for i in range(1000) if pool.server_for(f"k{i}") == "hung")
            session = await pool.session(key=key)
            plugin = JanusEchoTestPlugin()
            await plugin.attach(session)
            lost: list[Any] = []
            session.on(EventType.LOST, lost.append)
            stream = pool.events(ServerLost)
            proxy.freeze = True
            started = time.perf_counter()
            with pytest.raises(ServerDownError, match="pool server hung is down"):
                await plugin.request({"audio": True}, timeout=30.0)  # waits for a reply
            elapsed = time.perf_counter() - started
            event: ServerLost = await next_event(stream, ServerLost, 1.0)
            assert event.keys == (key,) and event.moved == {key: "ok"}
            assert elapsed < bound, elapsed
            async with timeout(1.0):  # session events are delivered by the session's own task
                while not lost:
                    await asyncio.sleep(0.01)
            assert len(lost) == 1 and "pool server hung is down" in lost[0].reason
    finally:
        proxy.freeze = False
        await proxy.close()
