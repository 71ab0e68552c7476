"""WebSocket recovery: reconnect with backoff, then reclaim (or re-create) every session.

Rule: while the connection is down, new requests wait in the transport's bounded outage queue;
recovery reopens the socket (exponential backoff with jitter, ``max_retries`` attempts, capped
at ``retry_delay_max``), asks ``info`` whether Janus keeps sessions across connections
(``reclaim-session-timeout`` > 0), ``claim``s each live session, and only then lets the queue go.
A session that cannot be claimed is reported lost — or, with ``reconnect_policy="recreate"``,
created again under the same id with its handles re-attached. Giving up fails everything waiting
and reports every session lost. Python session and handle objects stay the same objects.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from janus_fast._core import Expect
from janus_fast.errors import (
    ConnectionClosedError,
    JanusError,
    JanusFastError,
    ProtocolError,
    SessionConflictError,
    SessionLostError,
    TransportError,
)
from janus_fast.events import ConnectionEvent

if TYPE_CHECKING:
    from janus_fast.session import JanusSession
    from janus_fast.transports.websocket import JanusTransportWebsocket

logger = logging.getLogger("janus_fast.transport.recovery")


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: ``base * 2**(attempt-1)`` capped, times [0.5, 1)."""
    delay = min(base * 2.0 ** (attempt - 1), cap)
    return delay * (0.5 + random.random() / 2)


async def reconnect(transport: JanusTransportWebsocket, error: Exception) -> None:
    options = transport.options
    last_error: Exception = error
    for attempt in range(1, options.max_retries + 1):
        if not transport.connected:
            return
        transport._emit_connection_event(ConnectionEvent("reconnecting", attempt, last_error))
        await asyncio.sleep(backoff_delay(attempt, options.retry_delay, options.retry_delay_max))
        if not transport.connected:
            return
        try:
            await transport._open_socket()
            await _restore_sessions(transport)
        except (TransportError, ProtocolError, OSError, JanusFastError) as exc:
            last_error = exc
            logger.info("reconnect attempt %d to %s failed: %s", attempt, transport.base_url, exc)
            transport._abort()
            continue
        transport._end_outage(None)
        transport._reconnect_task = None
        logger.info("reconnected to %s after %d attempt(s)", transport.base_url, attempt)
        transport._emit_connection_event(ConnectionEvent("reconnected", attempt, None))
        return
    give_up(transport, last_error, attempts=options.max_retries)


def give_up(transport: JanusTransportWebsocket, error: Exception, *, attempts: int) -> None:
    """No connection any more: fail what waits, report every session lost."""
    transport._reconnect_task = None
    transport.connected = False
    transport._end_outage(error)
    transport._fail_pending(ConnectionClosedError(None, f"connection lost: {error}"))
    for session in list(transport._sessions.values()):
        session._lost(SessionLostError(f"connection to Janus lost: {error}"))
    logger.warning("giving up on %s after %d attempt(s): %s", transport.base_url, attempts, error)
    transport._emit_connection_event(ConnectionEvent("given_up", attempts, error))


async def _restore_sessions(transport: JanusTransportWebsocket) -> None:
    transport._handle_remap.clear()  # earlier outages' waiters were all woken already
    if not transport._sessions:
        return
    info = (await transport._request_now({"janus": "info"}, Expect.SERVER_INFO)).json()
    transport._server_info = info
    reclaimable = int(info.get("reclaim-session-timeout") or 0) > 0
    for session_id, session in list(transport._sessions.items()):
        if reclaimable:
            try:
                await transport._request_now({"janus": "claim"}, Expect.SUCCESS, session_id)
                continue
            except JanusError as exc:
                reason: Exception = exc
        else:
            reason = SessionLostError(
                "Janus does not keep sessions across connections (reclaim_session_timeout = 0)"
            )
        if transport.options.reconnect_policy == "recreate":
            await _recreate(transport, session)
        else:
            session._lost(SessionLostError(f"session {session_id} not reclaimed: {reason}"))


async def _recreate(transport: JanusTransportWebsocket, session: JanusSession) -> None:
    """Create the session again under the same id (retry-safe) and re-attach its handles."""
    session_id = session.id
    assert session_id is not None
    try:
        reply = await transport._request_now({"janus": "create", "id": session_id}, Expect.SUCCESS)
        new_id = int(reply.json()["data"]["id"])
    except SessionConflictError:  # our earlier attempt went through: take it
        await transport._request_now({"janus": "claim"}, Expect.SUCCESS, session_id)
        new_id = session_id
    if new_id != session_id:
        transport._sessions.pop(session_id, None)
        transport._core.remove_session(session_id)
        transport._register_session(new_id, session)
        session._id = new_id
    for old_handle, plugin in list(session.plugin_handles.items()):
        transport._core.remove_handle(session_id, old_handle)
        attach = {"janus": "attach", "plugin": plugin.name}
        reply = await transport._request_now(attach, Expect.SUCCESS, new_id)
        handle_id = int(reply.json()["data"]["id"])
        del session.plugin_handles[old_handle]
        session.plugin_handles[handle_id] = plugin
        plugin._id = handle_id
        transport._handle_remap[old_handle] = handle_id
        transport._core.add_handle(new_id, handle_id, plugin)
    logger.info("re-created session %s with %d handle(s)", new_id, len(session.plugin_handles))
