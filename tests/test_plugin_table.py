"""The request table in docs/plugins.md cannot drift from the code, the tests or Janus 1.1.2.

Rule: ``REFERENCE`` lists every request name of Janus 1.1.2's nine stock plugins (the
``strcasecmp(request_text, "...")`` branches of ``src/plugins/janus_*.c`` at tag v1.1.2; the
EchoTest has no ``request`` field, any message configures it, counted as ``configure``). Every row
of the table must name a method that exists on the plugin's public class and sends that request,
and a test that exists in tests/ and calls that method. ``python tests/test_plugin_table.py``
regenerates the table from the code and the tests.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Sequence
from pathlib import Path

import janus_fast.plugins as plugins

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "plugins.md"
START = "<!-- request-table:start -->"
END = "<!-- request-table:end -->"

# plugin: (doc name, public class, request names in Janus 1.1.2)
REFERENCE: dict[str, tuple[str, str, Sequence[str]]] = {
    "videoroom": (
        "VideoRoom",
        "JanusVideoRoomPlugin",
        [
            "add_remote_publisher",
            "allowed",
            "configure",
            "create",
            "destroy",
            "edit",
            "enable_recording",
            "exists",
            "join",
            "joinandconfigure",
            "kick",
            "leave",
            "list",
            "listforwarders",
            "listparticipants",
            "listremotes",
            "moderate",
            "pause",
            "publish",
            "publish_remotely",
            "remove_remote_publisher",
            "rtp_forward",
            "start",
            "stop_rtp_forward",
            "subscribe",
            "switch",
            "unpublish",
            "unpublish_remotely",
            "unsubscribe",
            "update",
            "update_remote_publisher",
        ],
    ),
    "audiobridge": (
        "AudioBridge",
        "JanusAudioBridgePlugin",
        [
            "allowed",
            "changeroom",
            "configure",
            "create",
            "destroy",
            "edit",
            "enable_mjrs",
            "enable_recording",
            "exists",
            "hangup",
            "is_playing",
            "join",
            "kick",
            "kick_all",
            "leave",
            "list",
            "listforwarders",
            "listparticipants",
            "mute",
            "mute_room",
            "play_file",
            "resetdecoder",
            "rtp_forward",
            "stop_file",
            "stop_rtp_forward",
            "unmute",
            "unmute_room",
        ],
    ),
    "streaming": (
        "Streaming",
        "JanusStreamingPlugin",
        [
            "configure",
            "create",
            "destroy",
            "disable",
            "edit",
            "enable",
            "info",
            "kick_all",
            "list",
            "pause",
            "recording",
            "start",
            "stop",
            "switch",
            "watch",
        ],
    ),
    "textroom": (
        "TextRoom",
        "JanusTextRoomPlugin",
        [
            "ack",
            "allowed",
            "announcement",
            "create",
            "destroy",
            "edit",
            "exists",
            "join",
            "kick",
            "leave",
            "list",
            "listparticipants",
            "message",
            "restart",
            "setup",
        ],
    ),
    "sip": (
        "SIP",
        "JanusSipPlugin",
        [
            "accept",
            "call",
            "decline",
            "dtmf_info",
            "hangup",
            "hold",
            "info",
            "message",
            "recording",
            "register",
            "reset",
            "subscribe",
            "transfer",
            "unhold",
            "unregister",
            "unsubscribe",
            "update",
        ],
    ),
    "recordplay": (
        "Record&Play",
        "JanusRecordPlayPlugin",
        ["configure", "list", "pause", "play", "record", "resume", "start", "stop", "update"],
    ),
    "videocall": (
        "VideoCall",
        "JanusVideoCallPlugin",
        ["accept", "call", "hangup", "list", "register", "set"],
    ),
    "nosip": ("NoSIP", "JanusNoSipPlugin", ["generate", "hangup", "process", "recording"]),
    "echotest": ("EchoTest", "JanusEchoTestPlugin", ("configure",)),
}
COUNTS = {
    "videoroom": 31,
    "audiobridge": 27,
    "streaming": 15,
    "textroom": 15,
    "sip": 17,
    "recordplay": 9,
    "videocall": 6,
    "nosip": 4,
    "echotest": 1,
}
# Requests a public method sends through a private helper: (plugin, request) -> helper name.
VIA_HELPER = {("textroom", "ack"): "_answer"}
# Requests with no request field in the body (the EchoTest takes any message as configure).
NO_REQUEST_FIELD = {("echotest", "configure")}
# Where one request has several senders, the one the table names.
PREFERRED = {
    ("videoroom", "start"): "start",
    ("streaming", "start"): "start",
    ("textroom", "list"): "list_rooms",
    ("textroom", "ack"): "setup",
    ("echotest", "configure"): "configure",
}
STATUSES = ("typed", "typed+media-tested", "raw only")


def _sends(plugin: str, request: str, method: object) -> bool:
    """True when ``method``'s source puts ``request`` in a request body."""
    if (plugin, request) in NO_REQUEST_FIELD:
        return True
    source = inspect.getsource(method)  # type: ignore[arg-type]
    helper = VIA_HELPER.get((plugin, request))
    if helper is not None:
        owner = getattr(plugins, REFERENCE[plugin][1])
        if f"self.{helper}(" not in source:
            return False
        source = inspect.getsource(getattr(owner, helper))
    pattern = r'"(?:request|textroom)":\s*"' + re.escape(request) + '"'
    return re.search(pattern, source) is not None


