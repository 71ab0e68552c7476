"""Slow-consumer soak: a chatty VideoRoom whose events arrive faster than the handlers consume them.

Run: ``python benches/soak_slow_consumer.py [--seconds 120] [--transport ws|http] [--uvloop]``
(starts its own Janus on loopback; bounded, but minutes long: CI runs a ~10 s smoke of it).

``--listeners`` handles sit in one VideoRoom with ``notify_joining`` (one session); ``--churners``
tasks of another session on the same transport attach a handle, join the room and detach, in a
loop, so every listener gets four events per churn (Janus 1.1.2 sends ``joining``, then
``unpublished`` twice and ``leaving`` when a participant that never published detaches). Each
listener's ``on_receive`` and its typed ``on("event", ...)`` callback each sleep ``--handler-ms``
per event, so a listener consumes far fewer events per second than it receives. The session option
``event_queue_size`` bounds what waits per handle: the oldest are dropped and counted in
``events_dropped``. The WebSocket write buffer is bounded by ``write_buffer_limit``. Over HTTP the
soak asks for ``--maxev 100`` events per long poll: with the library's default 10, this churn
produces events faster than one long poll fetches them and they pile up in Janus (server memory;
reported as ``received_after_churn``), which is not what this soak measures.

Every second it samples RSS (/proc/self/status VmRSS) and the counters: events received (the
transport handed them to a listener), handled (``on_receive`` returned), dropped (the handles'
``events_dropped``) and queued (received - handled - dropped: waiting or in a handler). It prints
the memory curve and exits non-zero unless: memory stays flat (the last third's largest RSS is
within ``--rss-margin-mib`` of the largest after warm-up in the first third), drops happened and
are all counted (received == handled + dropped once the handlers drain, and queued never exceeds
``event_queue_size`` + 1 per listener), every typed callback ran for the events it was owed, and
no churn request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from janus_fast import JanusEvent, JanusPlugin, JanusSession, JanusTransport
from janus_fast._compat import run
from janus_fast.testing import JanusConfig, JanusServer

VIDEOROOM = "janus.plugin.videoroom"
ROOM = 4242


class Room(JanusPlugin):
    name = VIDEOROOM


class Listener(Room):
    """A VideoRoom participant with a slow ``on_receive`` and a slow typed callback."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.received = 0  # handed to this handle by the transport (deliver, before the bound)
        self.handled = 0  # on_receive returned
        self.plugin_events = 0  # of them, plugin "event"s: the typed callback is owed each
        self.callbacks = 0  # typed callback returned
        self.on("event", self.on_plugin_event)

    def deliver(self, message: Any) -> None:
        self.received += 1
        super().deliver(message)

    async def on_receive(self, response: dict[str, Any]) -> None:
        await asyncio.sleep(self.delay)
        self.handled += 1
        if response.get("janus") == "event":
            self.plugin_events += 1

    async def on_plugin_event(self, event: JanusEvent) -> None:
        await asyncio.sleep(self.delay)
        self.callbacks += 1


