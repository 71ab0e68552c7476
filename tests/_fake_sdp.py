"""Hand-written SDP offers/answers, so plugin signalling can be tested against the real Janus
without a WebRTC stack (no media ever flows; ICE simply never connects).

Rule: test helper only — these SDPs are syntactically valid for Janus's parser, nothing more.
"""

from __future__ import annotations

import re
import secrets
from typing import Any


def _fingerprint() -> str:
    return ":".join(f"{byte:02X}" for byte in secrets.token_bytes(32))


def _transport_lines(ufrag: str, pwd: str, setup: str, mid: str) -> list[str]:
    return [
        f"a=ice-ufrag:{ufrag}",
        f"a=ice-pwd:{pwd}",
        f"a=fingerprint:sha-256 {_fingerprint()}",
        f"a=setup:{setup}",
        f"a=mid:{mid}",
    ]


def offer(audio: bool = True, video: bool = True, direction: str = "sendonly") -> dict[str, Any]:
    """A bundled Opus/VP8 offer (``direction`` of every m-line)."""
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    mids: list[str] = []
    media: list[str] = []
    for enabled, kind, payload, rtpmap in (
        (audio, "audio", 111, "opus/48000/2"),
        (video, "video", 96, "VP8/90000"),
    ):
        if not enabled:
            continue
        mid = str(len(mids))
        mids.append(mid)
        media += [
            f"m={kind} 9 UDP/TLS/RTP/SAVPF {payload}",
            "c=IN IP4 0.0.0.0",
            "a=rtcp:9 IN IP4 0.0.0.0",
            *_transport_lines(ufrag, pwd, "actpass", mid),
            f"a={direction}",
            "a=rtcp-mux",
            f"a=rtpmap:{payload} {rtpmap}",
            f"a=ssrc:{secrets.randbelow(2**31)} cname:fake",
        ]
    session = [
        "v=0",
        f"o=- {secrets.randbelow(10**12)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE " + " ".join(mids),
        "a=msid-semantic: WMS *",
    ]
    return {"type": "offer", "sdp": "\r\n".join(session + media) + "\r\n"}


def answer(remote_offer: dict[str, Any], direction: str = "recvonly") -> dict[str, Any]:
    """An answer accepting every m-line of ``remote_offer`` (first codec of each)."""
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    sections = re.split(r"\r\n(?=m=)", str(remote_offer["sdp"]).strip())[1:]
    mids: list[str] = []
    media: list[str] = []
    for section in sections:
        lines = section.split("\r\n")
        kind, _port, proto, *formats = lines[0][2:].split()
        mid = next((line[6:] for line in lines if line.startswith("a=mid:")), str(len(mids)))
        mids.append(mid)
        if kind == "application":
            media += [f"m=application 9 {proto} {' '.join(formats)}", "c=IN IP4 0.0.0.0"]
            media += [line for line in lines if line.startswith("a=sctp-port")]
        else:
            payload = formats[0]
            media += [f"m={kind} 9 {proto} {payload}", "c=IN IP4 0.0.0.0"]
            media += [line for line in lines if line.startswith(f"a=rtpmap:{payload} ")]
            media += [f"a={direction}", "a=rtcp-mux"]
        media += _transport_lines(ufrag, pwd, "active", mid)
    session = [
        "v=0",
        f"o=- {secrets.randbelow(10**12)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE " + " ".join(mids),
    ]
    return {"type": "answer", "sdp": "\r\n".join(session + media) + "\r\n"}
