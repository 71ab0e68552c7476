"""End-to-end fuzzing of the public API against a hostile, scripted Janus, over every transport.

Rule: each case opens a fresh transport (WebSocket, HTTP, Unix socket in ``SOCK_SEQPACKET`` and
``SOCK_DGRAM`` mode, Nanomsg) to a scripted Janus (``_fuzz_server``, ``_fuzz_packet``) that
replays the recorded Janus 1.1.2 replies, arms one seeded mutation (``_fuzz_mutations``; in a
fifth of the cases on two answers) or pushes unsolicited traffic, then drives one flow of the
public API with short deadlines: EchoTest (``JanusSession``, attach, ``request``, the
janus-client ``send``/``get``/``done`` path ended by ``done()``, ``async with`` or never,
``ping``, ``info``, ``keepalive``, trickle, hangup, detach, destroy, sometimes a burst of
concurrent calls), the VideoRoom client, the Admin client (not over Nanomsg: NN_PAIR serves one
client), or a typed plugin client (EchoTest, VideoRoom, AudioBridge or TextRoom: a few typed
requests, then a new session's typed request must work). A quarter of the cases cancel one call
themselves; some sessions run their keepalive in the background; ``events()`` iterators and a
raising ``on()`` callback watch every handle. After each case it checks that:

- every call ended, with a result or a ``JanusFastError``, within its deadline (plus slack);
- results are what they claim: a ``pong`` from ``ping``, positive integer session/handle ids,
  the types the typed clients promise (a ``bool`` from ``exists``, never for an id);
- a later ``ping`` is answered (the reader survived; the server answers normally again);
- the core's tables are empty again (``transport.stats()``: pending, sessions, handles);
- the ``events()`` iterators ended with their handle and session; no task of the client is left
  behind; the loop's exception handler saw nothing ("exception was never retrieved", "Task was
  destroyed but it is pending"); no internal exception was logged; memory (RSS and live
  objects) stays bounded over the run.

A run is seeded: ``JANUS_FUZZ_E2E_SEED`` (default: random, printed), ``JANUS_FUZZ_E2E_CASE``
re-runs one case, ``JANUS_FUZZ_E2E_DISABLE`` (comma-separated ``class`` or ``class@target``,
optionally prefixed with the transport kind, ``ws:``, ``unix+dgram:``...) keeps more out,
``JANUS_FUZZ_E2E_SECONDS`` (default 60) is the budget of the whole run, split between the
transports (``KINDS``: their shares) and the event loops. A failure prints the seed, the case
and what the mutation did. ``DISABLED`` lists what is kept out of the run, with the reason;
every run prints it, and its case rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import itertools
import logging
import os
import random
import re
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Iterator
from typing import Any

import pytest
from _fuzz_mqtt import MqttScriptedJanus
from _fuzz_mutations import CLASSES, PACKET_KINDS, mutator, unsolicited
from _fuzz_packet import NanomsgScriptedJanus, PacketScriptedJanus, UnixScriptedJanus
from _fuzz_server import HttpScriptedJanus, ScriptedJanus, WsScriptedJanus

from janus_fast import Expect, JanusPlugin, JanusSession, JanusTransport
from janus_fast.admin import JanusAdminMonitorClient
from janus_fast.errors import JanusFastError, RequestTimeoutError
from janus_fast.plugins import (
    JanusAudioBridgePlugin,
    JanusEchoTestPlugin,
    JanusTextRoomPlugin,
    JanusVideoRoomPlugin,
)
from janus_fast.testing import MosquittoBroker

#: Deadline of every call in a case (short: a drop or a late reply costs this much).
TIMEOUT = 0.08
#: How long after the cleanup events() iterators may take to end (tasks: twice as long).
GRACE = 1.0
#: How much longer than its deadline a call may take before it counts as hung (loaded CI).
SLACK = 3.0
#: Mutations kept out of the run: ``"<ws|http>:<class>"`` or ``"<ws|http>:<class>@<target>"``
#: (the class on the answer to that request only) -> why. Printed by every run, never counted.
DISABLED: dict[str, str] = {}
#: Where a mutation can land: the answer to one request kind, or traffic pushed unasked.
TARGETS = {
    "ws": (
        "info",
        "ping",
        "create",
        "attach",
        "message",
        "keepalive",
        "trickle",
        "hangup",
        "detach",
        "destroy",
        "push",
    ),
    "http": (
        "info",
        "ping",
        "create",
        "attach",
        "message",
        "keepalive",
        "trickle",
        "hangup",
        "detach",
        "destroy",
        "longpoll",
    ),
}
for _kind in (*PACKET_KINDS, "mqtt"):  # one message per packet (publish), pushed traffic too
    TARGETS[_kind] = TARGETS["ws"]
#: Every transport kind the fuzzer drives, with its share of the run's time budget.
KINDS = {
    "ws": 3.0,
    "http": 3.0,
    "unix+seqpacket": 1.5,
    "unix+dgram": 1.5,
    "nanomsg": 1.5,
    "mqtt": 1.5,
}
#: The typed plugin clients of the ``typed`` flow: the class and the calls made, in order.
TYPED: dict[str, tuple[type[JanusPlugin], tuple[str, ...]]] = {
    "echotest": (JanusEchoTestPlugin, ("configure", "configure")),
    "videoroom": (JanusVideoRoomPlugin, ("list_rooms", "exists", "join_as_publisher", "leave")),
    "audiobridge": (
        JanusAudioBridgePlugin,
        ("list_rooms", "exists", "list_participants", "join", "leave"),
    ),
    "textroom": (JanusTextRoomPlugin, ("list_rooms", "exists", "list_participants", "create_room")),
}
LIST = {"request": "list"}
ADMIN_STEPS = (
    "admin_ping",
    "admin_info",
    "get_settings",
    "list_sessions",
    "list_handles",
    "handle_info",
    "loops_info",
    "set_log_level",
    "set_session_timeout",
    "accept_new_sessions",
    "list_tokens",
    "message_plugin",
)
#: The ``janus`` of each Admin step's request (where its mutation lands).
ADMIN_KINDS = (
    "get_status",
    "list_sessions",
    "list_handles",
    "handle_info",
    "loops_info",
    "set_log_level",
    "set_session_timeout",
    "accept_new_sessions",
    "list_tokens",
    "message_plugin",
)
VIDEOROOM_STEPS = (
    "list_rooms",
    "exists",
    "create_room",
    "list_participants",
    "join_as_publisher",
    "leave",
    "destroy_room",
)
OPTIONS = {
    "timeout": TIMEOUT,
    "connect_timeout": 2.0,
    "max_retries": 3,
    "retry_delay": 0.01,
    "retry_delay_max": 0.05,
    "ping_interval": 0.25,  # a peer stalled mid-frame is detected and the socket replaced
    "ping_timeout": 0.25,
    "keepalive_interval": None,
}
#: Options of one transport kind (Nanomsg connects only once a probe ``ping`` is answered: a
#: mutated answer to it costs ``connect_timeout``).
KIND_OPTIONS: dict[str, dict[str, Any]] = {"nanomsg": {"connect_timeout": 0.5}}
#: RSS growth (KiB) and live-object growth allowed after the warm-up.
RSS_BOUND_KIB = 96 * 1024
OBJECTS_BOUND = 60_000
WARM_UP_CASES = 30


class CallbackBoom(Exception):
    """Raised on purpose by the fuzzer's own event handler (must be logged, not fatal)."""


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._raise = rng.random() < 0.2
        self.received = 0

    async def on_receive(self, response: dict[str, Any]) -> None:
        self.received += 1
        if self._raise:
            raise CallbackBoom("the fuzzer's handler raising on purpose")