class WarningCounter(logging.Handler):
    """Counts the events module's overflow WARNINGs (one per handle per overflow episode)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def totals(listeners: list[Listener]) -> dict[str, int]:
    received = sum(p.received for p in listeners)
    handled = sum(p.handled for p in listeners)
    dropped = sum(p.events_dropped for p in listeners)
    return {
        "received": received,
        "handled": handled,
        "dropped": dropped,
        "queued": received - handled - dropped,
        "callbacks": sum(p.callbacks for p in listeners),
    }


async def churn(session: JanusSession, index: int, stop: float, counts: dict[str, int]) -> None:
    """Attach, join the room, detach, until ``stop``: four events per listener each time.
    (A VideoRoom handle that left cannot join again: each churn is a new handle.)"""
    while time.monotonic() < stop:
        handle = Room()
        try:
            await handle.attach(session)
            await handle.request(
                {"request": "join", "ptype": "publisher", "room": ROOM, "display": f"c{index}"}
            )
            counts["churns"] += 1
        except Exception as exc:
            counts["failed"] += 1
            print("churn failed:", repr(exc), file=sys.stderr)
            await asyncio.sleep(0.1)
        finally:
            await handle.destroy()


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    config = JanusConfig(event_loops=2, json="compact", debug_level=3)
    async with JanusServer(config) as janus:
        url = janus.ws_url if args.transport == "ws" else janus.http_url
        transport = JanusTransport.create_transport(
            url,
            config={
                "timeout": 10,
                "write_buffer_limit": args.write_buffer_limit,
                "maxev": args.maxev,
            },
        )
        await transport.connect()
        try:
            return await _run(args, transport)
        finally:
            await transport.disconnect()


async def _run(args: argparse.Namespace, transport: JanusTransport) -> dict[str, Any]:
    warnings = WarningCounter()
    events_logger = logging.getLogger("janus_fast.events")
    events_logger.addHandler(warnings)
    events_logger.propagate = False  # counted, not printed
    queue_size = args.event_queue_size
    quiet = JanusSession(transport=transport, event_queue_size=queue_size)
    chatty = JanusSession(transport=transport, event_queue_size=queue_size)
    await quiet.create()
    await chatty.create()
    admin = Room()
    await admin.attach(quiet)
    await admin.request(
        {
            "request": "create",
            "room": ROOM,
            "publishers": args.listeners + args.churners + 4,
            "notify_joining": True,
            "permanent": False,
        }
    )
    listeners = [Listener(args.handler_ms / 1000) for _ in range(args.listeners)]
    for i, listener in enumerate(listeners):
        await listener.attach(chatty)
        await listener.request(
            {"request": "join", "ptype": "publisher", "room": ROOM, "display": f"l{i}"}
        )

    counts = {"churns": 0, "failed": 0}
    started = time.monotonic()
    stop = started + args.seconds
    tasks = [asyncio.ensure_future(churn(quiet, i, stop, counts)) for i in range(args.churners)]
    samples: list[dict[str, float]] = []
    baseline: tracemalloc.Snapshot | None = None
    if args.tracemalloc:
        tracemalloc.start()
    max_queued = 0
    bound = (queue_size + 1) * len(listeners)  # + 1: the event inside a handler
    while time.monotonic() < stop:
        await asyncio.sleep(args.sample_every)
        now = totals(listeners)
        max_queued = max(max_queued, now["queued"])
        sample = {"t": round(time.monotonic() - started, 1), "rss_mib": round(rss_mib(), 1)}
        sample.update(now)
        if args.tracemalloc:
            sample["py_mib"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 2)
            if baseline is None and sample["t"] >= args.seconds / 3:
                baseline = tracemalloc.take_snapshot()
        samples.append(sample)
        if not args.quiet:
            print(
                f"{sample['t']:7.1f} s  RSS {sample['rss_mib']:7.1f} MiB  received "
                f"{now['received']:8d}  handled {now['handled']:7d}  dropped {now['dropped']:8d}"
                f"  queued {now['queued']:6d}",
                file=sys.stderr,
                flush=True,
            )
    await asyncio.gather(*tasks)
    churn_end = time.monotonic()
    received_at_end = totals(listeners)["received"]
    # Let the last events arrive and the handlers drain what is still queued (bounded).
    drain_deadline = churn_end + args.drain_seconds
    last_received = -1
    while time.monotonic() < drain_deadline:
        now = totals(listeners)
        if now["queued"] == 0 and now["received"] == last_received:
            break
        last_received = now["received"]
        await asyncio.sleep(0.5)
    final = totals(listeners)
    owed_callbacks = sum(p.plugin_events for p in listeners)
    stats = transport.stats()
    # WebSocket: times the write buffer went over write_buffer_limit (writing paused).
    write_flow = getattr(transport, "write_flow_stats", None)
    try:
        await admin.request({"request": "destroy", "room": ROOM})
    except Exception as exc:  # the report is what matters; the server goes away anyway
        print("room destroy failed:", repr(exc), file=sys.stderr)
    await chatty.destroy()
    await quiet.destroy()

    growth: list[str] = []
    if baseline is not None:
        diff = tracemalloc.take_snapshot().compare_to(baseline, "lineno")
        growth = [str(stat) for stat in diff[:8]]
        tracemalloc.stop()
    third = max(1, len(samples) // 3)
    warmup = [s for s in samples[:third] if s["t"] >= args.warmup] or samples[:third]
    first_max = max(s["rss_mib"] for s in warmup)
    last_max = max(s["rss_mib"] for s in samples[-third:])
    return {
        "transport": args.transport,
        "loop": "uvloop" if args.uvloop else "asyncio",
        "seconds": args.seconds,
        "listeners": args.listeners,
        "churners": args.churners,
        "handler_ms": args.handler_ms,
        "event_queue_size": queue_size,
        "write_buffer_limit": args.write_buffer_limit,
        "churns": counts["churns"],
        "churn_failures": counts["failed"],
        "final": final,
        "callbacks_owed": owed_callbacks,
        "drain_seconds": round(time.monotonic() - churn_end, 1),
        # Events Janus still held for the listeners when the churn stopped (over HTTP, what the
        # long polls had not fetched yet, queued in Janus's session).
        "received_after_churn": final["received"] - received_at_end,
        "max_queued": max_queued,
        "queued_bound": bound,
        "rss_first_third_max_mib": first_max,
        "rss_last_third_max_mib": last_max,
        "rss_margin_mib": args.rss_margin_mib,
        "transport_stats": {
            k: v
            for k, v in stats.items()
            if k in ("unrouted", "malformed", "routed_to_handle", "long_polls", "empty_polls")
        },
        "write_flow": write_flow,
        "overflow_warnings": warnings.count,
        "py_growth_top": growth,  # --tracemalloc: biggest growth since the first third
        "samples": samples,
    }


def check(report: dict[str, Any]) -> list[str]:
    """What went wrong (empty: the soak passed)."""
    problems = []
    final = report["final"]
    if report["churn_failures"]:
        problems.append(f"{report['churn_failures']} churn requests failed")
    if final["dropped"] == 0:
        problems.append("no event was dropped: the consumers were not slower than the events")
    if final["queued"] != 0:
        problems.append(
            f"received {final['received']} != handled {final['handled']} + dropped "
            f"{final['dropped']} after draining ({final['queued']} unaccounted)"
        )
    if report["max_queued"] > report["queued_bound"]:
        problems.append(f"queued {report['max_queued']} > bound {report['queued_bound']}")
    if final["callbacks"] != report["callbacks_owed"]:
        problems.append(
            f"typed callbacks ran {final['callbacks']} times, owed {report['callbacks_owed']}"
        )
    if (
        report["rss_last_third_max_mib"]
        > report["rss_first_third_max_mib"] + report["rss_margin_mib"]
    ):
        problems.append(
            f"RSS grew: last third max {report['rss_last_third_max_mib']} MiB > first third "
            f"max {report['rss_first_third_max_mib']} MiB + {report['rss_margin_mib']} MiB"
        )
    return problems


def curve(samples: list[dict[str, Any]], rows: int = 12) -> str:
    """A compact table of the samples (about ``rows`` of them, evenly spaced, and the last)."""
    step = max(1, len(samples) // rows)
    picked = samples[step - 1 :: step]
    if samples and (not picked or picked[-1] is not samples[-1]):
        picked.append(samples[-1])
    py = bool(samples) and "py_mib" in samples[0]
    head = "| t (s) | RSS (MiB) |" + (" Python heap (MiB) |" if py else "")
    lines = [
        head + " received | handled | dropped | queued |",
        "|---" * (7 if py else 6) + "|",
    ]
    for s in picked:
        heap = f" {s['py_mib']:.2f} |" if py else ""
        lines.append(
            f"| {s['t']:.0f} | {s['rss_mib']:.1f} |{heap} {s['received']} | {s['handled']} "
            f"| {s['dropped']} | {s['queued']} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--transport", choices=("ws", "http"), default="ws")
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--listeners", type=int, default=16, help="slow handles in the room")
    parser.add_argument("--churners", type=int, default=4, help="handles joining/leaving")
    parser.add_argument(
        "--handler-ms", type=float, default=5.0, help="sleep per event, each handler"
    )
    parser.add_argument("--event-queue-size", type=int, default=256)
    parser.add_argument("--write-buffer-limit", type=int, default=64 * 1024)
    parser.add_argument("--maxev", type=int, default=100, help="HTTP: events per long poll")
    parser.add_argument("--sample-every", type=float, default=1.0)
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds ignored for the baseline"
    )
    parser.add_argument("--rss-margin-mib", type=float, default=8.0)
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also sample Python's traced memory and list where it grew (slower)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-second line on stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if args.uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    report = run(soak(args), loop_factory=factory)
    problems = check(report)
    if args.json:
        print(json.dumps({**report, "problems": problems}, indent=2))
    else:
        summary = {k: v for k, v in report.items() if k != "samples"}
        print(json.dumps(summary, indent=2))
        print(curve(report["samples"]))
        for problem in problems:
            print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
