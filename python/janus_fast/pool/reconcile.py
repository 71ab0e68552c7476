"""Reconcile: what every server actually holds, by its Admin API, grouped by ``opaque_id``.

Rule: read only (``list_sessions``, ``list_handles``, ``handle_info``), at most
``concurrency`` Admin requests in flight per server, the whole walk of a server under one
deadline. A server without an Admin API, or whose walk fails, is listed in ``skipped`` with the
reason; a session or handle that vanishes during the walk is simply not reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from typing import Any

from janus_fast._compat import timeout
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import JanusFastError


@dataclasses.dataclass(frozen=True)
class HandleRecord:
    """One handle found on a server."""

    server: str
    session_id: int
    handle_id: int
    plugin: str | None
    opaque_id: str | None


@dataclasses.dataclass(frozen=True)
class Reconciliation:
    """The walk's result.

    Attributes:
        by_opaque_id: the handles by opaque id (None: handles without one).
        sessions: every session id per server (sessions without handles too).
        skipped: the servers not walked (name → reason).
    """

    by_opaque_id: dict[str | None, list[HandleRecord]]
    sessions: dict[str, list[int]]
    skipped: dict[str, str]

    @property
    def handles(self) -> list[HandleRecord]:
        """Every handle found, whatever its opaque id."""
        return [record for records in self.by_opaque_id.values() for record in records]


async def walk_server(
    name: str, admin: JanusAdminMonitorClient, limit: float, concurrency: int
) -> tuple[list[int], list[HandleRecord]]:
    """Collect every session and handle of one server through its Admin API.

    Args:
        name: the server's name (recorded in each handle record).
        admin: the server's Admin client.
        limit: seconds the whole walk may take.
        concurrency: Admin requests in flight at most.

    Returns:
        The session ids, and a record per handle (its session, opaque id, plugin ...).

    Raises:
        asyncio.TimeoutError: the walk did not finish within ``limit``.
        JanusFastError: listing the sessions failed (a session or handle that fails is skipped).
    """
    gate = asyncio.Semaphore(concurrency)

    async def gated(call: Any) -> Any:
        async with gate:
            return await call

    async with timeout(limit):
        session_ids = await admin.list_sessions()
        lists = await asyncio.gather(
            *(gated(admin.list_handles(s)) for s in session_ids), return_exceptions=True
        )
        pairs = [
            (session_id, handle_id)
            for session_id, handles in zip(session_ids, lists, strict=True)
            if isinstance(handles, list)
            for handle_id in handles
        ]
        infos = await asyncio.gather(
            *(gated(admin.handle_info(s, h)) for s, h in pairs), return_exceptions=True
        )
    records = []
    for (session_id, handle_id), info in zip(pairs, infos, strict=True):
        if isinstance(info, BaseException):
            if not isinstance(info, JanusFastError):
                raise info
            continue  # detached or destroyed meanwhile
        plugin, opaque = info.get("plugin"), info.get("opaque_id")
        records.append(
            HandleRecord(
                name,
                session_id,
                handle_id,
                plugin if isinstance(plugin, str) else None,
                opaque if isinstance(opaque, str) else None,
            )
        )
    return session_ids, records


def group(records: Iterable[HandleRecord]) -> dict[str | None, list[HandleRecord]]:
    """Group handle records by opaque id (None: handles without one), keeping their order."""
    grouped: dict[str | None, list[HandleRecord]] = {}
    for record in records:
        grouped.setdefault(record.opaque_id, []).append(record)
    return grouped


__all__ = ["HandleRecord", "Reconciliation", "group", "walk_server"]