@dataclasses.dataclass
class Case:
    kind: str
    seed: str
    index: int
    mutation: str = ""
    target: str = ""
    log: list[str] = dataclasses.field(default_factory=list)
    calls: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    #: events() iterators consuming the handle's and session's events (must end with them).
    consumers: list[asyncio.Task[int]] = dataclasses.field(default_factory=list)
    #: How the janus-client transaction ends: ``done()``, ``async with``, or never (abandoned).
    compat: str = "done"
    #: The call the fuzzer cancels itself (as a caller's own timeout would), and when.
    cancel: str = ""
    cancel_after: float = 0.0

    def describe(self, loop_name: str) -> str:
        return (
            f"case {self.index} ({self.kind}, {loop_name}): mutation={self.mutation} "
            f"target={self.target}\n  did: {'; '.join(self.log)}\n"
            f"  calls: {'; '.join(self.calls)}\n  PROBLEMS: {' | '.join(self.problems)}\n"
            f"  re-run: JANUS_FUZZ_E2E_SEED={self.seed} JANUS_FUZZ_E2E_CASE={self.index} "
            f"JANUS_FUZZ_E2E_DISABLE={os.environ.get('JANUS_FUZZ_E2E_DISABLE', '')} "
            ".venv/bin/python -m pytest tests/fuzz_e2e/test_fuzz_e2e.py::test_fuzz_e2e "
            f"--loop {loop_name} -k {self.kind}"
        )


class Recorder(logging.Handler):
    """Formats every janus_fast record (formatting is code under test too) and keeps the ones
    carrying an exception that is neither typed nor the fuzzer's own callback error."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.internal: list[str] = []
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            if not isinstance(error, JanusFastError | CallbackBoom | OSError):
                self.internal.append(f"{record.name}: {text} ({type(error).__name__}: {error})")


async def bounded(case: Case, name: str, awaitable: Awaitable[Any]) -> Any:
    """Await one public call: it must end with a result or a typed error, within its deadline."""
    started = time.monotonic()
    if name == case.cancel:
        case.cancel = ""
        return await cancelled(case, name, awaitable)
    try:
        result = await asyncio.wait_for(awaitable, TIMEOUT + SLACK)
    except asyncio.TimeoutError as exc:
        if isinstance(exc, JanusFastError):  # RequestTimeoutError is a TimeoutError too
            case.calls.append(f"{name}: {type(exc).__name__}")
            return exc
        case.problems.append(f"{name} did not end within {TIMEOUT + SLACK:.1f}s")
        return None
    except JanusFastError as exc:
        case.calls.append(f"{name}: {type(exc).__name__}")
        return exc
    except asyncio.CancelledError:
        case.problems.append(f"{name} raised CancelledError")
        return None
    except Exception as exc:  # the invariant: nothing untyped escapes
        case.problems.append(
            f"{name} raised untyped {type(exc).__name__}: {exc!r:.200} at {_where(exc)}"
        )
        return exc
    case.calls.append(f"{name}: ok ({time.monotonic() - started:.3f}s)")
    return result


async def cancelled(case: Case, name: str, awaitable: Awaitable[Any]) -> Any:
    """Run one call and cancel it after ``case.cancel_after`` s: it must then end promptly."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=case.cancel_after)
    if not done:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=SLACK)
        if not done:
            case.problems.append(f"{name} did not end within {SLACK}s of its cancellation")
            return None
    if task.cancelled():
        case.calls.append(f"{name}: cancelled by the caller after {case.cancel_after:.3f}s")
        return None
    error = task.exception()
    if error is None:
        case.calls.append(f"{name}: ok (before its cancellation)")
        return task.result()
    if isinstance(error, JanusFastError):
        case.calls.append(f"{name}: {type(error).__name__}")
        return error
    case.problems.append(f"{name} raised untyped {error!r:.200} at {_where(error)}")
    return error


