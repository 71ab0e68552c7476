"""Capture what a real Janus sends into ``rust/proto/tests/fixtures/``.

Usage: ``python scripts/capture_fixtures.py`` (needs the janus binary; takes ~10 s).

Rule: every fixture is the exact bytes a real Janus 1.1.2 sent — one WebSocket message payload or
HTTP response body per ``NN-<what>.json`` file, plus ``ws-stream.bin``, the raw server side of one
WebSocket connection from the ``101`` response to the TCP close. Nothing is edited or re-indented.
Tests read the committed files and never need Janus. Re-running replaces every fixture: ids, SDP
details and private ids change, the facts the tests assert (types, transactions, error codes,
routing) do not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import websockets
from websockets.typing import Subprotocol

from janus_fast import _core
from janus_fast._compat import timeout
from janus_fast.testing import JanusServer
from janus_fast.testing.config import JanusConfig

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "rust" / "proto" / "tests" / "fixtures"
#: Seed of the client whose handshake key and transaction ids the raw stream uses
#: (``WsJanusConnection::new(config, JanusCoreConfig::default(), WS_SEED)`` reproduces both).
WS_SEED = b"janus_fast fixture seed 00000001"
#: Masking key of the raw client's frames (any key is valid; fixed for reproducible requests).
MASK = b"\x37\xfa\x21\x3d"
SUBPROTOCOL = Subprotocol("janus-protocol")
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MISSING_ROOM = 987654321
TIMEOUT = 10.0
#: Seconds between the JSEP answer and the detach, so the echotest's PeerConnection exists.
ICE_SETTLE = 1.0
DETACH_ATTEMPTS = 8
JsonDict = dict[str, Any]


def offer_sdp() -> str:
    """A browser-like offer (audio, two videos, data channel) Janus's echotest answers (~3 KB)."""
    fingerprint = ":".join(f"{(i * 37 + 11) % 256:02X}" for i in range(32))
    common = [
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Fx3k",
        "a=ice-pwd:0123456789abcdefABCDEFgh",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:actpass",
    ]

    def video(mid: int, pt: int, ssrc: int) -> list[str]:
        rtx = pt + 1
        return [
            f"m=video 9 UDP/TLS/RTP/SAVPF {pt} {rtx}",
            *common,
            f"a=mid:{mid}",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            "a=sendrecv",
            f"a=msid:stream0 video{mid}",
            "a=rtcp-mux",
            "a=rtcp-rsize",
            f"a=rtpmap:{pt} VP8/90000",
            *(f"a=rtcp-fb:{pt} {fb}" for fb in ("goog-remb", "transport-cc", "ccm fir", "nack")),
            f"a=rtcp-fb:{pt} nack pli",
            f"a=rtpmap:{rtx} rtx/90000",
            f"a=fmtp:{rtx} apt={pt}",
            f"a=ssrc-group:FID {ssrc} {ssrc + 1}",
            f"a=ssrc:{ssrc} cname:janusfastcapture",
            f"a=ssrc:{ssrc} msid:stream0 video{mid}",
            f"a=ssrc:{ssrc + 1} cname:janusfastcapture",
            f"a=ssrc:{ssrc + 1} msid:stream0 video{mid}",
        ]

    lines = [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1 2 3",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS stream0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
        *common,
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=sendrecv",
        "a=msid:stream0 audio0",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=ssrc:1001 cname:janusfastcapture",
        "a=ssrc:1001 msid:stream0 audio0",
        *video(1, 96, 2001),
        *video(2, 98, 3001),
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        *common[:1],
        *common[2:],
        "a=mid:3",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
    ]
    return "\r\n".join(lines) + "\r\n"


