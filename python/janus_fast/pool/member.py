"""``PoolServer``: the pool's runtime side of one Janus server.

Its one shared connection, its optional Admin client, its measured health and what this pool
placed on it.

Rule: one transport per server, shared by every session the pool places there; the pool never
opens a second one. A probe is ``info`` on that connection (which also says whether Janus accepts
new sessions) and, with an Admin API, ``list_sessions`` (plus ``list_handles`` per session while
there are at most ``handle_scan_limit`` sessions); every step runs under the probe's deadline and
ends in a ``ProbeResult``, never an exception. While the connection is down (its transport
reconnecting) a probe fails at once rather than wait in the transport's outage queue.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any

from janus_fast._compat import timeout
from janus_fast._core import Expect
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import JanusFastError
from janus_fast.events import ConnectionEvent
from janus_fast.pool.metrics import ServerMetrics
from janus_fast.pool.spec import ServerSpec, ServerState, ServerView
from janus_fast.transport import JanusTransport

if TYPE_CHECKING:
    from janus_fast.session import JanusSession


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """One probe: did ``info`` answer, how fast, and what the Admin API counted."""

    ok: bool
    latency: float
    accepting: bool = True
    error: str = ""
    admin_error: str = ""
    admin_sessions: int | None = None
    admin_handles: int | None = None


def describe(exc: BaseException) -> str:
    """Describe an error in a short, secret-free text (our errors never carry secrets)."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:200]}"