async def run_case(
    server: ScriptedJanus,
    case: Case,
    disabled: dict[str, str],
    loop_name: str,
    *,
    flow: str | None = None,
    burst: bool | None = None,
    compat: str | None = None,
) -> None:
    """One case; ``disabled`` of everything: no mutation (the control run). ``flow``: the
    EchoTest, VideoRoom or Admin API flow (default: drawn)."""
    rng = random.Random(f"{case.seed}:{case.kind}:{case.index}")
    server.reset()
    if flow is None:
        # NN_PAIR takes one client: no Admin client next to the session's over Nanomsg.
        flows = ("echotest", "videoroom", "typed") + (("admin",) if case.kind != "nanomsg" else ())
        flow = rng.choices(flows, (5, 3, 4, 2)[: len(flows)])[0]
    typed = rng.choice(sorted(TYPED)) if flow == "typed" else ""
    if flow.startswith("typed-"):  # the control run's choice
        flow, typed = "typed", flow.split("-", 1)[1]
    if typed:
        case.log.append(f"typed client {typed}")
    targets = ("ping", "info", *ADMIN_KINDS) if flow == "admin" else TARGETS[case.kind]

    def allowed(name: str) -> list[str]:
        return [t for t in targets if name not in disabled and f"{name}@{t}" not in disabled]

    enabled = [c for c in CLASSES[case.kind] if allowed(c)]
    case.mutation = rng.choice(enabled) if enabled else "none"
    case.target = rng.choice(allowed(case.mutation)) if enabled else "none"
    before = set(asyncio.all_tasks())
    if flow == "videoroom":
        steps = ["ping", "vr_attach", *VIDEOROOM_STEPS, "detach", "destroy"]
    elif flow == "admin":
        steps = ["attach", *ADMIN_STEPS, "detach", "destroy"]
    elif typed:
        steps = ["ping", "vr_attach", *(f"typed:{call}" for call in TYPED[typed][1])]
        steps += ["detach", "destroy"]
    else:
        steps = ["ping", "info", "attach", "request", "compat", "keepalive", "trickle"]
        steps += ["hangup", "detach", "destroy"]
        if rng.random() < 0.5:
            steps[3], steps[4] = steps[4], steps[3]
        if rng.random() < 0.4 if burst is None else burst:  # several requests in flight
            steps.insert(rng.randrange(3, 6), "burst")
    calls = len(TYPED[typed][1]) if typed else len(VIDEOROOM_STEPS)
    skip = (
        rng.randrange(calls) if flow in ("videoroom", "typed") and case.target == "message" else 0
    )
    case.compat = compat or rng.choices(("done", "async-with", "abandoned"), (3, 2, 1))[0]
    if rng.random() < 0.25:
        names = [{"vr_attach": "attach", "compat": "get"}.get(step, step) for step in steps]
        names = [name.split(":")[-1] for name in names]
        case.cancel = rng.choice(names)
        case.cancel_after = rng.choice((0.0, 0.0005, 0.002, 0.01))
        case.log.append(f"cancel {case.cancel} after {case.cancel_after}s")
    # Some sessions keep themselves alive in the background while the case runs.
    interval = rng.choice((None, None, 0.02, 0.05)) if case.target != "none" else None
    if case.target != "none" and rng.random() < 0.3:  # janus-client style: the session's own
        options = {**OPTIONS, **KIND_OPTIONS.get(case.kind, {}), "keepalive_interval": interval}
        session = JanusSession(base_url=server.url, **options)
        transport = session.transport
        owned = True
        case.log.append("the session owns its transport")
    else:
        owned = False
        options = {**OPTIONS, **KIND_OPTIONS.get(case.kind, {})}
        transport = JanusTransport.create_transport(server.url, config=options)
        session = JanusSession(transport=transport, keepalive_interval=interval)
    if interval:
        case.log.append(f"background keepalive every {interval}s")
    plugin: JanusPlugin = (
        TYPED[typed][0]()
        if typed
        else JanusVideoRoomPlugin()
        if flow == "videoroom"
        else EchoTest(rng)
    )
    admin = JanusAdminMonitorClient(
        server.url, "fuzz-admin-secret", **{**OPTIONS, **KIND_OPTIONS.get(case.kind, {})}
    )
    watched = admin.transport if flow == "admin" else transport
    if case.target not in ("push", "none"):
        mutate = mutator(case.mutation, rng, case.kind, TIMEOUT, case.log, server.recent)
        if flow == "admin":  # the regular session's exchanges first, unmutated
            await bounded(case, "connect", transport.connect())
            await run_step(case, "attach", transport, session, plugin)
            steps.remove("attach")
        server.arm(case.target, mutate, skip)
        case.log.append(f"flow {flow}, skip {skip}")
        second = [t for t in allowed(case.mutation) if t not in (case.target, "push")]
        if second and rng.random() < 0.2:  # a second answer mutated the same way
            also = rng.choice(second)
            server.arm(also, mutator(case.mutation, rng, case.kind, TIMEOUT, case.log))
            case.target += f"+{also}"
    try:
        await bounded(case, "connect", watched.connect())
        push_at = rng.randrange(len(steps)) if case.target == "push" else -1
        for number, step in enumerate(steps):
            if number == push_at:
                plan = unsolicited(rng, case.kind, session.id, plugin.id, case.log)
                assert isinstance(server, WsScriptedJanus | PacketScriptedJanus)
                await server.push(plan)
                await asyncio.sleep(rng.choice((0, 0.005, 0.02)))
            if step == "destroy" and owned and watched is transport:
                server.disarm()  # destroying a session that owns its transport disconnects it
                await check_alive(case, watched)
            if step in ADMIN_STEPS:
                await admin_step(case, step, admin, session, plugin)
            else:
                await run_step(case, step, transport, session, plugin)
        server.disarm()
        if not (owned and watched is transport):
            await check_alive(case, watched)
            if typed:
                await check_later_typed(case, transport, TYPED[typed][0])
    finally:
        server.disarm()
        await bounded(case, "cleanup detach", plugin.destroy())
        await bounded(case, "cleanup destroy", session.destroy())
        wait = case.kind in PACKET_KINDS
        tables = [await settled(transport, wait), await settled(admin.transport, wait)]
        await bounded(case, "disconnect", transport.disconnect())
        await bounded(case, "admin disconnect", admin.disconnect())
    for name, stats in zip(("transport", "admin transport"), tables, strict=True):
        left = {k: v for k, v in stats.items() if k in ("pending", "sessions", "handles") and v}
        if left:
            case.problems.append(f"{name}: core tables not empty after destroy: {left}")
    for name, client in (("transport", transport), ("admin transport", admin.transport)):
        after = client.stats()
        if after["pending"] or after["sessions"] or after["handles"]:
            case.problems.append(f"{name}: core tables not empty after disconnect: {after}")
    await check_consumers(case)
    await check_tasks(case, before)