class Fixtures:
    """Writes fixture files and remembers what was written (for the README)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[tuple[str, int]] = []
        self.notes: dict[str, str] = {}

    def clear(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for pattern in ("*/*.json", "*.bin"):
            for path in self.folder.glob(pattern):
                path.unlink()

    def write(self, name: str, data: bytes) -> bytes:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.written.append((name, len(data)))
        return data


class Inbox:
    """Messages received on one connection, taken by what they are rather than by order."""

    def __init__(self, receive: Callable[[], Any]) -> None:
        self._receive = receive
        self._backlog: list[tuple[bytes, JsonDict]] = []

    async def take(self, janus: str, transaction: str | None = None, **match: Any) -> bytes:
        def fits(message: JsonDict) -> bool:
            if message.get("janus") != janus:
                return False
            if transaction is not None and message.get("transaction") != transaction:
                return False
            return all(message.get(key) == value for key, value in match.items())

        for i, (raw, message) in enumerate(self._backlog):
            if fits(message):
                del self._backlog[i]
                return raw
        try:
            async with timeout(TIMEOUT):
                while True:
                    raw = await self._receive()
                    message = json.loads(raw)
                    if fits(message):
                        return bytes(raw)
                    self._backlog.append((bytes(raw), message))
        except asyncio.TimeoutError:
            seen = [(m.get("janus"), m.get("transaction")) for _, m in self._backlog]
            raise TimeoutError(f"no {janus} {transaction} {match} (unclaimed: {seen})") from None

    async def settle(self, quiet: float = 1.0) -> list[tuple[bytes, JsonDict]]:
        """Everything unclaimed once nothing arrived for ``quiet`` seconds (and forget it)."""
        while True:
            try:
                raw = await asyncio.wait_for(self._receive(), quiet)
            except asyncio.TimeoutError:
                break
            self._backlog.append((bytes(raw), json.loads(raw)))
        backlog, self._backlog = self._backlog, []
        return backlog


def ids(raw: bytes) -> int:
    """``data.id`` of a create/attach success."""
    value: int = json.loads(raw)["data"]["id"]
    return value


# -- per-message captures over the websockets library -------------------------------------------
async def capture_ws_messages(url: str, out: Fixtures, folder: str) -> None:
    """One file per message: core requests, echotest, videoroom, core errors, detach sequence."""
    async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:
        inbox = Inbox(lambda: ws.recv(decode=False))
        compact = folder == "compact"

        async def send(body: JsonDict) -> None:
            await ws.send(json.dumps(body))

        async def save(name: str, janus: str, transaction: str | None, **match: Any) -> bytes:
            return out.write(f"{folder}/{name}.json", await inbox.take(janus, transaction, **match))

        await send({"janus": "info", "transaction": "cap-info"})
        await save("01-server_info", "server_info", "cap-info")
        await send({"janus": "ping", "transaction": "cap-ping"})
        await save("02-pong", "pong", "cap-ping")
        await send({"janus": "create", "transaction": "cap-create"})
        session = ids(await save("03-create-success", "success", "cap-create"))
        await send(
            {
                "janus": "attach",
                "session_id": session,
                "plugin": "janus.plugin.echotest",
                "transaction": "cap-attach",
            }
        )
        echo = ids(await save("04-attach-echotest-success", "success", "cap-attach"))
        await send({"janus": "keepalive", "session_id": session, "transaction": "cap-keepalive"})
        await save("05-keepalive-ack", "ack", "cap-keepalive")
        message = {"janus": "message", "session_id": session, "handle_id": echo}
        await send({**message, "transaction": "cap-echo", "body": {"audio": True, "video": True}})
        await save("06-echotest-message-ack", "ack", "cap-echo")
        await save("07-echotest-event", "event", "cap-echo")
        offer = {"type": "offer", "sdp": offer_sdp()}
        await send({**message, "transaction": "cap-jsep", "body": {"audio": True}, "jsep": offer})
        await save("08-echotest-jsep-ack", "ack", "cap-jsep")
        jsep_event = await save("09-echotest-jsep-event", "event", "cap-jsep")
        if len(jsep_event) < 2500:
            print(f"warning: the JSEP event is only {len(jsep_event)} bytes", file=sys.stderr)

        videoroom = {"janus": "attach", "session_id": session, "plugin": "janus.plugin.videoroom"}
        await send({**videoroom, "transaction": "cap-attach-vr"})
        room = ids(await save("10-attach-videoroom-success", "success", "cap-attach-vr"))
        to_room = {"janus": "message", "session_id": session, "handle_id": room}
        await send({**to_room, "transaction": "cap-list", "body": {"request": "list"}})
        await save("11-videoroom-list-success", "success", "cap-list")
        await send(
            {**to_room, "transaction": "cap-exists", "body": {"request": "exists", "room": 1234}}
        )
        await save("12-videoroom-exists-success", "success", "cap-exists")
        join = {"request": "join", "ptype": "publisher", "room": 1234, "display": "capture"}
        await send({**to_room, "transaction": "cap-join", "body": join})
        await save("13-videoroom-join-ack", "ack", "cap-join")
        await save("14-videoroom-joined-event", "event", "cap-join")
        destroy = {"request": "destroy", "room": MISSING_ROOM}
        await send({**to_room, "transaction": "cap-destroy-room", "body": destroy})
        await save("15-videoroom-destroy-error-426", "success", "cap-destroy-room")

        await send({"janus": "keepalive", "session_id": 1, "transaction": "cap-458"})
        await save("16-error-458-no-session", "error", "cap-458")
        no_handle = {"janus": "message", "session_id": session, "handle_id": 1, "body": {}}
        await send({**no_handle, "transaction": "cap-459"})
        await save("17-error-459-no-handle", "error", "cap-459")
        nope = {"janus": "attach", "session_id": session, "plugin": "janus.plugin.nope"}
        await send({**nope, "transaction": "cap-460"})
        await save("18-error-460-no-plugin", "error", "cap-460")
        await send({"janus": "attach", "session_id": session, "transaction": "cap-456"})
        await save("19-error-456-missing-element", "error", "cap-456")

        if not compact:
            await capture_detach(send, inbox, out, session, echo)
        await send({"janus": "destroy", "session_id": session, "transaction": "cap-destroy"})
        await save("23-destroy-success", "success", "cap-destroy")


async def capture_detach(
    send: Callable[[JsonDict], Any], inbox: Inbox, out: Fixtures, session: int, handle: int
) -> None:
    """Detach an echotest handle with a negotiated PeerConnection: ``success``, the plugin's
    ``done`` event and ``detached``. Janus races the three (and skips the event when the detach
    beats the PeerConnection setup), so retry on fresh handles until all three came."""
    await inbox.settle(0.2)
    for attempt in range(DETACH_ATTEMPTS):
        if attempt:
            attach = {"janus": "attach", "session_id": session, "plugin": "janus.plugin.echotest"}
            await send({**attach, "transaction": f"cap-attach-{attempt}"})
            handle = ids(await inbox.take("success", f"cap-attach-{attempt}"))
            offer = {"type": "offer", "sdp": offer_sdp()}
            message = {"janus": "message", "session_id": session, "handle_id": handle}
            await send({**message, "transaction": f"cap-jsep-{attempt}", "body": {}, "jsep": offer})
            await inbox.take("event", f"cap-jsep-{attempt}")
        await asyncio.sleep(ICE_SETTLE)
        detach = {"janus": "detach", "session_id": session, "handle_id": handle}
        await send({**detach, "transaction": "cap-detach"})
        got = await inbox.settle()
        wanted = {
            "success": [raw for raw, m in got if m.get("transaction") == "cap-detach"],
            "event": [
                raw for raw, m in got if m.get("janus") == "event" and m.get("sender") == handle
            ],
            "detached": [raw for raw, m in got if m.get("janus") == "detached"],
        }
        if all(len(found) == 1 for found in wanted.values()):
            out.write("ws/20-detach-success.json", wanted["success"][0])
            out.write("ws/21-detach-event.json", wanted["event"][0])
            out.write("ws/22-detached.json", wanted["detached"][0])
            order = [m["janus"] for _, m in got if m.get("janus") in wanted]
            out.notes["detach_order"] = ", ".join(order)
            return
    raise RuntimeError(f"no detach sequence with the plugin event in {DETACH_ATTEMPTS} attempts")


async def capture_timeout(url: str, out: Fixtures) -> None:
    """A session left alone on a ``session_timeout=2`` instance gets ``janus: timeout``."""
    async with websockets.connect(url, subprotocols=[SUBPROTOCOL]) as ws:
        inbox = Inbox(lambda: ws.recv(decode=False))
        await ws.send(json.dumps({"janus": "create", "transaction": "cap-create"}))
        session = ids(await inbox.take("success", "cap-create"))
        out.write("ws/24-session-timeout.json", await inbox.take("timeout", session_id=session))


# -- HTTP ---------------------------------------------------------------------------------------
async def capture_http(base: str, out: Fixtures) -> None:
    """Request/response bodies and a ``maxev=10`` long poll answered with an array."""
    async with aiohttp.ClientSession() as http:

        async def post(url: str, body: JsonDict, name: str) -> bytes:
            async with http.post(url, data=json.dumps(body)) as response:
                data = await response.read()
            return out.write(f"http/{name}.json", data)

        session = ids(
            await post(base, {"janus": "create", "transaction": "h-create"}, "01-create-success")
        )
        attach = {"janus": "attach", "plugin": "janus.plugin.echotest", "transaction": "h-attach"}
        handle = ids(await post(f"{base}/{session}", attach, "02-attach-success"))
        for i in range(4):
            body = {"janus": "message", "transaction": f"h-msg{i}", "body": {"audio": True}}
            url = f"{base}/{session}/{handle}"
            if i == 0:
                await post(url, body, "03-message-ack")
            else:
                async with http.post(url, data=json.dumps(body)) as response:
                    await response.read()
        events: list[Any] = []
        data = b""
        async with timeout(TIMEOUT):
            while len(events) < 4:
                await asyncio.sleep(0.2)
                async with http.get(f"{base}/{session}?maxev=10") as response:
                    data = await response.read()
                events = json.loads(data)
                if not isinstance(events, list) or len(events) < 4:
                    raise RuntimeError(f"long poll did not return the 4 events at once: {data!r}")
        out.write("http/04-longpoll-array.json", data)
        await post(f"{base}/1", {"janus": "keepalive", "transaction": "h-458"}, "05-error-458")


# -- the raw stream -----------------------------------------------------------------------------
def upgrade_key() -> tuple[str, list[str]]:
    """The handshake key and the first transaction ids of a core seeded with ``WS_SEED``."""
    probe = _core.WebSocketConnection("localhost", "/", seed=WS_SEED)
    request = probe.data_to_send()
    found = re.search(rb"Sec-WebSocket-Key: ([A-Za-z0-9+/=]+)\r\n", request)
    assert found is not None, request
    transactions = [probe.register(None, _core.Expect.ANY) for _ in range(9)]
    return found.group(1).decode(), transactions


class RawWebSocket:
    """A minimal RFC 6455 client on asyncio streams that records every byte the server sent."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.raw = bytearray()
        self._buffer = bytearray()

    async def _more(self) -> bool:
        data = await self.reader.read(65536)
        self.raw += data
        self._buffer += data
        return bool(data)

    async def handshake(self, host: str, key: str) -> None:
        self.writer.write(
            (
                f"GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: janus-protocol\r\n\r\n"
            ).encode()
        )
        while b"\r\n\r\n" not in self._buffer:
            if not await self._more():
                raise RuntimeError("connection closed during the handshake")
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if not head.startswith(b"HTTP/1.1 101") or accept.encode() not in head:
            raise RuntimeError(f"unexpected handshake response {head!r}")
        self._buffer = bytearray(rest)

    def send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + MASK + masked)

    def send_json(self, body: JsonDict) -> None:
        self.send(0x1, json.dumps(body).encode())

    async def recv(self) -> tuple[int, bytes]:
        """The next complete message (continuations joined); control frames returned as is."""
        parts: list[bytes] = []
        first_opcode = 0
        while True:
            buf = self._buffer
            if len(buf) >= 2:
                fin, opcode, n, start = buf[0] & 0x80, buf[0] & 0x0F, buf[1] & 0x7F, 2
                if buf[1] & 0x80:
                    raise RuntimeError("server frames must not be masked")
                if n == 126 and len(buf) >= 4:
                    n, start = struct.unpack_from("!H", buf, 2)[0], 4
                elif n == 127 and len(buf) >= 10:
                    n, start = struct.unpack_from("!Q", buf, 2)[0], 10
                if (n < 126 or start > 2) and len(buf) >= start + n:
                    payload = bytes(buf[start : start + n])
                    del buf[: start + n]
                    if opcode >= 0x8:
                        return opcode, payload
                    first_opcode = first_opcode or opcode
                    parts.append(payload)
                    if fin:
                        return first_opcode, b"".join(parts)
                    continue
            if not await self._more():
                raise RuntimeError("connection closed in the middle of a frame")

    async def recv_text(self) -> bytes:
        while True:
            opcode, payload = await self.recv()
            if opcode == 0x1:
                return payload

    async def until_eof(self) -> None:
        async with timeout(TIMEOUT):
            while await self._more():
                pass


