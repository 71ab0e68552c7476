"""JanusPool against real Janus servers (two or three, each on its own loopback ports, Admin API
on): shared connections, agreed placement, health transitions and failover when a server is
stopped by pid, drain with ``accept_new_sessions``, reconcile by ``opaque_id``, metrics."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from janus_fast import JanusSession
from janus_fast._compat import timeout
from janus_fast.errors import (
    HandleNotFoundError,
    InvalidStateError,
    NotAcceptingSessionsError,
    SessionNotFoundError,
)
from janus_fast.plugins import JanusEchoTestPlugin
from janus_fast.pool import (
    JanusPool,
    NoServerAvailableError,
    PoolEvent,
    ServerDrained,
    ServerDraining,
    ServerLost,
    ServerSpec,
    ServerState,
    ServerStateChanged,
)
from janus_fast.pool.hashing import rendezvous_rank
from janus_fast.testing import JanusServer

FAST = {"probe_interval": 0.2, "probe_timeout": 1.0, "down_after": 2}


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


def key_on(pool: JanusPool, server: str, prefix: str = "k") -> str:
    return next(f"{prefix}{i}" for i in range(10_000) if pool.server_for(f"{prefix}{i}") == server)


async def test_shared_connections_and_agreed_placement(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 3)
    async with JanusPool(specs(servers), **FAST) as one, JanusPool(specs(servers), **FAST) as two:
        assert all(one.state(n) is ServerState.UP for n in one.servers)
        keys = [f"room-{i}" for i in range(1000)]
        placed = [one.server_for(k) for k in keys]
        assert placed == [two.server_for(k) for k in keys]
        assert set(placed) == set(one.servers)
        # Keyed sessions land on the key's server; every session of a server shares its
        # one connection.
        sessions = [await one.session(key=f"room-{i}") for i in range(12)]
        for i, session in enumerate(sessions):
            assert one.server_of(session) == placed[i]
            assert session.transport is one.server(placed[i]).transport
            assert one.keys[f"room-{i}"] == placed[i]
        for name in one.servers:
            stats = one.server(name).transport.stats()
            assert stats["open_connections"] == 1
            assert stats["sessions"] == placed[:12].count(name)
        # Unkeyed sessions go to the least loaded server (admin counts + placed since).
        for session in sessions:
            await session.destroy()
        for name in one.servers:
            await one.probe(name)
        unkeyed = list(await asyncio.gather(*(one.session() for _ in range(6))))  # a burst
        assert sorted(one.server_of(s) or "" for s in unkeyed) == sorted(one.servers * 2)
        for session in unkeyed:
            await session.destroy()


async def test_server_stopped_goes_down_and_its_sessions_and_keys_are_reported(
    janus_factory: Any,
) -> None:
    servers = start_servers(janus_factory, 3)
    async with JanusPool(specs(servers), **FAST) as pool:
        names = pool.servers
        victim = names[1]
        keys = [f"call-{i}" for i in range(30)]
        before = {k: pool.server_for(k) for k in keys}
        sessions = {k: await pool.session(key=k) for k in keys}
        lost_keys = sorted(k for k in keys if before[k] == victim)
        lost_sessions = sorted(s.id or 0 for k, s in sessions.items() if before[k] == victim)
        assert lost_keys, "some keys must live on the victim"
        seen: list[PoolEvent] = []
        pool.on(seen.append)
        pool.on(lambda event: 1 / 0)  # a raising callback changes nothing for the others
        stream = pool.events(ServerLost)
        servers[1].stop()  # by pid
        lost: ServerLost = await next_event(stream, ServerLost, 10.0)
        assert lost.server == victim
        assert list(lost.sessions) == lost_sessions
        assert list(lost.keys) == lost_keys
        survivors = [n for n in names if n != victim]
        for key in lost_keys:  # each lost key goes to its next server by rendezvous
            expected = rendezvous_rank(key, survivors, survivors, [1.0, 1.0])[0]
            assert lost.moved[key] == expected
            assert pool.keys[key] == expected
        for key in keys:
            if before[key] != victim:
                assert pool.server_for(key) == before[key]  # nothing else moved
        changes = [(e.old, e.new) for e in seen if isinstance(e, ServerStateChanged)]
        assert changes == [
            (ServerState.UP, ServerState.DEGRADED),
            (ServerState.DEGRADED, ServerState.DOWN),
        ]
        assert all(e.server == victim for e in seen if isinstance(e, ServerStateChanged))
        assert pool.state(victim) is ServerState.DOWN
        assert all(pool.state(n) is ServerState.UP for n in survivors)
        # The user re-creates what it needs: the key's session now lands on its new server.
        again = await pool.session(key=lost_keys[0])
        assert pool.server_of(again) == lost.moved[lost_keys[0]]
        metrics = pool.metrics()["servers"][victim]
        assert metrics["state"] == "down" and metrics["requests"].get("info:ok", 0) >= 1
        assert (
            metrics["requests"].get("info:timeout", 0) + metrics["requests"].get("info:error", 0)
            >= 2
        )
        await stream.aclose()
        # Back up: the server comes back as up (a fresh Janus: the old sessions are gone).
        servers[1].start()
        stream = pool.events(ServerStateChanged)
        back: ServerStateChanged = await next_event(stream, ServerStateChanged, 15.0)
        while back.new is not ServerState.UP:
            back = await next_event(stream, ServerStateChanged, 15.0)
        assert back.server == victim
        assert pool.server_for(lost_keys[0]) == victim  # rendezvous: its keys place there again


async def test_drain_makes_janus_refuse_new_sessions(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 2)
    async with (
        JanusPool(specs(servers), **FAST) as pool,
        JanusPool(specs(servers, admin=False), **FAST) as replica,
    ):
        target = pool.servers[0]
        key = key_on(pool, target)
        kept = await pool.session(key=key)
        events = pool.events(ServerDraining, ServerDrained)
        result = await pool.drain(target, 0.6)
        assert result == ServerDrained(target, 1, True, True)  # one session still there
        draining: ServerDraining = await next_event(events, ServerDraining, 1.0)
        assert draining.keys == (key,)
        assert await next_event(events, ServerDrained, 1.0) == result
        # Janus itself refuses a new session there (any client, not only this pool).
        async with JanusSession(servers[0].ws_url) as outsider:
            with pytest.raises(NotAcceptingSessionsError):
                await outsider.create()
        # This pool places elsewhere; a replica that knows nothing of the drain sees
        # "accepting-new-sessions": false in its next info probe and agrees.
        assert pool.server_for(key) == pool.servers[1]
        moved = await pool.session(key=key)
        assert pool.server_of(moved) == pool.servers[1]
        await replica.probe(target)
        assert replica.server_for(key) == pool.servers[1]
        # Once the last session ends, drain completes before its deadline.
        await kept.destroy()
        result = await pool.drain(target, 5.0)
        assert (result.remaining, result.timed_out) == (0, False)
        await pool.undrain(target)
        await replica.probe(target)
        assert pool.server_for(key) == target == replica.server_for(key)
        again = await pool.session(key=key)
        assert pool.server_of(again) == target


async def test_no_eligible_server_is_a_typed_error(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 1)
    async with JanusPool(specs(servers, admin=False), **FAST) as pool:
        name = pool.servers[0]
        stream = pool.events(ServerStateChanged)
        servers[0].stop()
        # Before the probes notice, a placement fails on the dead server itself.
        with pytest.raises(NoServerAvailableError, match=name):
            await pool.session()
        change: ServerStateChanged = await next_event(stream, ServerStateChanged, 10.0)
        while change.new is not ServerState.DOWN:
            change = await next_event(stream, ServerStateChanged, 10.0)
        with pytest.raises(NoServerAvailableError, match="no eligible server"):
            await pool.session(key="x")
        assert pool.server_for("x") is None


async def test_reconcile_groups_handles_by_opaque_id(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 2)
    async with JanusPool(specs(servers), **FAST) as pool:
        a, b = pool.servers
        on_a = await pool.session(key=key_on(pool, a))
        on_b = await pool.session(key=key_on(pool, b))
        bare = await pool.session()  # a session without handles is listed too
        handles = {}
        for name, session, opaque in (
            ("a1", on_a, "call-1"),
            ("b1", on_b, "call-1"),
            ("b2", on_b, "call-2"),
            ("a2", on_a, None),
        ):
            plugin = JanusEchoTestPlugin()
            await plugin.attach(session, opaque_id=opaque)
            handles[name] = plugin
        found = await pool.reconcile(deadline=5.0)
        assert found.skipped == {}
        got = {
            opaque: sorted((r.server, r.session_id, r.handle_id) for r in records)
            for opaque, records in found.by_opaque_id.items()
        }
        assert got == {
            "call-1": sorted([(a, on_a.id, handles["a1"].id), (b, on_b.id, handles["b1"].id)]),
            "call-2": [(b, on_b.id, handles["b2"].id)],
            None: [(a, on_a.id, handles["a2"].id)],
        }
        assert all(r.plugin == "janus.plugin.echotest" for r in found.handles)
        assert sorted(found.sessions[a] + found.sessions[b]) == sorted([on_a.id, on_b.id, bare.id])


async def test_metrics_snapshot_and_prometheus_text(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 2)
    async with JanusPool(specs(servers), **FAST) as pool:
        session = await pool.session()
        name = pool.server_of(session)
        assert name is not None
        snap = pool.metrics()
        server = snap["servers"][name]
        assert server["requests"]["create:ok"] == 1
        assert server["sessions"] == 1 and server["placements"] == 1
        assert server["latency"]["create"]["count"] == 1
        assert server["admin_sessions"] is not None
        assert 0 < server["info_latency"] < FAST["probe_timeout"]
        # The pool's sessions count their own requests too (type, outcome, latency).
        plugin = JanusEchoTestPlugin()
        await plugin.attach(session)
        await plugin.request({"audio": True}, timeout=5.0)
        with pytest.raises(HandleNotFoundError):
            await session.request({"janus": "message", "body": {"request": "x"}}, handle_id=1)
        counted = pool.metrics()["servers"][name]["requests"]
        assert counted["attach:ok"] == 1 and counted["message:ok"] == 1
        assert counted["message:x:janus_error"] == 1
        text = pool.prometheus()
        assert (
            f'janus_pool_requests_total{{server="{name}",request="message:x",'
            'outcome="janus_error"} 1' in text
        )
        assert f'janus_pool_server_up{{server="{name}"}} 1' in text
        assert (
            f'janus_pool_requests_total{{server="{name}",request="create",outcome="ok"}} 1' in text
        )
        assert f'janus_pool_request_seconds_count{{server="{name}",request="create"}} 1' in text
        sample = re.compile(r'^[a-z_]+\{server="[^"]+"(,[a-z]+="[^"]*")*\} [0-9.e+-]+$')
        for line in text.splitlines():
            assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), (
                line
            )
        for secret in (s.admin_secret for s in servers):
            assert secret not in text and secret not in repr(pool) and secret not in str(snap)


async def test_degraded_when_admin_fails_or_info_is_slow(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 2)
    wrong = [
        ServerSpec(s.ws_url, admin_url=s.admin_ws_url, admin_secret="wrong-admin-SECRET", name=n)
        for s, n in zip(servers, ("bad-admin", "ok"), strict=True)
    ]
    wrong[1] = ServerSpec(servers[1].ws_url, name="ok")
    async with JanusPool(wrong, **FAST) as pool:
        assert pool.state("bad-admin") is ServerState.DEGRADED
        assert "403" in pool.server("bad-admin").reason
        assert "SECRET" not in pool.server("bad-admin").reason
        assert pool.state("ok") is ServerState.UP
        # Degraded servers still take work, after the up ones for unkeyed sessions.
        assert pool.rank() == ["ok", "bad-admin"]
        assert set(pool.rank("some-key")) == {"ok", "bad-admin"}
    async with JanusPool(specs(servers, admin=False), degraded_latency=1e-9) as slow:
        assert all(slow.state(n) is ServerState.DEGRADED for n in slow.servers)
        assert all(slow.server(n).reason.startswith("info took") for n in slow.servers)


async def test_over_http(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 2)
    http = [
        ServerSpec(s.http_url, admin_url=s.admin_http_url, admin_secret=s.admin_secret)
        for s in servers
    ]
    async with JanusPool(http, **FAST) as pool:
        assert all(pool.state(n) is ServerState.UP for n in pool.servers)
        first, second = await pool.session(), await pool.session()
        assert {pool.server_of(first), pool.server_of(second)} == set(pool.servers)
        for name in pool.servers:
            await pool.probe(name)
            assert pool.server(name).admin_sessions == 1
        for session in (first, second):
            await session.destroy()


async def test_a_restarted_orchestrator_adopts_what_reconcile_finds(janus_factory: Any) -> None:
    servers = [janus_factory(plugins=("echotest",), reclaim_session_timeout=20) for _ in range(2)]
    async with JanusPool(specs(servers), **FAST) as before:
        session = await before.session(key="call-9")
        plugin = JanusEchoTestPlugin()
        await plugin.attach(session, opaque_id="call-9")
        where, session_id, handle_id = before.server_of(session), session.id, plugin.id
    # The process "restarted": its connections are gone, Janus keeps the session for reclaim.
    async with JanusPool(specs(servers), **FAST) as after:
        found = await after.reconcile(deadline=5.0)
        (record,) = found.by_opaque_id["call-9"]
        assert (record.server, record.session_id, record.handle_id) == (
            where,
            session_id,
            handle_id,
        )
        adopted = await after.adopt(record.server, record.session_id, key="call-9")
        assert adopted.id == session_id and adopted.created
        assert after.keys == {"call-9": where}
        again = JanusEchoTestPlugin()
        again.adopt(adopted, record.handle_id)
        reply = await again.request({"audio": True}, timeout=5.0)
        assert reply["plugindata"]["data"]["result"] == "ok"
        assert after.metrics()["servers"][where]["requests"]["claim:ok"] == 1
        with pytest.raises(SessionNotFoundError):
            await after.adopt(record.server, 12345)  # no such session: typed, nothing kept
        assert after.server(where).live_sessions() == 1
        await adopted.destroy()


async def test_session_and_plugin_adopt_rules(janus_factory: Any, transport_kind: str) -> None:
    server = janus_factory(plugins=("echotest",), reclaim_session_timeout=20)
    url = server.ws_url if transport_kind == "ws" else server.http_url
    owner = JanusSession(url)
    await owner.create()
    plugin = JanusEchoTestPlugin()
    await plugin.attach(owner, opaque_id="x")
    await owner.transport.disconnect()  # the owner's process is gone (Janus keeps the session)
    async with JanusSession(url) as other:
        # WebSocket: bound without taking over first, claimed below. HTTP: claimed at once
        # (Janus 1.1.2 over HTTP sometimes delivered none of the events of a session bound with
        # claim=False and claimed afterwards; docs/orchestrator.md).
        await other.adopt(owner.id or 0, claim=transport_kind == "http")
        assert other.created and other.id == owner.id
        with pytest.raises(InvalidStateError):
            await other.adopt(owner.id or 0)  # already bound
        bound = JanusEchoTestPlugin()
        bound.adopt(other, plugin.id or 0)
        assert bound.session is other and bound.id == plugin.id
        with pytest.raises(InvalidStateError):
            bound.adopt(other, plugin.id or 0)  # already attached
        if transport_kind == "ws":
            await other.claim()  # events (plugin replies included) come here from now on
        reply = await bound.request({"audio": True}, timeout=5.0)
        assert reply["plugindata"]["data"]["result"] == "ok"
        await other.destroy()
    await owner.destroy()  # only forgets it locally (disconnected)
    with pytest.raises(InvalidStateError):
        JanusEchoTestPlugin().adopt(JanusSession(url), 1)  # session not bound


async def test_labels_restrict_placement(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 2)
    labelled = [
        ServerSpec(s.ws_url, name=f"j-{region}", labels={"region": region})
        for s, region in zip(servers, ("eu", "us"), strict=True)
    ]
    async with JanusPool(labelled, **FAST) as pool:
        for _ in range(3):
            session = await pool.session(labels={"region": "us"})
            assert pool.server_of(session) == "j-us"
        assert pool.server_for("room", labels={"region": "eu"}) == "j-eu"
        with pytest.raises(NoServerAvailableError, match="labels"):
            await pool.session(key="room", labels={"region": "ap"})


async def test_a_thousand_sessions_spread_and_reconcile(janus_factory: Any) -> None:
    servers = start_servers(janus_factory, 3)
    async with JanusPool(specs(servers), **FAST) as pool:
        async with timeout(20):
            sessions = await asyncio.gather(*(pool.session(key=f"call-{i}") for i in range(1000)))
            plugins = [JanusEchoTestPlugin() for _ in sessions]
            await asyncio.gather(
                *(
                    p.attach(s, opaque_id=f"call-{i}")
                    for i, (p, s) in enumerate(zip(plugins, sessions, strict=True))
                )
            )
            found = await pool.reconcile(deadline=10.0)
        counts = {name: pool.metrics()["servers"][name]["sessions"] for name in pool.servers}
        assert sum(counts.values()) == 1000 and all(250 < n < 420 for n in counts.values()), counts
        assert len(found.by_opaque_id) == 1000
        for i, (plugin, session) in enumerate(zip(plugins, sessions, strict=True)):
            (record,) = found.by_opaque_id[f"call-{i}"]
            assert (record.server, record.session_id, record.handle_id) == (
                pool.server_for(f"call-{i}"),
                session.id,
                plugin.id,
            )
        async with timeout(20):
            await asyncio.gather(*(s.destroy() for s in sessions))