async def settled(transport: JanusTransport, wait: bool) -> dict[str, Any]:
    """The transport's stats; with ``wait``, once its core tables are empty or after ``GRACE``
    s: the liveness ``ping`` of the packet transports (pfunix, Nanomsg) is a request of the
    core while it is in flight (a few milliseconds every ``ping_interval``; ``ping_timeout``
    when its pong was mutated away)."""
    deadline = time.monotonic() + (GRACE if wait else 0.0)
    while True:
        stats = transport.stats()
        if not any(stats[k] for k in ("pending", "sessions", "handles")):
            return stats
        if time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.01)


async def consume(stream: Any) -> int:
    """Read an ``events()`` iterator to its end (the handle or session going away)."""
    count = 0
    async for _ in stream:
        count += 1
    return count


_CALLBACK_CALLS = itertools.count()


def raising_callback(event: Any) -> None:
    """An ``on()`` callback that raises for every other event (never to reach the reader)."""
    if next(_CALLBACK_CALLS) % 2:
        raise CallbackBoom("the fuzzer's on() callback raising on purpose")


async def check_consumers(case: Case) -> None:
    """Every ``events()`` iterator ended once its handle and session were released."""
    if not case.consumers:
        return
    done, pending = await asyncio.wait(case.consumers, timeout=GRACE)
    if pending:
        case.problems.append(
            f"{len(pending)} events() iterator(s) did not end after the handle/session went away"
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None and not isinstance(error, JanusFastError):
            case.problems.append(f"an events() iterator raised {error!r:.120} at {_where(error)}")


async def admin_step(
    case: Case, step: str, admin: JanusAdminMonitorClient, session: JanusSession, plugin: Any
) -> None:
    """One Admin API method; its result must have the type it promises."""
    sid, hid = session.id or 1, plugin.id or 1
    calls: dict[str, tuple[Any, Any]] = {
        "admin_ping": (admin.ping(), dict),
        "admin_info": (admin.info(), dict),
        "get_settings": (admin.get_settings(), dict),
        "list_sessions": (admin.list_sessions(), list),
        "list_handles": (admin.list_handles(sid), list),
        "handle_info": (admin.handle_info(sid, hid), dict),
        "loops_info": (admin.loops_info(), list),
        "set_log_level": (admin.set_log_level(4), int),
        "set_session_timeout": (admin.set_session_timeout(60), int),
        "accept_new_sessions": (admin.accept_new_sessions(True), bool),
        "list_tokens": (admin.list_tokens(), list),
        "message_plugin": (
            admin.message_plugin(JanusVideoRoomPlugin.name, {"request": "list"}),
            dict,
        ),
    }
    for other, (coroutine, _) in calls.items():
        if other != step:
            coroutine.close()
    coroutine, expected = calls[step]
    result = await bounded(case, step, coroutine)
    if isinstance(result, BaseException) or result is None:
        return  # a typed error, or a problem bounded() recorded
    if not isinstance(result, expected) or (isinstance(result, bool) and expected is int):
        case.problems.append(f"{step} returned {type(result).__name__}: {result!r:.120}")
    elif step in ("list_sessions", "list_handles") and not all(
        type(item) is int for item in result
    ):
        case.problems.append(f"{step} returned non-integer ids: {result!r:.120}")


async def run_step(
    case: Case, step: str, transport: JanusTransport, session: JanusSession, plugin: Any
) -> None:
    if step.startswith("typed:"):
        await typed_step(case, step.split(":")[1], plugin)
    elif step in VIDEOROOM_STEPS:
        await videoroom_step(case, step, plugin)
    elif step == "ping":
        pong = await bounded(case, "ping", transport.ping())
        if isinstance(pong, dict) and pong.get("janus") != "pong":
            case.problems.append(f"ping returned a non-pong {pong!r:.120}")
    elif step == "info":
        info = await bounded(case, "info", transport.info())
        if info is not None and not isinstance(info, dict | JanusFastError):
            case.problems.append(f"info returned {info!r:.120}")
    elif step in ("attach", "vr_attach"):
        await bounded(case, "attach", plugin.attach(session))
        if plugin.id is not None:  # attached (not failed, nor cancelled before the reply)
            for what, value in (("session", session.id), ("handle", plugin.id)):
                if type(value) is not int or value <= 0:
                    case.problems.append(f"attach accepted {what} id {value!r}")
            loop = asyncio.get_running_loop()
            for source in (plugin, session):
                case.consumers.append(loop.create_task(consume(source.events())))
            plugin.on(None, raising_callback)
    elif step == "request" and plugin.id is not None:
        reply = await bounded(case, "request", plugin.request({"audio": True}, timeout=TIMEOUT))
        if isinstance(reply, dict) and reply.get("janus") not in ("event", "success"):
            case.problems.append(f"request returned {reply!r:.120}")
    elif step == "compat" and plugin.id is not None:
        body = {"janus": "message", "body": {"audio": True}}
        tx = await bounded(case, "send", plugin.send(body))
        if tx is None or isinstance(tx, BaseException):
            return
        if case.compat == "async-with":  # janus_fast's guarantee: done() on the way out
            await bounded(case, "get", compat_get(case, tx, own=True))
        else:
            await bounded(case, "get", compat_get(case, tx, own=False))
            if case.compat == "done":
                await bounded(case, "done", tx.done())
            # "abandoned": janus-client code that never calls done(); destroy must clean up
    elif step == "burst":
        calls = [bounded(case, "burst ping", transport.ping()) for _ in range(3)]
        if plugin.id is not None:
            body = {"audio": True}
            calls += [bounded(case, "burst request", plugin.request(body)) for _ in range(2)]
        for result in await asyncio.gather(*calls):
            if isinstance(result, dict) and result.get("janus") not in ("pong", "event", "success"):
                case.problems.append(f"a burst call returned {result!r:.120}")
    elif step == "trickle" and plugin.id is not None:
        candidate = {
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "candidate": "candidate:1 1 udp 1 x 9 typ host",
        }
        await bounded(case, "trickle", plugin.trickle(candidates=[candidate]))
        await bounded(case, "trickle", plugin.trickle(completed=True))
    elif step == "hangup" and plugin.id is not None:
        await bounded(case, "hangup", plugin.hangup())
    elif step == "keepalive" and session.created:
        await bounded(case, "keepalive", session.keepalive())
    elif step == "detach":
        await bounded(case, "detach", plugin.destroy())
    elif step == "destroy":
        await bounded(case, "destroy", session.destroy())


async def videoroom_step(case: Case, step: str, room: JanusVideoRoomPlugin) -> None:
    """One typed VideoRoom method; its result must have the type it promises."""
    if room.id is None:
        return
    if step == "list_rooms":
        result = await bounded(case, step, room.list_rooms())
        expected: Any = list
    elif step == "exists":
        result = await bounded(case, step, room.exists(1234))
        expected = bool
    elif step == "create_room":
        result = await bounded(case, step, room.create_room())
        expected = int | str
    elif step == "list_participants":
        result = await bounded(case, step, room.list_participants(1234))
        expected = list
    elif step == "join_as_publisher":
        result = await bounded(case, step, room.join_as_publisher(1234, display="fuzz"))
        expected = dict
    elif step == "leave":
        result = await bounded(case, step, room.leave())
        expected = type(None)
    else:  # destroy a room that does not exist: VideoRoomError 426
        result = await bounded(case, step, room.destroy_room(987654321))
        expected = type(None)
    if not isinstance(result, expected | JanusFastError | None):
        case.problems.append(f"{step} returned {type(result).__name__}: {result!r:.120}")
    elif isinstance(result, list) and not all(isinstance(item, dict) for item in result):
        odd = next(item for item in result if not isinstance(item, dict))
        case.problems.append(f"{step} returned a list holding a {type(odd).__name__}: {odd!r:.60}")


async def typed_step(case: Case, step: str, plugin: Any) -> None:
    """One typed plugin client call: it ends with the type it promises or a typed error."""
    if plugin.id is None:
        return
    calls: dict[str, tuple[Any, Any]] = {
        "configure": (lambda: plugin.configure(audio=True), dict),
        "list_rooms": (lambda: plugin.list_rooms(), list),
        "exists": (lambda: plugin.exists(1234), bool),
        "list_participants": (lambda: plugin.list_participants(1234), list),
        "join_as_publisher": (lambda: plugin.join_as_publisher(1234, display="fuzz"), dict),
        "join": (lambda: plugin.join(1234, display="fuzz"), dict),
        "leave": (
            lambda: plugin.leave(),
            type(None) if isinstance(plugin, JanusVideoRoomPlugin) else dict,
        ),
        "create_room": (lambda: plugin.create_room(is_private=False), int | str),
    }
    call, expected = calls[step]
    result = await bounded(case, step, call())
    if isinstance(result, BaseException) or (result is None and expected is not type(None)):
        return  # a typed error, or a problem bounded() recorded
    if not isinstance(result, expected) or (isinstance(result, bool) and expected is not bool):
        case.problems.append(f"{step} returned {type(result).__name__}: {result!r:.120}")
    elif isinstance(result, list) and not all(isinstance(item, dict) for item in result):
        odd = next(item for item in result if not isinstance(item, dict))
        case.problems.append(f"{step} returned a list holding a {type(odd).__name__}: {odd!r:.60}")


async def check_later_typed(
    case: Case, transport: JanusTransport, plugin_class: type[JanusPlugin]
) -> None:
    """Once the server answers normally again, a new session, handle and typed request work
    (three tries when one times out: session and handle use the short deadline of the case)."""
    failure = ""
    for _ in range(3):
        session = JanusSession(transport=transport)
        plugin: Any = plugin_class()
        try:
            await asyncio.wait_for(plugin.attach(session), 2.0 + SLACK)
            if plugin_class is JanusEchoTestPlugin:
                result: Any = await plugin.configure(audio=True, timeout=2.0)
            else:
                result = await plugin.list_rooms(timeout=2.0)
            if not isinstance(result, dict if plugin_class is JanusEchoTestPlugin else list):
                case.problems.append(f"a later typed request returned {result!r:.120}")
            return
        except (RequestTimeoutError, asyncio.TimeoutError) as exc:
            failure = f"{type(exc).__name__}: {exc}"
        except JanusFastError as exc:
            case.problems.append(f"a later typed request failed: {type(exc).__name__}: {exc}")
            return
        finally:
            with contextlib.suppress(JanusFastError, asyncio.TimeoutError):
                await asyncio.wait_for(plugin.destroy(), 2.0 + SLACK)
            with contextlib.suppress(JanusFastError, asyncio.TimeoutError):
                await asyncio.wait_for(session.destroy(), 2.0 + SLACK)
    case.problems.append(f"a later typed request timed out three times ({failure})")


async def compat_get(case: Case, tx: Any, *, own: bool) -> Any:
    """``get`` the event of a janus-client transaction (inside ``async with`` if ``own``)."""
    if own:
        async with tx:
            event = await tx.get({"janus": "event"}, timeout=TIMEOUT)
    else:
        event = await tx.get({"janus": "event"}, timeout=TIMEOUT)
    if isinstance(event, dict) and event.get("janus") != "event":
        case.problems.append(f"get returned a non-event {event!r:.120}")
    return event


async def check_alive(case: Case, transport: JanusTransport) -> None:
    """The reader survived: a ping with a generous deadline is answered (three tries: a
    reconnection after a close may need a moment). A connection refused with a typed error
    (Nanomsg's probe ``ping`` answered wrong) is made again first."""
    if any(c.startswith("connect: ") and not c.startswith("connect: ok") for c in case.calls):
        await bounded(case, "reconnect", transport.connect())
    for _ in range(3):
        try:
            reply = await asyncio.wait_for(
                transport.request({"janus": "ping"}, Expect.PONG, timeout=2.0), 2.0 + SLACK
            )
        except JanusFastError as exc:
            last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.05)
            continue
        except asyncio.TimeoutError:
            case.problems.append("liveness ping hung past its deadline")
            return
        if reply.json().get("janus") != "pong":
            case.problems.append(f"liveness ping returned {reply.json()!r:.120}")
        return
    case.problems.append(f"the transport no longer answers a ping after the case ({last})")