def _test_sources() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        text = path.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                found[(path.name, node.name)] = ast.get_source_segment(text, node) or ""
    return found


def _calls(source: str, method: str) -> bool:
    return re.search(r"\." + re.escape(method) + r"\(", source) is not None


def build_rows() -> list[tuple[str, str, str, str, str]]:
    """(plugin, request, method, status, test) for every request, found in the code and tests."""
    tests = _test_sources()
    rows = []
    for plugin, (name, cls_name, requests) in REFERENCE.items():
        cls = getattr(plugins, cls_name)
        senders: dict[str, str] = {}
        for attr in sorted(dir(cls)):
            member = getattr(cls, attr)
            if attr.startswith("_") or not inspect.iscoroutinefunction(member):
                continue
            for request in requests:
                if request not in senders and _sends(plugin, request, member):
                    senders[request] = attr
        senders.update({r: m for (p, r), m in PREFERRED.items() if p == plugin})
        for request in requests:
            method = senders.get(request)
            test = None
            if method is not None:
                order = (
                    f"test_media_{plugin}.py",
                    f"test_media_{plugin}_cascade.py",
                    f"test_plugin_{plugin}.py",
                )
                test = next(
                    (
                        (f, t)
                        for want in order
                        for (f, t), src in tests.items()
                        if f == want and _calls(src, method)
                    ),
                    None,
                )
            if method is None:
                rows.append((name, request, "—", "raw only", "—"))
                continue
            status = "typed+media-tested" if test and test[0].startswith("test_media_") else "typed"
            where = f"`{test[0]}::{test[1]}`" if test else "—"
            rows.append((name, request, f"`{cls_name}.{method}`", status, where))
    return rows


def render(rows: list[tuple[str, str, str, str, str]]) -> str:
    lines = [
        "| Plugin | Request | Typed method | Status | Test |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _doc_rows() -> list[list[str]]:
    text = DOC.read_text()
    assert START in text and END in text, "docs/plugins.md lost its request-table markers"
    table = text.split(START, 1)[1].split(END, 1)[0]
    rows = []
    for line in table.splitlines():
        if not line.startswith("| ") or line.startswith("| Plugin |") or line.startswith("| ---"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        rows.append(cells)
    return rows


def test_reference_counts() -> None:
    assert {p: len(set(r[2])) for p, r in REFERENCE.items()} == COUNTS
    assert sum(COUNTS.values()) == 125


def test_table_lists_every_request_once() -> None:
    by_name = {name: plugin for plugin, (name, _, _) in REFERENCE.items()}
    seen: dict[str, list[str]] = {plugin: [] for plugin in REFERENCE}
    for cells in _doc_rows():
        seen[by_name[cells[0]]].append(cells[1])
    for plugin, requests in seen.items():
        assert sorted(requests) == sorted(REFERENCE[plugin][2]), plugin
    assert sum(len(r) for r in seen.values()) == 125


def test_table_methods_exist_and_send_the_request() -> None:
    by_name = {name: plugin for plugin, (name, _, _) in REFERENCE.items()}
    for plugin_name, request, method, status, _ in _doc_rows():
        plugin = by_name[plugin_name]
        assert status in STATUSES, (request, status)
        if status == "raw only":
            assert method == "—"
            continue
        cls_name, _, attr = method.strip("`").partition(".")
        assert cls_name == REFERENCE[plugin][1], (plugin, request, method)
        member = getattr(getattr(plugins, cls_name), attr, None)
        assert member is not None, f"{method} does not exist"
        assert _sends(plugin, request, member), f"{method} does not send {request!r}"
        if (plugin, request) in NO_REQUEST_FIELD:
            assert attr == PREFERRED[(plugin, request)], (plugin, request, method)


def test_table_tests_exist_and_call_the_method() -> None:
    tests = _test_sources()
    for plugin_name, request, method, status, where in _doc_rows():
        if status == "raw only":
            continue
        file_name, _, test_name = where.strip("`").partition("::")
        source = tests.get((file_name, test_name))
        assert source is not None, f"{where} ({plugin_name} {request}) is not a test in tests/"
        attr = method.strip("`").partition(".")[2]
        assert _calls(source, attr), f"{where} does not call .{attr}()"
        assert (status == "typed+media-tested") == file_name.startswith("test_media_"), where


def main() -> None:
    """Rewrite the table in docs/plugins.md from the code and the tests."""
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(head + START + "\n\n" + render(build_rows()) + "\n\n" + END + tail)


if __name__ == "__main__":
    main()
