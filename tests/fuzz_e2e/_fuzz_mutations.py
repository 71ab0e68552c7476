"""Seeded mutations of one Janus answer, by class, for the end-to-end fuzzer.

Rule: ``mutator(name, rng, kind, timeout, log)`` returns a function that turns the replies a real
Janus would send to one request into a ``Plan`` (``_fuzz_server``), using only ``rng`` for its
choices so a case is reproduced by its seed; every choice it makes is appended to ``log`` in
words, for the failure report. ``CLASSES[kind]`` lists the classes of a transport kind.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from typing import Any

from _fuzz_server import Plan, Reply, Step, encode, normal_plan

from _fake_janus import frame

JsonDict = dict[str, Any]
Log = list[str]

COMMON = (
    "bytes",
    "json_type",
    "json_field",
    "unknown_type",
    "wrong_id",
    "error_code",
    "drop",
    "duplicate",
    "reorder",
    "delay",
    "flood",
    "ending",
    "close",
    "plugindata",
)
#: The transports whose every message is one packet (pfunix, Nanomsg): no byte stream to cut.
PACKET_KINDS = ("unix+seqpacket", "unix+dgram", "nanomsg")
CLASSES = {
    "ws": (*COMMON, "tcp", "frames", "ws_protocol"),
    "http": (*COMMON, "tcp", "http_status", "http_framing"),
    **{kind: (*COMMON, "packets") for kind in PACKET_KINDS},
    # Through a broker: Janus cannot close the client's connection (the broker holds it).
    "mqtt": (*(c for c in COMMON if c != "close"), "packets"),
}

#: Values of every JSON type, and the numbers an id or code must not be taken for.
ODD_VALUES: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    458.0,
    2**53 + 1,
    2**63,
    2**64 + 7,
    -(2**63) - 1,
    "",
    "458",
    "x" * 300,
    "\u0000\ud7ff\u2028",
    [],
    [1, "a"],
    {},
    {"janus": "success"},
)
UNKNOWN_TYPES = ("brand-new", "", "ACK", "Success", "success ", "event\u0000", "pong2", "x" * 200)
#: Fields the library itself reads (half of the type mutations land on one of them).
READ_BY_THE_CLIENT = frozenset(
    (
        "janus",
        "transaction",
        "session_id",
        "sender",
        "id",
        "data",
        "plugindata",
        "plugin",
        "error",
        "code",
        "reason",
        "error_code",
        "jsep",
        "session-timeout",
        "reclaim-session-timeout",
        "version",
        "version_string",
        "sessions",
        "handles",
        "list",
        "room",
        "exists",
    )
)
FLOOD_TYPES = ("event", "ack", "success", "webrtcup", "media", "slowlink", "hangup", "trickle")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON value (dict keys and list indices), the root excluded."""
    paths: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            paths.append((*prefix, key))
            paths.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:8]):
            paths.append((*prefix, index))
            paths.extend(_paths(child, (*prefix, index)))
    return paths