def _client_tasks(tasks: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {
        t
        for t in tasks
        if not t.get_name().startswith("fuzz-server")
        and not getattr(t.get_coro(), "__qualname__", "").startswith("FuzzServerQueue")
        and not t.done()
    }


async def check_tasks(case: Case, before: set[asyncio.Task[Any]]) -> None:
    deadline = time.monotonic() + GRACE * 2
    while True:
        left = _client_tasks(asyncio.all_tasks() - before)
        if not left:
            return
        if time.monotonic() > deadline:
            names = sorted(f"{t.get_name()}: {t.get_coro()!r:.80}" for t in left)
            case.problems.append(f"{len(left)} task(s) left behind: {names[:5]}")
            for task in left:  # so that the next cases start clean
                task.cancel()
            return
        await asyncio.sleep(0.01)


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def budget_seconds(config: pytest.Config, kind: str) -> float:
    """The share of ``JANUS_FUZZ_E2E_SECONDS`` of one transport kind on one event loop."""
    total = float(os.environ.get("JANUS_FUZZ_E2E_SECONDS", "60"))
    loops = 2 if config.getoption("--loop") == "both" else 1
    return total * KINDS[kind] / sum(KINDS.values()) / loops


@pytest.fixture(scope="module")
def fuzz_broker() -> Iterator[MosquittoBroker]:
    """One ``mosquitto`` for the MQTT cases of the module.

    Yields:
        The running broker.
    """
    with MosquittoBroker() as broker:
        yield broker


def make_server(kind: str, request: pytest.FixtureRequest) -> ScriptedJanus:
    """The scripted Janus of a transport kind (not started; MQTT's uses ``fuzz_broker``)."""
    if kind == "ws":
        return WsScriptedJanus()
    if kind == "http":
        return HttpScriptedJanus()
    if kind == "nanomsg":
        return NanomsgScriptedJanus()
    if kind == "mqtt":
        return MqttScriptedJanus(request.getfixturevalue("fuzz_broker"))
    return UnixScriptedJanus(kind.split("+")[1])


@pytest.mark.parametrize(
    ("kind", "flow"),
    [
        (kind, flow)
        for kind in KINDS
        for flow in ("echotest", "videoroom", "admin", *(f"typed-{t}" for t in TYPED))
        if (kind, flow) != ("nanomsg", "admin")  # NN_PAIR: one client at a time
    ],
)
async def test_control_run_without_mutation_succeeds_everywhere(
    kind: str, flow: str, event_loop_name: str, request: pytest.FixtureRequest
) -> None:
    """The fuzzer's flows against the unmutated scripted Janus: every call succeeds, so the
    fuzzed runs exercise the real paths (a flow failing by itself would make them vacuous)."""
    server: ScriptedJanus = await make_server(kind, request).start()
    try:
        case = Case(kind, "control", 0)
        everything = dict.fromkeys(CLASSES[kind], "control run")
        await run_case(
            server, case, everything, event_loop_name, flow=flow, burst=True, compat="done"
        )
    finally:
        await server.close()
    assert not case.problems, case.describe(event_loop_name)
    outcomes = [call.split(" (")[0] for call in case.calls]
    middle = {
        "videoroom": [
            "attach: ok",
            *(f"{step}: ok" for step in VIDEOROOM_STEPS[:-1]),
            "destroy_room: VideoRoomError",  # the room does not exist: Janus's 426
        ],
        "admin": ["attach: ok", "admin disconnect: ok", *(f"{s}: ok" for s in ADMIN_STEPS)],
        **{
            f"typed-{name}": ["attach: ok", *(f"{call}: ok" for call in calls)]
            for name, (_, calls) in TYPED.items()
        },
        "echotest": [
            *("info: ok", "attach: ok", "request: ok", "send: ok", "get: ok", "done: ok"),
            "keepalive: ok",
            *("trickle: ok", "trickle: ok", "hangup: ok"),
            *["burst ping: ok"] * 3,
            *["burst request: ok"] * 2,
        ],
    }[flow]
    middle += ["ping: ok"] if flow != "admin" else []
    middle += ["admin disconnect: ok"] if flow != "admin" else []
    closing = ["detach: ok", "destroy: ok", "cleanup detach: ok", "cleanup destroy: ok"]
    expected = ["connect: ok", *middle, *closing, "disconnect: ok"]
    assert sorted(outcomes) == sorted(expected)
    assert server.applied == 0


@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_case_replays_from_its_seed(
    kind: str, event_loop_name: str, request: pytest.FixtureRequest
) -> None:
    """The same seed and case number draw the same flow, mutation, target and choices (what a
    failure report's re-run line relies on)."""
    runs: list[list[tuple[str, str, list[str]]]] = []
    for _ in range(2):
        server: ScriptedJanus = await make_server(kind, request).start()
        cases = [Case(kind, "replay", index) for index in range(6)]
        try:
            for case in cases:
                await run_case(server, case, {}, event_loop_name)
        finally:
            await server.close()
        runs.append([(c.mutation, c.target, c.log[:2]) for c in cases])
    assert runs[0] == runs[1]
    assert len({mutation for mutation, _, _ in runs[0]}) > 1


async def test_the_checks_catch_what_they_claim_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """The invariants can fail: an untyped error, a hung call, a leaked task, an iterator that
    never ends are each reported as a problem of the case."""
    monkeypatch.setattr(sys.modules[__name__], "SLACK", 0.05)
    monkeypatch.setattr(sys.modules[__name__], "GRACE", 0.05)
    case = Case("ws", "self-test", 0)

    async def untyped() -> None:
        raise KeyError("boom")

    async def typed() -> None:
        raise RequestTimeoutError("late")

    await bounded(case, "untyped", untyped())
    await bounded(case, "typed", typed())
    await bounded(case, "hung", asyncio.sleep(5))
    before = set(asyncio.all_tasks())
    leaked = asyncio.get_running_loop().create_task(asyncio.sleep(5))
    await check_tasks(case, before)
    case.consumers.append(asyncio.get_running_loop().create_task(asyncio.sleep(5)))
    await check_consumers(case)
    assert leaked.cancelled()
    assert case.calls == ["typed: RequestTimeoutError"]
    assert [p.split(" ")[0] for p in case.problems] == ["untyped", "hung", "1", "1"]
    assert "task(s) left behind" in case.problems[2]
    assert "events() iterator(s) did not end" in case.problems[3]


@pytest.mark.echo_stdout
@pytest.mark.timeout(float(os.environ.get("JANUS_FUZZ_E2E_SECONDS", "60")) + 60)
@pytest.mark.parametrize("kind", list(KINDS))
async def test_fuzz_e2e(
    kind: str, event_loop_name: str, pytestconfig: pytest.Config, request: pytest.FixtureRequest
) -> None:
    seed = os.environ.get("JANUS_FUZZ_E2E_SEED") or str(random.randrange(1, 2**32))
    only = os.environ.get("JANUS_FUZZ_E2E_CASE")
    budget = budget_seconds(pytestconfig, kind)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")

    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        """A line in the test output, passing or failing (past pytest's capture)."""
        print(line)  # also in the failure report's captured output
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(line)

    disabled = {k.split(":", 1)[1]: r for k, r in DISABLED.items() if k.startswith(f"{kind}:")}
    for name in filter(None, os.environ.get("JANUS_FUZZ_E2E_DISABLE", "").split(",")):
        if ":" not in name or name.startswith(f"{kind}:"):
            disabled[name.split(":", 1)[-1]] = "JANUS_FUZZ_E2E_DISABLE"
    say(
        f"fuzz-e2e {kind}/{event_loop_name}: seed={seed} budget={budget:.0f}s; disabled "
        f"mutation classes: {disabled or 'none'}"
    )
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(_context_text(context)))
    recorder = Recorder()
    library = logging.getLogger("janus_fast")
    saved = (library.level, library.propagate)
    library.setLevel(logging.DEBUG)
    library.propagate = False
    library.addHandler(recorder)
    server: ScriptedJanus = await make_server(kind, request).start()
    failures: list[str] = []
    signatures: dict[str, int] = {}  # one printed failure per kind of problem, the rest counted
    counts: dict[str, int] = {}
    spent: dict[str, float] = {}
    started = time.monotonic()
    index = int(only) if only else 0
    rss_base = objects_base = 0
    try:
        while True:
            case = Case(kind, seed, index)
            seen_errors, seen_internal = len(loop_errors), len(recorder.internal)
            case_started = time.monotonic()
            await run_case(server, case, disabled, event_loop_name)
            spent[case.mutation] = spent.get(case.mutation, 0.0) + time.monotonic() - case_started
            window = ""
            if index % 10 == 9 or only:
                gc.collect()  # futures dropped unretrieved report through the handler now
                window = f" (seen at a collection after cases {max(0, index - 9)}-{index})"
            case.problems += [
                f"loop exception handler{window}: {e}" for e in loop_errors[seen_errors:]
            ]
            case.problems += [
                f"internal error logged: {e}" for e in recorder.internal[seen_internal:]
            ]
            counts[case.mutation] = counts.get(case.mutation, 0) + 1
            if case.problems:
                signature = re.sub(r"\d+", "N", case.problems[0])
                signatures[signature] = signatures.get(signature, 0) + 1
                if signatures[signature] == 1:
                    failures.append(case.describe(event_loop_name))
                    say("FUZZ-E2E FAILURE " + failures[-1])
            done = index + 1 - (int(only) if only else 0)
            if done == WARM_UP_CASES:
                gc.collect()
                rss_base, objects_base = _rss_kib(), len(gc.get_objects())
            if only or time.monotonic() - started > budget or len(failures) >= 20:
                break
            index += 1
        elapsed = time.monotonic() - started
        gc.collect()
        memory = ""
        if rss_base:
            rss_growth = _rss_kib() - rss_base
            objects_growth = len(gc.get_objects()) - objects_base
            memory = f" rss +{rss_growth} KiB, objects +{objects_growth}"
            if rss_growth > RSS_BOUND_KIB or objects_growth > OBJECTS_BOUND:
                failures.append(
                    f"memory grew over the run (seed {seed}, cases {WARM_UP_CASES}-{index}):"
                    f"{memory}"
                )
        total = index + 1 - (int(only) if only else 0)
        say(
            f"fuzz-e2e {kind}/{event_loop_name}: seed={seed} {total} cases in {elapsed:.1f}s "
            f"({total / elapsed:.1f}/s), {recorder.records} log records,{memory} per class: "
            f"{dict(sorted(counts.items()))}; seconds per class: "
            f"{ {k: round(v, 1) for k, v in sorted(spent.items())} }; "
            f"failures: {sum(signatures.values())} ({len(failures)} distinct)"
        )
    finally:
        await server.close()
        library.removeHandler(recorder)
        library.setLevel(saved[0])
        library.propagate = saved[1]
        loop.set_exception_handler(None)
    assert not failures, f"{len(failures)} failing case(s), seed {seed}:\n" + "\n".join(
        failures[:10]
    )


def _where(error: BaseException) -> str:
    """The innermost janus_fast frame of ``error``'s traceback (file:line function)."""
    spot = "?"
    for frame, line in traceback.walk_tb(error.__traceback__):
        name = frame.f_code.co_filename
        if "janus_fast" in name:
            spot = f"{name.split('python/')[-1]}:{line} {frame.f_code.co_name}"
    return spot


def _context_text(context: dict[str, Any]) -> str:
    error = context.get("exception")
    where = _where(error) if isinstance(error, BaseException) else "?"
    return f"{context.get('message')} {error!r:.200} at {where}"