async def capture_ws_stream(host: str, port: int, out: Fixtures) -> tuple[str, list[str]]:
    """Run the scenario documented in the README on a raw connection; save what the server sent."""
    key, tx = upgrade_key()
    reader, writer = await asyncio.open_connection(host, port)
    ws = RawWebSocket(reader, writer)
    try:
        await ws.handshake(f"{host}:{port}", key)
        inbox = Inbox(ws.recv_text)
        ws.send_json({"janus": "ping", "transaction": tx[0]})
        await inbox.take("pong", tx[0])
        ws.send_json({"janus": "create", "transaction": tx[1]})
        session = ids(await inbox.take("success", tx[1]))
        attach = {"janus": "attach", "session_id": session, "plugin": "janus.plugin.echotest"}
        ws.send_json({**attach, "transaction": tx[2]})
        handle = ids(await inbox.take("success", tx[2]))
        ws.send_json({"janus": "keepalive", "session_id": session, "transaction": tx[3]})
        await inbox.take("ack", tx[3])
        ws.send(0x9, b"fixture")  # a WebSocket ping: the server's pong frame is in the stream
        message = {"janus": "message", "session_id": session, "handle_id": handle}
        ws.send_json({**message, "transaction": tx[4], "body": {"audio": True}})
        await inbox.take("ack", tx[4])
        await inbox.take("event", tx[4])
        offer = {"type": "offer", "sdp": offer_sdp()}
        ws.send_json({**message, "transaction": tx[5], "body": {"audio": True}, "jsep": offer})
        await inbox.take("ack", tx[5])
        await inbox.take("event", tx[5])
        nope = {"janus": "attach", "session_id": session, "plugin": "janus.plugin.nope"}
        ws.send_json({**nope, "transaction": tx[6]})
        await inbox.take("error", tx[6])
        ws.send_json({**message, "janus": "detach", "transaction": tx[7]})
        await inbox.take("success", tx[7])
        await inbox.take("detached", None, sender=handle)
        late = await inbox.settle()  # the echotest's `done` event, when Janus sends it
        out.notes["stream_extra"] = "yes" if late else "no"
        ws.send_json({"janus": "destroy", "session_id": session, "transaction": tx[8]})
        await inbox.take("success", tx[8])
        ws.send(0x8, struct.pack("!H", 1000))
        while (await ws.recv())[0] != 0x8:
            pass
        await ws.until_eof()
    finally:
        writer.close()
    out.write("ws-stream.bin", bytes(ws.raw))
    out.notes["frames"] = describe_frames(bytes(ws.raw))
    return key, tx