def _parent(message: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        message = message[key]
    return message


def _pick(rng: random.Random, replies: list[Reply]) -> int:
    return rng.randrange(len(replies))


def _ids(replies: list[Reply]) -> tuple[Any, Any, Any]:
    """The transaction, session and handle of the exchange (from its replies)."""
    tx = sid = hid = None
    for reply in replies:
        tx = tx or reply.message.get("transaction")
        sid = sid or reply.message.get("session_id")
        hid = hid or reply.message.get("sender")
    return tx, sid, hid


def _odd(rng: random.Random, old: Any) -> Any:
    choices = [v for v in ODD_VALUES if type(v) is not type(old)]
    return copy.deepcopy(rng.choice(choices))


def _garble(rng: random.Random, data: bytes, log: Log) -> bytes:
    how = rng.choice(
        ("flip", "insert", "delete", "truncate", "garbage", "utf8", "nan", "deep", "huge", "dupkey")
    )
    log.append(f"bytes:{how}")
    if how == "flip" and data:
        index = rng.randrange(len(data))
        return data[:index] + bytes([data[index] ^ rng.randint(1, 255)]) + data[index + 1 :]
    if how == "insert":
        index = rng.randrange(len(data) + 1)
        return data[:index] + rng.randbytes(rng.randint(1, 8)) + data[index:]
    if how == "delete" and data:
        index = rng.randrange(len(data))
        return data[:index] + data[index + rng.randint(1, 16) :]
    if how == "truncate":
        return data[: rng.randrange(len(data) + 1)]
    if how == "garbage":
        return rng.randbytes(rng.randint(0, 64))
    if how == "utf8":
        return data[:-1] + b"\xff\xfe\xc3" + data[-1:]
    if how == "nan":
        return data.replace(b'"janus"', b'"nan": NaN, "inf": 1e99999, "janus"', 1)
    if how == "deep":
        depth = rng.choice((200, 5000))
        return data.replace(b"{", b'{"deep": ' + b"[" * depth + b"]" * depth + b",", 1)
    if how == "huge":
        return data.replace(b"{", b'{"big": 1' + b"0" * 400 + b",", 1)
    return data.replace(b'"janus"', b'"janus": "error", "janus"', 1)  # dupkey


def _bytes(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    plan = normal_plan(replies)
    index = rng.randrange(len(plan.steps))
    plan.steps[index].data = _garble(rng, plan.steps[index].data, log)
    log.append(f"reply #{index}")
    return plan


def _json_type(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    index = _pick(rng, replies)
    message = replies[index].message
    paths = _paths(message)
    if not paths or rng.random() < 0.1:
        new = _odd(rng, message)
        log.append(f"reply #{index} whole message -> {new!r:.60}")
        return Plan([*normal_plan(replies[:index]).steps, Step("msg", encode(new))])
    read = [p for p in paths if p[-1] in READ_BY_THE_CLIENT]
    path = rng.choice(read if read and rng.random() < 0.5 else paths)
    parent = _parent(message, path)
    new = _odd(rng, parent[path[-1]])
    log.append(f"reply #{index} {'.'.join(map(str, path))} -> {new!r:.60}")
    parent[path[-1]] = new
    return normal_plan(replies)


def _json_field(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    index = _pick(rng, replies)
    message = replies[index].message
    dict_paths = [p for p in _paths(message) if isinstance(_parent(message, p), dict)]
    how = rng.choice(("delete", "delete", "add", "empty"))
    if how == "delete" and dict_paths:
        path = rng.choice(dict_paths)
        del _parent(message, path)[path[-1]]
        log.append(f"reply #{index} delete {'.'.join(map(str, path))}")
    elif how == "empty" and dict_paths:
        path = rng.choice(dict_paths)
        parent = _parent(message, path)
        parent[path[-1]] = {} if isinstance(parent[path[-1]], dict) else None
        log.append(f"reply #{index} empty {'.'.join(map(str, path))}")
    else:
        key = rng.choice(("plugindata", "jsep", "error", "data", "fuzz", "hint", "reason"))
        message[key] = _odd(rng, None)
        log.append(f"reply #{index} add {key}={message[key]!r:.60}")
    return normal_plan(replies)


def _unknown_type(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    tx, sid, hid = _ids(replies)
    name = rng.choice(UNKNOWN_TYPES)
    if rng.random() < 0.5:
        index = _pick(rng, replies)
        replies[index].message["janus"] = name
        log.append(f"reply #{index} janus -> {name!r}")
        return normal_plan(replies)
    extra = {"janus": name, "transaction": tx, "session_id": sid, "sender": hid}
    extra = {k: v for k, v in extra.items() if v is not None}
    count = rng.choice((1, 3, 50))
    log.append(f"{count} extra {name!r} messages before the replies")
    plan = normal_plan(replies)
    plan.steps[:0] = [Step("msg", encode(extra), "event") for _ in range(count)]
    return plan


def _wrong_id(rng: random.Random, replies: list[Reply], log: Log, recent: list[Any]) -> Plan:
    index = _pick(rng, replies)
    message = replies[index].message
    fields = [k for k in ("transaction", "session_id", "sender") if k in message]
    data = message.get("data")
    if isinstance(data, dict) and "id" in data:
        fields += ["data.id"] * 3  # the server-chosen id of create and attach
    if not fields:
        fields = ["transaction"]
    field = rng.choice(fields)
    old = data["id"] if field == "data.id" else message.get(field)
    new = rng.choice(
        (
            old + 1 if isinstance(old, int) else "fz-unknown",
            0,
            -1,
            -(2**53),
            2**53 + 1,
            2**63,
            2**64,
            2**64 + 1,
            "1234",
            str(old),
            1.0,
            1.5,
            True,
            None,
            "fz-unknown",
            "",
        )
    )
    others = [tx for tx in recent if tx != old]
    if field == "transaction" and others and rng.random() < 0.5:
        new = rng.choice(others)  # another request's transaction (one maybe still waiting)
    log.append(f"reply #{index} {field}: {old!r} -> {new!r}")
    if field == "data.id":
        data["id"] = new
    else:
        message[field] = new
    return normal_plan(replies)


def _error_code(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    tx, sid, _ = _ids(replies)
    code = rng.choice((458, 459, 460, 403, 490, 999, 0, -1, "458", 458.0, 458.5, None, [], {}))
    reason = rng.choice(("boom", "", None, 5, ["r"], "x" * 500))
    index = _pick(rng, replies)
    if rng.random() < 0.5 or "plugindata" not in replies[index].message:
        error: JsonDict = {"code": code, "reason": reason}
        for key in [k for k in ("code", "reason") if rng.random() < 0.15]:
            del error[key]
        message = {"janus": "error", "transaction": tx, "session_id": sid, "error": error}
        replies[index] = Reply({k: v for k, v in message.items() if v is not None})
        log.append(f"reply #{index} -> janus error {error!r:.80}")
    else:
        plugin_data = replies[index].message["plugindata"]
        plugin_data["data"] = {"error_code": code, "error": reason}
        log.append(f"reply #{index} plugin error_code={code!r} error={reason!r:.30}")
    return normal_plan(replies)


def _drop(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    if rng.random() < 0.2:
        log.append("every reply dropped")
        return Plan([])
    index = _pick(rng, replies)
    log.append(f"reply #{index} dropped")
    return normal_plan(replies[:index] + replies[index + 1 :])


def _duplicate(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    plan = normal_plan(replies)
    index = rng.randrange(len(plan.steps))
    times = rng.choice((1, 1, 5))
    extra = [Step("msg", plan.steps[index].data, plan.steps[index].channel)] * times
    if rng.random() < 0.3:
        extra.insert(0, Step("sleep", delay=rng.choice((0.01, 0.05))))
        plan.steps.extend(extra)
        log.append(f"reply #{index} repeated {times}x at the end, late")
    else:
        plan.steps[index + 1 : index + 1] = extra
        log.append(f"reply #{index} repeated {times}x")
    return plan


def _reorder(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    plan = normal_plan(replies)
    if rng.random() < 0.5:
        plan.steps.reverse()
    else:
        rng.shuffle(plan.steps)
    log.append(f"replies in order {[s.data[:40] for s in plan.steps]}")
    return plan


def _delay(rng: random.Random, replies: list[Reply], log: Log, timeout: float) -> Plan:
    plan = normal_plan(replies)
    index = rng.randrange(len(plan.steps) + 1)
    late = rng.random() < 0.2
    delay = rng.uniform(timeout * 1.1, timeout * 1.6) if late else rng.uniform(0, 0.03)
    plan.steps.insert(index, Step("sleep", delay=delay))
    log.append(f"sleep {delay:.3f}s before reply #{index}{' (past the deadline)' if late else ''}")
    return plan


def _flood(rng: random.Random, replies: list[Reply], log: Log, kind: str) -> Plan:
    tx, sid, hid = _ids(replies)
    count = rng.choice((10, 100, 1000, 3000) if kind == "ws" else (10, 50, 200))
    own = rng.random() < 0.5  # events for this session's own handle, or for strangers
    flood: list[Step] = []
    for n in range(count):
        janus = rng.choice(FLOOD_TYPES)
        message: JsonDict = {"janus": janus, "session_id": sid if own else 7_000_001 + n % 7}
        if own and hid is not None:
            message["sender"] = hid
        elif rng.random() < 0.7:
            message["sender"] = 9_000_001 + n
        if janus in ("ack", "success") or rng.random() < 0.2:
            message["transaction"] = f"fz-stray-{n}" if rng.random() < 0.9 else tx
        if janus == "event":
            message["plugindata"] = {"plugin": "janus.plugin.echotest", "data": {"n": n}}
            if own and rng.random() < 0.5:  # shaped like a plugin's own events, odd inside
                plugin = rng.choice(TYPED_PLUGINS)
                message["plugindata"] = {
                    "plugin": f"janus.plugin.{plugin}",
                    "data": _shaped(rng, plugin),
                }
        flood.append(Step("msg", encode(message), "event"))
    where = rng.choice(("before", "after", "between"))
    plan = normal_plan(replies)
    position = {"before": 0, "after": len(plan.steps)}.get(
        where, rng.randrange(len(plan.steps) + 1)
    )
    plan.steps[position:position] = flood
    log.append(f"{count} {'own' if own else 'stranger'} messages {where} the replies")
    return plan


#: Keys of the plugins' events (VideoRoom, AudioBridge, TextRoom...), for floods of "own" events.
EVENT_KEYS = (
    "publishers",
    "unpublished",
    "leaving",
    "configured",
    "started",
    "paused",
    "left",
    "moderation",
    "display",
    "id",
    "room",
    "result",
    "event",
    "error_code",
    "error",
    "streams",
    "private_id",
    "talking",
    "participants",
    "attendees",
    "kicked",
    "from",
    "text",
    "setup",
)
PLUGIN_KINDS = (
    "event",
    "joined",
    "attached",
    "updated",
    "destroyed",
    "talking",
    "slow_link",
    "left",
    "participants",
    "message",
    "announcement",
    "kicked",
)
#: The typed clients whose events the floods imitate (the key of their ``plugindata.data``).
TYPED_PLUGINS = ("videoroom", "audiobridge", "textroom", "echotest")


def _shaped(rng: random.Random, plugin: str = "videoroom") -> JsonDict:
    """A plugin event's data: a known kind under the ``plugin``'s key, known keys, any values."""
    data: JsonDict = {plugin: rng.choice((*PLUGIN_KINDS, *ODD_VALUES[:6]))}
    for key in rng.sample(EVENT_KEYS, rng.randint(1, 4)):
        data[key] = copy.deepcopy(rng.choice((*ODD_VALUES, "ok", [{"id": None}], {"event": 1})))
    return data


def _ending(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    """Janus ends the session (``timeout``) or the handle (``detached``, or ``hangup``) while
    the request is answered: before, between or after its replies."""
    _, sid, hid = _ids(replies)
    plan = normal_plan(replies)
    if sid is None:
        log.append("ending: no session in the answer, none ended")
        return plan
    ending: JsonDict = {"janus": "timeout", "session_id": sid}
    if hid is not None and rng.random() < 0.5:
        ending = {"janus": rng.choice(("detached", "hangup")), "session_id": sid, "sender": hid}
    index = rng.randrange(len(plan.steps) + 1)
    plan.steps.insert(index, Step("msg", encode(ending), "event"))
    log.append(f"{ending['janus']!r} for this session/handle before reply #{index}")
    return plan


def _close(rng: random.Random, replies: list[Reply], log: Log, kind: str) -> Plan:
    plan = normal_plan(replies)
    how = rng.choice(
        {"ws": ("abort", "eof", "ws-close"), "http": ("abort", "after")}.get(kind, ("close",))
    )
    code = rng.choice((1000, 1001, 1011, 4000, 1005, 999, 5000))
    index = rng.randrange(len(plan.steps) + 1)
    partial: list[Step] = []
    if index < len(plan.steps) and rng.random() < 0.3:
        data = plan.steps[index].data
        cut = frame(0x1, data)[: rng.randrange(1, len(data) + 2)] if kind == "ws" else b""
        partial = [Step("raw", cut)] if cut else []
    plan.steps[index:] = [*partial, Step("close", how=how, code=code)]
    log.append(f"close ({how}{f' {code}' if how == 'ws-close' else ''}) before reply #{index}")
    return plan


#: Fields of the typed plugin clients' replies (VideoRoom, AudioBridge, TextRoom, EchoTest).
PLUGIN_FIELDS = (
    "videoroom",
    "audiobridge",
    "textroom",
    "echotest",
    "room",
    "id",
    "private_id",
    "exists",
    "list",
    "participants",
    "publishers",
    "attendees",
    "result",
    "permanent",
    "error_code",
    "error",
    "leaving",
    "left",
    "joined",
)
#: What a huge list is filled with (entries of the right and of every wrong shape).
LIST_ITEMS: tuple[Any, ...] = (
    {"room": 1, "description": "r"},
    {"id": 1, "display": "d"},
    {},
    None,
    1,
    "x",
    [],
    {"id": None, "display": 5, "streams": {}},
)


def _plugindata(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    """Mutate a plugin reply's ``plugindata.data``: a typed client's field of a wrong type,
    missing or huge (lists of 20,000 entries, a 1 MiB string), the plugin's name or its verb
    wrong (an answer in another plugin's shape). No plugin reply: a ``json_type`` mutation."""
    with_data = [
        i
        for i, r in enumerate(replies)
        if isinstance(r.message.get("plugindata"), dict)
        and isinstance(r.message["plugindata"].get("data"), dict)
    ]
    if not with_data:
        log.append("plugindata: no plugin reply, json_type instead")
        return _json_type(rng, replies, log)
    index = rng.choice(with_data)
    plugindata = replies[index].message["plugindata"]
    data = plugindata["data"]
    how = rng.choice(("type", "type", "missing", "huge-list", "huge-string", "plugin", "verb"))
    present = [k for k in data if k in PLUGIN_FIELDS]
    key = rng.choice(present) if present and rng.random() < 0.7 else rng.choice(PLUGIN_FIELDS)
    if how == "type":
        data[key] = _odd(rng, data.get(key))
        log.append(f"reply #{index} plugindata.data.{key} -> {data[key]!r:.60}")
    elif how == "missing":
        data.pop(key, None)
        log.append(f"reply #{index} plugindata.data.{key} removed")
    elif how == "huge-list":
        item = rng.choice(LIST_ITEMS)
        data[key] = [copy.deepcopy(item) for _ in range(20_000)]
        log.append(f"reply #{index} plugindata.data.{key} -> 20000 x {item!r:.40}")
    elif how == "huge-string":
        data[key] = "z" * (1 << 20)
        log.append(f"reply #{index} plugindata.data.{key} -> a 1 MiB string")
    elif how == "plugin":
        plugindata["plugin"] = rng.choice(("janus.plugin.videoroom", "janus.plugin.textroom", 5))
        log.append(f"reply #{index} plugindata.plugin -> {plugindata['plugin']!r}")
    else:
        verb = rng.choice(("videoroom", "audiobridge", "textroom", "echotest"))
        data.clear()
        data[verb] = rng.choice(("event", "success", "joined", "error", "destroyed", None))
        log.append(f"reply #{index} plugindata.data -> {data!r:.60}")
    return normal_plan(replies)


def _packets(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    """Break the one-message-per-packet rule: an empty packet, a message cut in two packets,
    every message in one packet, a packet larger than the client reads (300 KiB)."""
    plan = normal_plan(replies)
    how = rng.choice(("empty", "split", "coalesce", "huge", "nul"))
    index = rng.randrange(len(plan.steps)) if plan.steps else 0
    if how == "empty":
        plan.steps.insert(index, Step("raw", b""))
    elif how == "split" and plan.steps:
        data = plan.steps[index].data
        cut = rng.randrange(1, max(2, len(data)))
        plan.steps[index : index + 1] = [Step("raw", data[:cut]), Step("raw", data[cut:])]
    elif how == "coalesce" and plan.steps:
        glue = rng.choice((b"", b"\n", b"\0"))
        plan.steps = [Step("raw", glue.join(s.data for s in plan.steps if s.op == "msg"))]
    elif how == "nul" and plan.steps:  # pfunix's buffers are C strings
        plan.steps[index].data += b"\0garbage"
    else:
        filler = encode({"janus": "event", "pad": "p" * (300 * 1024)})
        plan.steps.insert(index, Step("raw", filler))
    log.append(f"packets:{how} at #{index}")
    return plan


def _frames(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    plan = normal_plan(replies)
    how = rng.choice(("fragment", "coalesce", "empty", "pings"))
    log.append(f"frames:{how}")
    if how in ("fragment", "coalesce"):
        plan.ws_framing = how
    elif how == "empty":
        plan.steps.insert(0, Step("raw", frame(0x1, b"")))
    else:
        ping = Step("raw", frame(rng.choice((0x9, 0xA)), rng.randbytes(rng.randint(0, 125))))
        plan.steps.insert(rng.randrange(len(plan.steps) + 1), ping)
    return plan


def _ws_protocol(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    bad = {
        "reserved-opcode": frame(0x3, b"x"),
        "rsv-bits": frame(0x1, b'{"janus":"pong"}', rsv=0b010),
        "masked": frame(0x1, b'{"janus":"pong"}', mask=True),
        "bad-utf8": frame(0x1, b'{"janus":"\xff"}'),
        "big-ping": frame(0x9, b"p" * 126),
        "orphan-continuation": frame(0x0, b"x"),
        "fragmented-ping": frame(0x9, b"p", fin=False),
        "text-inside-fragments": frame(0x1, b'{"a":', fin=False) + frame(0x1, b"1}"),
        "length-2^63": bytes([0x81, 127]) + (2**63).to_bytes(8, "big"),
        "close-1-byte": frame(0x8, b"\x03"),
        "close-bad-utf8": frame(0x8, b"\x03\xe8\xff"),
    }
    name = rng.choice(sorted(bad))
    plan = normal_plan(replies)
    plan.steps.insert(rng.randrange(len(plan.steps) + 1), Step("raw", bad[name]))
    log.append(f"ws_protocol:{name}")
    return plan


def _http_status(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    plan = normal_plan(replies)
    plan.http_status = rng.choice(
        (
            "500 Internal Server Error",
            "502 Bad Gateway",
            "503 Service Unavailable",
            "404 Not Found",
            "403 Forbidden",
            "400 Bad Request",
            "301 Moved Permanently",
            "204 No Content",
            "100 Continue",
            "999 Odd",
            "abc OK",
            "200",
            "200 OK\r\nX-Folded:\r\n continued",
        )
    )
    log.append(f"status {plan.http_status!r}")
    return plan


def _http_framing(rng: random.Random, replies: list[Reply], log: Log) -> Plan:
    plan = normal_plan(replies)
    how = rng.choice(
        (
            "chunked",
            "short-length",
            "long-length",
            "close-delimited",
            "bad-chunk",
            "trailing-bytes",
            "header-no-colon",
            "two-lengths",
            "huge-header",
            "gzip",
        )
    )
    headers = {
        "header-no-colon": b"X-Broken-Header\r\n",
        "two-lengths": b"Content-Length: 1\r\n",
        "huge-header": b"X-Big: " + b"a" * 100_000 + b"\r\n",
        "gzip": b"Content-Encoding: gzip\r\n",
    }
    if how in headers:
        plan.http_headers = headers[how]
    else:
        plan.http_framing = how
    log.append(f"http_framing:{how}")
    return plan


def mutator(
    name: str,
    rng: random.Random,
    kind: str,
    timeout: float,
    log: Log,
    recent: Sequence[Any] = (),
) -> Callable[[list[Reply]], Plan]:
    """The mutation ``name`` of one answer; its choices come from ``rng`` and go to ``log``."""

    def mutate(replies: list[Reply]) -> Plan:
        replies = [Reply(copy.deepcopy(r.message), r.channel) for r in replies]
        log.append(f"target replies: {[r.message.get('janus') for r in replies]}")
        if name == "bytes":
            plan = _bytes(rng, replies, log)
        elif name == "json_type":
            plan = _json_type(rng, replies, log)
        elif name == "json_field":
            plan = _json_field(rng, replies, log)
        elif name == "unknown_type":
            plan = _unknown_type(rng, replies, log)
        elif name == "wrong_id":
            plan = _wrong_id(rng, replies, log, list(recent))
        elif name == "error_code":
            plan = _error_code(rng, replies, log)
        elif name == "drop":
            plan = _drop(rng, replies, log)
        elif name == "duplicate":
            plan = _duplicate(rng, replies, log)
        elif name == "reorder":
            plan = _reorder(rng, replies, log)
        elif name == "delay":
            plan = _delay(rng, replies, log, timeout)
        elif name == "flood":
            plan = _flood(rng, replies, log, kind)
        elif name == "ending":
            plan = _ending(rng, replies, log)
        elif name == "tcp":
            plan = normal_plan(replies)
            plan.tcp_split = True
            log.append("tcp: random segments")
        elif name == "close":
            plan = _close(rng, replies, log, kind)
        elif name == "frames":
            plan = _frames(rng, replies, log)
        elif name == "ws_protocol":
            plan = _ws_protocol(rng, replies, log)
        elif name == "http_status":
            plan = _http_status(rng, replies, log)
        elif name == "http_framing":
            plan = _http_framing(rng, replies, log)
        elif name == "plugindata":
            plan = _plugindata(rng, replies, log)
        elif name == "packets":
            plan = _packets(rng, replies, log)
        else:
            raise ValueError(f"unknown mutation class {name!r}")
        plan.rng = random.Random(rng.random())
        return plan

    return mutate


def unsolicited(rng: random.Random, kind: str, session_id: Any, handle_id: Any, log: Log) -> Plan:
    """Messages pushed at a random moment, answering nothing (WebSocket, the packet kinds)."""
    replies = [
        Reply(
            {
                "janus": rng.choice((*FLOOD_TYPES, *UNKNOWN_TYPES, "timeout", "detached")),
                "session_id": rng.choice((session_id, 1, 0, "1", None)),
                "sender": rng.choice((handle_id, 2, None)),
            },
            "event",
        )
    ]
    replies[0].message = {k: v for k, v in replies[0].message.items() if v is not None}
    log.append(f"unsolicited {json.dumps(replies[0].message)[:100]}")
    plan = _flood(rng, replies, log, kind) if rng.random() < 0.5 else normal_plan(replies)
    plan.rng = random.Random(rng.random())
    return plan
