"""``JanusPool``: many Janus servers behind one object.

Shared connections, health, placement, drain and failover.

Rule: one shared transport per server; a supervised probe task per server (``probe_interval``,
each probe bounded by ``probe_timeout``) sets its state — a failure makes an up server degraded,
``down_after`` failures in a row make it down; a slow ``info`` (over ``degraded_latency``) or a
failing Admin API makes it degraded. Every state change is a ``ServerStateChanged`` event; going
down also declares this pool's sessions there lost at once (``fail_sessions``: their waiting calls
fail with ``ServerDownError``) and emits ``ServerLost`` naming those sessions and keys and where the
keys go; coming back emits ``ServerRecovered`` naming the keys it owns again (nothing moves). A
failing server is probed every ``recheck_interval`` (and at once when its connection drops), so
a dead server is down about ``(down_after - 1) * recheck_interval`` after its connection drops.
New sessions go only to eligible servers (up or degraded, accepting sessions per ``info``, not
being drained), ranked by the placement policy. Every await has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from janus_fast._compat import timeout
from janus_fast.errors import InvalidOptionError, JanusFastError, NotAcceptingSessionsError
from janus_fast.logfields import log_fields
from janus_fast.pool.counted import CountedSession
from janus_fast.pool.errors import NoServerAvailableError, ServerDownError, UnknownServerError
from janus_fast.pool.events import (
    EventHub,
    PoolCallback,
    PoolEvent,
    PoolEventStream,
    ServerDrained,
    ServerDraining,
    ServerLost,
    ServerRecovered,
    ServerStateChanged,
)
from janus_fast.pool.member import PoolServer, ProbeResult, describe
from janus_fast.pool.metrics import prometheus_text
from janus_fast.pool.placement import PlacementPolicy, RendezvousPlacement
from janus_fast.pool.reconcile import Reconciliation, group, walk_server
from janus_fast.pool.spec import ServerSpec, ServerState, ServerView
from janus_fast.session import JanusSession

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("janus_fast.pool")

#: How often ``drain`` re-counts the server's sessions (seconds).
DRAIN_POLL = 0.25


class JanusPool:
    """Sessions over several Janus servers (see the module rule and docs/orchestrator.md).

    Args:
        servers: the servers: ``ServerSpec``s, URLs, or mappings of ``ServerSpec`` fields.
        policy: orders the eligible servers for a placement (default: ``RendezvousPlacement``).
        probe_interval: seconds between probes of a server.
        probe_timeout: deadline of one probe (``info`` plus the Admin counts).
        down_after: failed probes in a row before a server is down.
        recheck_interval: seconds between probes of a server whose last probe failed
            (default: the smaller of ``probe_interval`` and 1 s).
        fail_sessions: declare a down server's sessions lost at once (``SessionLostEvent``;
            waiting calls fail with ``ServerDownError``).
        degraded_latency: an ``info`` slower than this (s) makes a server degraded.
        create_timeout: deadline of one ``create`` (or ``claim`` for ``adopt``).
        handle_scan_limit: count handles only up to this many sessions per server.
        max_attempts: servers tried per ``session()``.
        request_metrics: count the pool's sessions' requests per server.
        **transport_options: options of every server's transport (``TransportOptions``).

    Raises:
        InvalidOptionError: no server, duplicate names, a duration that is not a finite number
            > 0, a count out of range, or a bad transport option.
    """

    def __init__(
        self,
        servers: Iterable[ServerSpec | str | Mapping[str, Any]],
        *,
        policy: PlacementPolicy | None = None,
        probe_interval: float = 5.0,
        probe_timeout: float = 2.0,
        down_after: int = 2,
        recheck_interval: float | None = None,
        fail_sessions: bool = True,
        degraded_latency: float = 1.0,
        create_timeout: float = 10.0,
        handle_scan_limit: int = 256,
        max_attempts: int = 3,
        request_metrics: bool = True,
        **transport_options: Any,
    ) -> None:
        specs = [ServerSpec.of(s) for s in servers]
        if not specs:
            raise InvalidOptionError("a JanusPool needs at least one server")
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise InvalidOptionError(f"server names must be unique, got {names}")
        for label, value in (
            ("probe_interval", probe_interval),
            ("probe_timeout", probe_timeout),
            ("recheck_interval", 1.0 if recheck_interval is None else recheck_interval),
            ("degraded_latency", degraded_latency),
            ("create_timeout", create_timeout),
        ):
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or not math.isfinite(value)
                or not value > 0
            ):
                raise InvalidOptionError(f"{label} must be a number of seconds > 0, not {value!r}")
        counts = ((down_after, 1), (max_attempts, 1), (handle_scan_limit, 0))
        if any(isinstance(n, bool) or not isinstance(n, int) or n < low for n, low in counts):
            raise InvalidOptionError(
                "down_after and max_attempts must be >= 1, handle_scan_limit >= 0"
            )
        self.policy: PlacementPolicy = policy or RendezvousPlacement()
        self.probe_interval = float(probe_interval)
        self.probe_timeout = float(probe_timeout)
        self.down_after = down_after
        #: Seconds between probes of a server whose last probe failed (default: the smaller of
        #: ``probe_interval`` and 1 s), so ``down_after`` failures come quickly.
        self.recheck_interval = float(
            min(probe_interval, 1.0) if recheck_interval is None else recheck_interval
        )
        #: Declare a down server's sessions lost at once (``SessionLostEvent``, waiting calls
        #: fail with ``ServerDownError``) instead of waiting for its transport to give up.
        self.fail_sessions = bool(fail_sessions)
        self.degraded_latency = float(degraded_latency)
        self.create_timeout = float(create_timeout)
        self.handle_scan_limit = handle_scan_limit
        self.max_attempts = max_attempts
        #: Count every request of the pool's sessions per server (type, outcome, latency).
        self.request_metrics = request_metrics
        self._transport_options = dict(transport_options)
        self._specs = specs
        #: One runtime per server; transport options are checked here (InvalidOptionError).
        self._members: dict[str, PoolServer] = {
            spec.name: PoolServer(spec, self._transport_options) for spec in specs
        }
        self._keys: dict[str, str] = {}
        #: Keys whose server went down while no other server was eligible.
        self._unplaced: set[str] = set()
        self._hub = EventHub()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect to and probe every server once, all at once, then keep probing in the background.

        Each probe is bounded by ``probe_timeout``; a server that fails its first probe is down.
        """
        if self._started:
            return
        self._started = True
        await asyncio.gather(*(self._probe_once(m) for m in self._members.values()))
        loop = asyncio.get_running_loop()
        for member in self._members.values():
            self._tasks[member.name] = loop.create_task(
                self._watch(member), name=f"janus-fast pool probe {member.name}"
            )

    async def close(self) -> None:
        """Stop probing, end event iterators, disconnect every shared connection.

        Sessions are left to Janus's session timeout; destroy them first to end them at once.
        """
        if self._closed:
            return
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=self.probe_timeout)
        await self._hub.close(self.probe_timeout)
        await asyncio.gather(*(m.close(self.probe_timeout) for m in self._members.values()))

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        states = ", ".join(f"{m.name}={m.state.value}" for m in self._members.values())
        return f"<JanusPool {len(self._specs)} servers: {states or 'not started'}>"

    # -- events ------------------------------------------------------------------------------
    def on(self, callback: PoolCallback) -> None:
        """Call ``callback(event)`` for every pool event (coroutine callbacks run as tasks)."""
        self._hub.on(callback)

    def off(self, callback: PoolCallback) -> None:
        """Remove a callback added with ``on`` (nothing if absent)."""
        self._hub.off(callback)

    def events(self, *types: type[PoolEvent]) -> PoolEventStream:
        """Return an async iterator over pool events from now on (optionally only of ``types``)."""
        return self._hub.subscribe(tuple(types))

    # -- servers -----------------------------------------------------------------------------
    @property
    def servers(self) -> list[str]:
        """Server names, in the order given."""
        return [s.name for s in self._specs]

    def server(self, name: str) -> PoolServer:
        """Return the runtime of server ``name`` (its transport, state, metrics).

        Args:
            name: a server name.

        Returns:
            The server's ``PoolServer``.

        Raises:
            UnknownServerError: the pool has no server of that name.
        """
        member = self._members.get(name)
        if member is None:
            raise UnknownServerError(f"no server named {name!r} in this pool")
        return member

    def state(self, name: str) -> ServerState:
        """Return the health state of server ``name`` (``UnknownServerError`` if unknown)."""
        return self.server(name).state

    def server_of(self, session: JanusSession) -> str | None:
        """Return the server a session of this pool lives on (None: not this pool's)."""
        for member in self._members.values():
            if member.transport is session.transport:
                return member.name
        return None

    # -- placement ---------------------------------------------------------------------------
    def _eligible(self, labels: Mapping[str, str] | None) -> list[ServerView]:
        views = []
        for member in self._members.values():
            if not member.eligible:
                continue
            if labels and any(member.spec.labels.get(k) != v for k, v in labels.items()):
                continue
            views.append(member.view())
        return views

    def rank(self, key: str | None = None, labels: Mapping[str, str] | None = None) -> list[str]:
        """Return the eligible server names, best first, for ``key`` (None: least loaded first)."""
        views = self._eligible(labels)
        if not views:
            return []
        return [v.name for v in self.policy.rank(key, views)]

    def server_for(self, key: str, labels: Mapping[str, str] | None = None) -> str | None:
        """Return the server ``key`` is placed on now.

        Pure: every replica with the same server list and health gets the same answer.

        Args:
            key: the placement key.
            labels: only servers with these labels.

        Returns:
            The server's name; None when no server is eligible.
        """
        ranked = self.rank(key, labels)
        return ranked[0] if ranked else None

    async def session(
        self,
        key: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        **session_options: Any,
    ) -> JanusSession:
        """Create a ``JanusSession`` on the chosen server.

        Keyed: by rendezvous hashing; unkeyed: on the least loaded server. A refusal (e.g. Janus
        472, not accepting sessions) or a failure tries the next server in the ranking, up to
        ``max_attempts``; each try is bounded by ``create_timeout``.

        Args:
            key: the placement key (its sessions land on the same server); None: unkeyed.
            labels: only servers with these labels.
            **session_options: passed on to the session (e.g. ``event_queue_size``).

        Returns:
            The created session (its requests counted in the server's metrics).

        Raises:
            NoServerAvailableError: the pool is not started, no server is eligible, or every
                server tried refused or failed (the text says which and why).
        """
        if not self._started or self._closed:
            raise NoServerAvailableError("the pool is not started (use async with / start())")
        ranked = self.rank(key, labels)
        if not ranked:
            raise NoServerAvailableError(self._why_none(labels))
        failures: list[str] = []
        for name in ranked[: self.max_attempts]:
            member = self._members[name]
            session = self._new_session(member, session_options)
            started = time.perf_counter()
            member.pending += 1
            try:
                async with timeout(self.create_timeout):
                    await session.create()
            except NotAcceptingSessionsError as exc:
                member.metrics.observe("create", "refused", time.perf_counter() - started)
                member.accepting = False  # until the next probe says otherwise
                failures.append(f"{name}: {describe(exc)}")
                continue
            except asyncio.TimeoutError:
                member.metrics.observe("create", "timeout", time.perf_counter() - started)
                member.wake.set()
                failures.append(f"{name}: no answer within {self.create_timeout:g} s")
                continue
            except (JanusFastError, OSError) as exc:
                member.metrics.observe("create", "error", time.perf_counter() - started)
                member.wake.set()
                failures.append(f"{name}: {describe(exc)}")
                continue
            finally:
                member.pending -= 1
            member.metrics.observe("create", "ok", time.perf_counter() - started)
            member.add_session(session)
            if key is not None:
                self._assign(key, member)
            return session
        raise NoServerAvailableError("no server took the session: " + "; ".join(failures))

    async def adopt(
        self,
        server: str,
        session_id: int,
        *,
        key: str | None = None,
        claim: bool = True,
        **session_options: Any,
    ) -> JanusSession:
        """Bind a ``JanusSession`` to the existing session ``session_id`` on ``server``.

        For a session found e.g. by ``reconcile()`` after a restart: it is claimed on the pool's
        connection (``JanusSession.adopt``) within ``create_timeout``. Bind its handles with
        ``JanusPlugin.adopt(session, handle_id)``.

        Args:
            server: the server's name.
            session_id: the existing Janus session id.
            key: recorded as placed on ``server``, if given.
            claim: ``claim`` it; False: only check it is alive with a ``keepalive``.
            **session_options: passed on to the session.

        Returns:
            The session.

        Raises:
            UnknownServerError: the pool has no server of that name.
        """
        member = self.server(server)
        session = self._new_session(member, session_options)
        started = time.perf_counter()
        try:
            async with timeout(self.create_timeout):
                await session.adopt(session_id, claim=claim)
        except BaseException:
            member.metrics.observe("claim", "error", time.perf_counter() - started)
            raise
        member.metrics.observe("claim", "ok", time.perf_counter() - started)
        member.add_session(session)
        if key is not None:
            self._assign(key, member)
        return session

    def _new_session(self, member: PoolServer, options: Mapping[str, Any]) -> JanusSession:
        session = CountedSession(transport=member.transport, **options)
        if self.request_metrics:
            session.pool_metrics = member.metrics
        return session

    def _why_none(self, labels: Mapping[str, str] | None) -> str:
        states = ", ".join(
            f"{m.name}: {m.state.value}{' draining' if m.draining else ''}"
            f"{'' if m.accepting else ' refusing'}"
            for m in self._members.values()
        )
        wanted = f" with labels {dict(labels)}" if labels else ""
        return f"no eligible server{wanted} ({states})"

    def _assign(self, key: str, member: PoolServer) -> None:
        previous = self._keys.get(key)
        if previous is not None and previous in self._members:
            self._members[previous].keys.discard(key)
        self._keys[key] = member.name
        self._unplaced.discard(key)
        member.keys.add(key)

    def release(self, key: str) -> None:
        """Forget a key (its work ended): it is no longer reported by ``ServerLost``."""
        name = self._keys.pop(key, None)
        self._unplaced.discard(key)
        if name is not None:
            self._members[name].keys.discard(key)

    @property
    def keys(self) -> dict[str, str]:
        """Each key this pool placed (and did not release) → its server."""
        return dict(self._keys)

    # -- health ------------------------------------------------------------------------------
    async def _watch(self, member: PoolServer) -> None:
        """Run the supervised probe loop of one server: an error is logged and the loop goes on."""
        while True:
            interval = self.recheck_interval if member.failures else self.probe_interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(member.wake.wait(), interval)
            member.wake.clear()
            try:
                await self._probe_once(member)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "pool probe of %s failed", member.name, extra=log_fields(server=member.spec.url)
                )

    async def probe(self, name: str) -> ServerState:
        """Probe one server now (bounded by ``probe_timeout``) and return its state."""
        member = self.server(name)
        await self._probe_once(member)
        return member.state

    async def _probe_once(self, member: PoolServer) -> None:
        result = await member.probe(self.probe_timeout, self.handle_scan_limit)
        self._apply(member, result)

    def _apply(self, member: PoolServer, result: ProbeResult) -> None:
        if result.ok:
            member.failures = 0
            member.latency = result.latency
            member.accepting = result.accepting
            member.admin_sessions = result.admin_sessions
            member.admin_handles = result.admin_handles
            member.placed_since_probe = 0
            member.prune()
            if result.admin_error:
                new, reason = ServerState.DEGRADED, result.admin_error
            elif result.latency > self.degraded_latency:
                new, reason = ServerState.DEGRADED, f"info took {result.latency:.3f} s"
            else:
                new, reason = ServerState.UP, ""
        else:
            member.failures += 1
            reason = result.error
            first = member.state in (ServerState.UNKNOWN, ServerState.DOWN)
            down = first or member.failures >= self.down_after
            new = ServerState.DOWN if down else ServerState.DEGRADED
        self._set_state(member, new, reason)

    def _set_state(self, member: PoolServer, new: ServerState, reason: str) -> None:
        old = member.state
        member.reason = reason
        if old is new:
            return
        member.state = new
        member.metrics.state_changes += 1
        log = logger.warning if new is not ServerState.UP else logger.info
        log("pool server %s: %s -> %s %s", member.name, old.value, new.value, reason)
        self._hub.emit(ServerStateChanged(member.name, old, new, reason))
        if new is ServerState.DOWN and old is not ServerState.UNKNOWN:
            self._fail_over(member)
        elif old is ServerState.DOWN:
            self._recovered(member)

    def _fail_over(self, member: PoolServer) -> None:
        member.prune()
        lost = sorted(member.sessions.items())
        member.sessions.clear()
        if self.fail_sessions:
            error = ServerDownError(f"pool server {member.name} is down ({member.reason})")
            for session_id, session in lost:
                # Fail the waiting calls with the typed error first, then end the session
                # (its listeners get a ``lost`` event naming the server).
                member.transport.drop_session(session_id, error)
                if isinstance(session, CountedSession):
                    session.end_calls(error)  # also those waiting for the connection
                session.mark_lost(error)
        keys = tuple(sorted(member.keys))
        member.keys.clear()
        moved: dict[str, str | None] = {}
        for key in keys:
            target = self.server_for(key)
            moved[key] = target
            if target is None:
                self._keys.pop(key, None)
                self._unplaced.add(key)
            else:
                self._assign(key, self._members[target])
        self._hub.emit(ServerLost(member.name, tuple(i for i, _ in lost), keys, moved))

    def _recovered(self, member: PoolServer) -> None:
        """Report the keys whose rendezvous owner is ``member`` again (nothing is moved)."""
        placed: dict[str, str | None] = {}
        for key in sorted({*self._keys, *self._unplaced}):
            where = self._keys.get(key)
            if where != member.name and self.server_for(key) == member.name:
                placed[key] = where
        self._hub.emit(ServerRecovered(member.name, tuple(placed), placed))

    # -- drain -------------------------------------------------------------------------------
    async def drain(self, name: str, deadline: float) -> ServerDrained:
        """Stop placing on ``name`` and wait until its sessions are gone.

        Janus is also made to refuse new sessions there (Admin ``accept_new_sessions``, when an
        admin URL is given).

        Args:
            name: the server's name.
            deadline: seconds to wait until no session is left (by the Admin API's count, else
                this pool's own sessions).

        Returns:
            The ``ServerDrained`` event also emitted: sessions remaining, whether the deadline
            passed, whether Janus confirmed it refuses new sessions.
        """
        member = self.server(name)
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        member.draining = True
        self._hub.emit(ServerDraining(name, tuple(sorted(member.keys))))
        refusing = False
        if member.admin is not None:
            refusing = await self._set_accepting(member, False, max(end - loop.time(), 0.001))
        remaining = await self._count(member, end)
        while remaining and loop.time() < end:
            await asyncio.sleep(min(DRAIN_POLL, max(end - loop.time(), 0.0)))
            remaining = await self._count(member, end)
        result = ServerDrained(name, remaining, remaining > 0, refusing)
        self._hub.emit(result)
        return result

    async def undrain(self, name: str) -> None:
        """Take new sessions on ``name`` again (also tells Janus through the Admin API)."""
        member = self.server(name)
        if member.admin is not None:
            await self._set_accepting(member, True, self.probe_timeout)
        member.draining = False
        member.accepting = True

    async def _set_accepting(self, member: PoolServer, accept: bool, limit: float) -> bool:
        assert member.admin is not None
        started = time.perf_counter()
        try:
            async with timeout(limit):
                value = await member.admin.accept_new_sessions(accept)
        except (asyncio.TimeoutError, JanusFastError, OSError) as exc:
            member.metrics.observe("accept_new_sessions", "error", time.perf_counter() - started)
            logger.warning(
                "accept_new_sessions=%s on %s failed: %s",
                accept,
                member.name,
                exc,
                extra=log_fields(server=member.spec.url),
            )
            return False
        member.metrics.observe("accept_new_sessions", "ok", time.perf_counter() - started)
        return value is accept

    async def _count(self, member: PoolServer, end: float) -> int:
        """Sessions left on the server: by the Admin API (every client's), else this pool's."""
        if member.admin is None:
            return member.live_sessions()
        loop = asyncio.get_running_loop()
        try:
            sessions, _ = await member.count(max(end - loop.time(), 0.001), 0)
        except (asyncio.TimeoutError, JanusFastError, OSError):
            return member.live_sessions() or 1  # unknown: not drained as far as we can tell
        return sessions

    # -- reconcile ---------------------------------------------------------------------------
    async def reconcile(self, *, deadline: float = 10.0, concurrency: int = 32) -> Reconciliation:
        """Walk every server's Admin API and group the handles that exist by ``opaque_id``.

        It uses ``list_sessions``, ``list_handles`` and ``handle_info``.

        Args:
            deadline: seconds each server's walk may take.
            concurrency: Admin requests in flight per server.

        Returns:
            The handles by opaque id, every session id per server, and the servers skipped
            (no admin URL, failure or deadline) with the reason.
        """
        members = list(self._members.values())
        skipped: dict[str, str] = {}
        walks = []
        for member in members:
            if member.admin is None:
                skipped[member.name] = "no admin URL"
            else:
                walks.append(
                    (member, walk_server(member.name, member.admin, deadline, concurrency))
                )
        results = await asyncio.gather(*(w for _, w in walks), return_exceptions=True)
        sessions: dict[str, list[int]] = {}
        records = []
        for (member, _), result in zip(walks, results, strict=True):
            if isinstance(result, asyncio.TimeoutError):
                skipped[member.name] = f"no complete answer within {deadline:g} s"
            elif isinstance(result, (JanusFastError, OSError)):
                skipped[member.name] = describe(result)
            elif isinstance(result, BaseException):
                raise result
            else:
                sessions[member.name], found = result
                records.extend(found)
        return Reconciliation(group(records), sessions, skipped)

    # -- metrics -----------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """Return a plain snapshot: per server state, counts and counters, plus pool totals."""
        return {
            "servers": {m.name: m.snapshot() for m in self._members.values()},
            "keys": len(self._keys),
            "events_emitted": self._hub.delivered,
            "callbacks_skipped": self._hub.callbacks_skipped,
        }

    def prometheus(self) -> str:
        """Return ``metrics()`` in the Prometheus text exposition format (no dependency needed)."""
        return prometheus_text(self.metrics()["servers"])


__all__ = ["JanusPool"]