def describe_frames(stream: bytes) -> str:
    """One line per server frame of a captured stream (for the README)."""
    names = {0x0: "continuation", 0x1: "text", 0x8: "close", 0x9: "ping", 0xA: "pong"}
    i = stream.index(b"\r\n\r\n") + 4
    lines = [f"    {i:5d} bytes  the 101 response"]
    while i < len(stream):
        fin, opcode, n, start = stream[i] >> 7, stream[i] & 0x0F, stream[i + 1] & 0x7F, 2
        if n == 126:
            n, start = struct.unpack_from("!H", stream, i + 2)[0], 4
        elif n == 127:
            n, start = struct.unpack_from("!Q", stream, i + 2)[0], 10
        payload = stream[i + start : i + start + n]
        what = ""
        if opcode == 0x1 and fin:
            message = json.loads(payload)
            what = f"{message['janus']} {message.get('transaction', '(no transaction)')}"
        elif opcode == 0x1:
            what = "first fragment of " + payload.split(b",", 1)[0].split(b":")[-1].strip().decode()
        elif opcode == 0x8:
            what = f"code {struct.unpack_from('!H', payload)[0]}"
        else:
            what = repr(payload[:20])
        lines.append(
            f"    {n:5d} bytes  {names.get(opcode, opcode)}{'' if fin else ' (FIN=0)'}  {what}"
        )
        i += start + n
    return "\n".join(lines)