class PoolServer:
    """One server of a ``JanusPool`` (see the module rule).

    Args:
        spec: the server's URL, name, weight, labels, credentials and admin URL.
        default_options: transport options of every server (the spec's own override them).

    Raises:
        InvalidOptionError: a bad transport option.
    """

    def __init__(self, spec: ServerSpec, default_options: dict[str, Any]) -> None:
        self.spec = spec
        options = {**default_options, **spec.options}
        self.transport = JanusTransport.create_transport(
            spec.url, api_secret=spec.api_secret, token=spec.token, config=options
        )
        self.admin: JanusAdminMonitorClient | None = None
        if spec.admin_url is not None:
            assert spec.admin_secret is not None
            admin_options = {k: v for k, v in options.items() if k != "subprotocol"}
            self.admin = JanusAdminMonitorClient(spec.admin_url, spec.admin_secret, **admin_options)
        self.state = ServerState.UNKNOWN
        self.reason = ""
        self.failures = 0
        self.accepting = True
        self.draining = False
        self.latency: float | None = None
        self.admin_sessions: int | None = None
        self.admin_handles: int | None = None
        self.placed_since_probe = 0
        #: Placements under way (``create`` sent, no reply yet): part of the load, so a burst of
        #: concurrent placements spreads instead of piling onto one server.
        self.pending = 0
        self.sessions: dict[int, JanusSession] = {}
        self.keys: set[str] = set()
        self.metrics = ServerMetrics()
        self.wake = asyncio.Event()
        #: The shared connection dropped and its transport is reconnecting: a probe fails at
        #: once instead of waiting in the transport's outage queue.
        self.outage = False
        self.transport.on_connection_event(self._on_connection_event)

    @property
    def name(self) -> str:
        """The server's name (from its ``ServerSpec``)."""
        return self.spec.name

    def __repr__(self) -> str:
        return f"<PoolServer {self.name} {self.state.value}>"

    def _on_connection_event(self, event: ConnectionEvent) -> None:
        self.metrics.connection_events[event.kind] += 1
        if event.kind == "disconnected":
            self.outage = True
        elif event.kind in ("reconnected", "given_up"):
            self.outage = False  # back, or plainly disconnected: the next probe connects
        if event.kind in ("disconnected", "reconnected", "given_up"):
            self.wake.set()  # probe now rather than at the next tick

    # -- placement ---------------------------------------------------------------------------
    @property
    def eligible(self) -> bool:
        """Takes new sessions: up or degraded, accepting them, not being drained."""
        return (
            self.state in (ServerState.UP, ServerState.DEGRADED)
            and self.accepting
            and not self.draining
        )

    def live_sessions(self) -> int:
        """Return how many sessions this pool placed here are alive (after ``prune``)."""
        self.prune()
        return len(self.sessions)

    def prune(self) -> None:
        """Forget sessions that ended (destroyed or lost)."""
        for session_id, session in list(self.sessions.items()):
            if not session.created or session.id != session_id:
                del self.sessions[session_id]
                if session.created and session.id is not None:  # re-created under a new id
                    self.sessions[session.id] = session

    def view(self) -> ServerView:
        """Return the placement policy's view of this server (load counts pending placements)."""
        if self.admin_sessions is not None:
            load = self.admin_sessions + self.placed_since_probe + self.pending
        else:
            load = self.live_sessions() + self.pending
        return ServerView(self.name, self.spec.weight, self.spec.labels, self.state, load)

    def add_session(self, session: JanusSession) -> None:
        """Record a session placed here (counted in the load until the next probe)."""
        assert session.id is not None
        self.sessions[session.id] = session
        self.placed_since_probe += 1
        self.metrics.placements += 1

    # -- probing -----------------------------------------------------------------------------
    async def probe(self, limit: float, handle_scan_limit: int) -> ProbeResult:
        """Probe the server: ``info`` on the shared connection, then the Admin counts.

        Never raises: a failure is in the result. While the connection is down it fails at
        once.

        Args:
            limit: the probe's deadline in seconds.
            handle_scan_limit: count handles only while there are at most this many sessions.

        Returns:
            Whether ``info`` answered, its latency, whether Janus accepts new sessions and the
            Admin counts (or why they are missing).
        """
        started = time.perf_counter()
        if self.outage:
            self.metrics.observe("info", "error", 0.0)
            return ProbeResult(False, 0.0, error="connection lost, reconnecting")
        try:
            async with timeout(limit):
                if not self.transport.connected:
                    await self.transport.connect()
                reply = await self.transport.request(
                    {"janus": "info"}, Expect.SERVER_INFO, timeout=limit
                )
                info: dict[str, Any] = reply.json()
        except asyncio.TimeoutError:
            latency = time.perf_counter() - started
            self.metrics.observe("info", "timeout", latency)
            return ProbeResult(False, latency, error=f"info: no answer within {limit:g} s")
        except (JanusFastError, OSError) as exc:
            latency = time.perf_counter() - started
            self.metrics.observe("info", "error", latency)
            return ProbeResult(False, latency, error=f"info: {describe(exc)}")
        latency = time.perf_counter() - started
        self.metrics.observe("info", "ok", latency)
        accepting = info.get("accepting-new-sessions") is not False
        if self.admin is None:
            return ProbeResult(True, latency, accepting)
        remaining = max(limit - latency, 0.001)
        try:
            sessions, handles = await self.count(remaining, handle_scan_limit)
        except asyncio.TimeoutError:
            return ProbeResult(True, latency, accepting, admin_error="admin: no answer in time")
        except (JanusFastError, OSError) as exc:
            return ProbeResult(True, latency, accepting, admin_error=f"admin: {describe(exc)}")
        return ProbeResult(True, latency, accepting, admin_sessions=sessions, admin_handles=handles)

    async def count(self, limit: float, handle_scan_limit: int) -> tuple[int, int | None]:
        """Count sessions (and handles) by the Admin API, within ``limit`` seconds.

        Args:
            limit: the deadline in seconds.
            handle_scan_limit: count handles only while there are at most this many sessions.

        Returns:
            The session count, and the handle count (None when not scanned).

        Raises:
            asyncio.TimeoutError: the deadline passed.
            JanusFastError: the Admin API failed (or refused the secret).
            OSError: the Admin connection failed.
        """
        admin = self.admin
        assert admin is not None
        started = time.perf_counter()
        try:
            async with timeout(limit):
                ids = await admin.list_sessions()
                handles: int | None = None
                if len(ids) <= handle_scan_limit:
                    lists = await asyncio.gather(
                        *(admin.list_handles(i) for i in ids), return_exceptions=True
                    )
                    handles = sum(len(x) for x in lists if isinstance(x, list))
        except asyncio.TimeoutError:
            self.metrics.observe("admin_count", "timeout", time.perf_counter() - started)
            raise
        except (JanusFastError, OSError):
            self.metrics.observe("admin_count", "error", time.perf_counter() - started)
            raise
        self.metrics.observe("admin_count", "ok", time.perf_counter() - started)
        return len(ids), handles

    def snapshot(self) -> dict[str, Any]:
        """State, counts and metrics of this server (a new plain dict)."""
        stats = self.transport.stats()
        events_dropped = sum(s.events_dropped for s in self.sessions.values())
        events_dropped += sum(
            p.events_dropped for s in self.sessions.values() for p in s.plugin_handles.values()
        )
        return {
            "state": self.state.value,
            "reason": self.reason,
            "accepting": self.accepting,
            "draining": self.draining,
            "weight": self.spec.weight,
            "labels": dict(self.spec.labels),
            "info_latency": self.latency,
            "sessions": self.live_sessions(),
            "keys": len(self.keys),
            "admin_sessions": self.admin_sessions,
            "admin_handles": self.admin_handles,
            "in_flight": stats.get("pending", 0),
            "events_dropped": events_dropped,
            **self.metrics.snapshot(),
        }

    async def close(self, limit: float) -> None:
        """Disconnect the transport and the Admin client, each within ``limit`` seconds."""
        for closer in (
            self.transport.disconnect,
            *((self.admin.disconnect,) if self.admin else ()),
        ):
            try:
                async with timeout(limit):
                    await closer()
            except (asyncio.TimeoutError, JanusFastError, OSError):
                pass


__all__ = ["PoolServer", "ProbeResult"]
