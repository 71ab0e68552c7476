"""``janus-fast monitor``: a live table of sessions and handles from the Admin API.

Rule: every refresh is one snapshot taken through ``JanusAdminMonitorClient`` (``list_sessions``,
then every session's ``list_handles`` and up to ``--max-handles`` ``handle_info`` at once); a
session or handle that vanished in between is shown without details, not as an error. The admin
secret is required and never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any, TextIO

from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.cli.common import (
    EXIT_USAGE,
    CliError,
    Commands,
    add_timeout_option,
    transport_config,
)


async def snapshot(client: JanusAdminMonitorClient, max_handles: int) -> dict[str, Any]:
    """Collect sessions, their handle counts, and details of the first ``max_handles`` handles."""
    begin = time.perf_counter()
    sessions = sorted(await client.list_sessions())
    handle_lists = await asyncio.gather(
        *(client.list_handles(session_id) for session_id in sessions), return_exceptions=True
    )
    table: list[dict[str, Any]] = []
    budget = max_handles
    wanted: list[tuple[dict[str, Any], int, int]] = []
    for session_id, listed in zip(sessions, handle_lists, strict=True):
        handles = [] if isinstance(listed, BaseException) else sorted(listed)
        entry: dict[str, Any] = {"session_id": session_id, "handles": []}
        table.append(entry)
        entry["handle_count"] = len(handles)
        for handle_id in handles:
            if budget <= 0:
                break
            budget -= 1
            wanted.append((entry, session_id, handle_id))
    infos = await asyncio.gather(
        *(client.handle_info(session_id, handle_id) for _, session_id, handle_id in wanted),
        return_exceptions=True,
    )
    for (entry, _session_id, handle_id), info in zip(wanted, infos, strict=True):
        details: dict[str, Any] = {} if isinstance(info, BaseException) else info
        created, now = details.get("created"), details.get("current_time")
        flags = details.get("flags") or {}
        entry["handles"].append(
            {
                "handle_id": handle_id,
                "plugin": details.get("plugin"),
                "opaque_id": details.get("opaque_id"),
                "age_s": round((now - created) / 1e6, 1) if created and now else None,
                "webrtc": bool(flags.get("negotiated") or flags.get("ready")),
            }
        )
    return {
        "time": time.strftime("%H:%M:%S"),
        "elapsed_ms": round((time.perf_counter() - begin) * 1000, 1),
        "sessions": table,
        "session_count": len(table),
        "handle_count": sum(entry["handle_count"] for entry in table),
    }


def render(url: str, shot: dict[str, Any], max_handles: int) -> str:
    """Render a snapshot as the text table."""
    lines = [
        f"Janus admin {url} — {shot['session_count']} sessions, "
        f"{shot['handle_count']} handles (at {shot['time']}, {shot['elapsed_ms']} ms)",
        f"{'SESSION':>18}  {'HANDLE':>18}  {'PLUGIN':28}  {'OPAQUE ID':20}  {'AGE s':>8}  WEBRTC",
    ]
    shown = 0
    for entry in shot["sessions"]:
        lines.append(f"{entry['session_id']:>18}  {'':>18}  ({entry['handle_count']} handles)")
        for handle in entry["handles"]:
            shown += 1
            age = "-" if handle["age_s"] is None else f"{handle['age_s']:.1f}"
            lines.append(
                f"{'':>18}  {handle['handle_id']:>18}  {handle['plugin'] or '-'!s:28}  "
                f"{str(handle['opaque_id'] or '-')[:20]:20}  {age:>8}  "
                f"{'yes' if handle['webrtc'] else 'no'}"
            )
    hidden = shot["handle_count"] - shown
    if hidden > 0:
        lines.append(f"(+{hidden} more handles; --max-handles {max_handles} shown)")
    if not shot["sessions"]:
        lines.append("(no sessions)")
    return "\n".join(lines)


async def run_monitor(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``janus-fast monitor``: print a snapshot every ``interval`` seconds.

    Args:
        args: the parsed ``monitor`` options (``url``, ``admin_secret``, ``interval``,
            ``iterations`` (0: until interrupted), ``max_handles``, ``json``, ``timeout``).
        out: where the snapshots are written.

    Returns:
        The exit code, 0.

    Raises:
        CliError: no admin secret was given (a usage error).
    """
    secret = args.admin_secret
    if not secret:
        raise CliError(
            "an admin secret is required (--admin-secret or JANUS_ADMIN_SECRET)", EXIT_USAGE
        )
    client = JanusAdminMonitorClient(args.url, secret, **transport_config(args.timeout))
    clear = out.isatty() and not args.json and args.iterations != 1
    async with client:
        iteration = 0
        while args.iterations <= 0 or iteration < args.iterations:
            if iteration:
                await asyncio.sleep(args.interval)
            iteration += 1
            shot = await snapshot(client, args.max_handles)
            if args.json:
                out.write(json.dumps(shot) + "\n")
            else:
                if clear:
                    out.write("\x1b[H\x1b[2J")
                out.write(render(args.url, shot, args.max_handles) + "\n")
            out.flush()
    return 0


def register(commands: Commands) -> None:
    """Add ``monitor`` to the ``janus-fast`` subcommands."""
    monitor = commands.add_parser("monitor", help="live table of sessions and handles (Admin API)")
    monitor.add_argument(
        "url", metavar="ADMIN_URL", help="ws://HOST:PORT or http://HOST:PORT/admin"
    )
    monitor.add_argument(
        "--admin-secret",
        default=os.environ.get("JANUS_ADMIN_SECRET"),
        help="the Admin API secret (default: $JANUS_ADMIN_SECRET)",
    )
    monitor.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    monitor.add_argument("--iterations", type=int, default=0, help="refreshes (0: until Ctrl-C)")
    monitor.add_argument("--max-handles", type=int, default=50, help="handles detailed per refresh")
    monitor.add_argument("--json", action="store_true", help="one JSON object per refresh")
    add_timeout_option(monitor)
    monitor.set_defaults(run=run_monitor, is_async=True, api_secret=None, token=None)