README = """\
# Captured Janus fixtures

Written by `python scripts/capture_fixtures.py` from a real Janus ({version}); **do not edit by
hand** — re-run the script instead (ids, SDP details and private ids change on every run; the
facts the tests assert do not). Every file holds the exact bytes Janus sent.

- `ws/` — one WebSocket message per file (Janus's default indented JSON), requests sent with the
  `websockets` library; transactions are `cap-<what>`. `24-session-timeout.json` comes from a
  second instance with `session_timeout=2`. `20`–`22` are what a detach of an echotest handle with a
  negotiated PeerConnection produces: `success`, the plugin's `event` (`result: done`, no
  transaction) and `detached`. Janus races them; this capture received: {detach_order}.
- `compact/` — the same requests on an instance with `json = "compact"` (no detach sequence).
- `http/` — HTTP response bodies (aiohttp); `04-longpoll-array.json` is the answer to
  `GET /janus/<session>?maxev=10` after four async echotest messages: an array of four events.
- `ws-stream.bin` — everything the server sent on one WebSocket connection, from the
  `HTTP/1.1 101` response to the TCP close, as read from the socket by a plain asyncio client.

## The raw stream

The client sent its own upgrade request with the fixed key

    Sec-WebSocket-Key: {key}

which is the key `WsJanusConnection::new(config, JanusCoreConfig::default(), SEED)` (and
`_core.WebSocketConnection(..., seed=SEED)`) generates for

    SEED = {seed!r}

so a core built with that seed validates the captured `101` (`Sec-WebSocket-Accept: {accept}`).
The requests carry the transaction ids that core's generator issues, in order — register nine
waiters on it before feeding the stream and the replies complete them:

| # | transaction | request | expect | replies (server frames) |
|---|---|---|---|---|
| 1 | `{tx[0]}` | ping | PONG | pong |
| 2 | `{tx[1]}` | create | SUCCESS | success |
| 3 | `{tx[2]}` | attach echotest | SUCCESS | success |
| 4 | `{tx[3]}` | keepalive | ACK | ack |
| – | – | WebSocket ping `fixture` | – | pong frame (opcode 10) |
| 5 | `{tx[4]}` | message `{{"audio":true}}` | PLUGIN_MESSAGE | ack, event |
| 6 | `{tx[5]}` | message with a JSEP offer | PLUGIN_MESSAGE | ack, event with the answer (~3 KB) |
| 7 | `{tx[6]}` | attach janus.plugin.nope | SUCCESS | error 460 |
| 8 | `{tx[7]}` | detach | SUCCESS | success, detached (any order); `done` event: {stream_extra} |
| 9 | `{tx[8]}` | destroy | SUCCESS | success |
| – | – | close 1000 | – | close frame 1000, then TCP close |

Each step waited for its replies before the next was sent, so replies come in the order above,
except that within a step Janus races them: a plugin's event may come before its ack, `detached`
before or after the detach `success`. The frames of this capture (libwebsockets fragments the
largest message):

{frames}

## Files

| file | bytes |
|---|---|
{files}
"""


async def main() -> None:
    out = Fixtures(FIXTURES)
    out.clear()
    async with JanusServer(JanusConfig()) as janus:
        version = janus.info().get("version_string", "?")
        await capture_ws_messages(janus.ws_url, out, "ws")
        await capture_http(janus.http_url, out)
        host, port = janus.ws_url.removeprefix("ws://").rsplit(":", 1)
        key, tx = await capture_ws_stream(host, int(port), out)
    async with JanusServer(JanusConfig(json="compact")) as janus:
        await capture_ws_messages(janus.ws_url, out, "compact")
    async with JanusServer(JanusConfig(session_timeout=2)) as janus:
        await capture_timeout(janus.ws_url, out)
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    files = "\n".join(f"| `{name}` | {size} |" for name, size in sorted(out.written))
    readme = README.format(
        version=f"Janus {version}",
        key=key,
        seed=WS_SEED,
        accept=accept,
        tx=tx,
        files=files,
        **out.notes,
    )
    (FIXTURES / "README.md").write_text(readme)
    total = sum(size for _, size in out.written)
    print(f"wrote {len(out.written)} fixtures ({total} bytes) to {FIXTURES.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
