"""PeerConnection helpers shared by the plugin handles (the ``media`` extra: aiortc).

It also holds ``MediaKind``.

Rule: importing this module imports neither aiortc nor PyAV. Each helper imports aiortc when it
is called and otherwise raises ``ImportError: … pip install janus-fast[media]``, so
signalling-only code never pays for (or needs) a media stack. Trickle goes both ways: Janus's
``trickle`` candidates are parsed here for ``addIceCandidate``, and our own candidates are cut out
of a local description and sent as one ``trickle`` array when the caller asks for trickle.
"""

from __future__ import annotations

import enum
import importlib
import logging
from types import ModuleType
from typing import Any

from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.media")

JsonDict = dict[str, Any]

MEDIA_HINT = "pip install janus-fast[media]"


class MediaKind(enum.Enum):
    """janus-client's media kind (``janus_client.media.MediaKind``), usable without aiortc."""

    VIDEO = "video"
    AUDIO = "audio"


def import_aiortc(what: str = "WebRTC media") -> ModuleType:
    """Import ``aiortc`` on demand.

    Args:
        what: what needs it, for the error text.

    Returns:
        The ``aiortc`` module.

    Raises:
        ImportError: aiortc is not installed; the text names the extra to install.
    """
    try:
        return importlib.import_module("aiortc")
    except ImportError as exc:
        raise ImportError(f"{what} needs aiortc, which is not installed: {MEDIA_HINT}") from exc


def import_aiortc_media(what: str = "WebRTC media") -> ModuleType:
    """Import ``aiortc.contrib.media`` (``MediaPlayer``, ``MediaRecorder``) on demand.

    Args:
        what: what needs it, for the error text.

    Returns:
        The ``aiortc.contrib.media`` module.

    Raises:
        ImportError: aiortc is not installed; the text names the extra to install.
    """
    import_aiortc(what)
    return importlib.import_module("aiortc.contrib.media")


def new_peer_connection(config: Any) -> Any:
    """Create an ``RTCPeerConnection``.

    Args:
        config: an ``RTCConfiguration``, or None to keep aiortc's own default, which includes a
            public STUN server (as janus-client did); pass ``RTCConfiguration(iceServers=[])``
            to contact nothing but Janus.

    Returns:
        The new ``RTCPeerConnection``.

    Raises:
        ImportError: aiortc is not installed.
    """
    aiortc = import_aiortc("a PeerConnection")
    return aiortc.RTCPeerConnection(configuration=config)


def session_description(jsep: JsonDict) -> Any:
    """Build an ``RTCSessionDescription`` from a Janus jsep dict.

    Args:
        jsep: ``{"type": "offer"|"answer", "sdp": ...}``.

    Returns:
        The ``RTCSessionDescription``.

    Raises:
        ValueError: ``sdp`` or ``type`` is missing or not a string.
        ImportError: aiortc is not installed.
    """
    aiortc = import_aiortc("applying a JSEP")
    sdp, kind = jsep.get("sdp"), jsep.get("type")
    if not isinstance(sdp, str) or not isinstance(kind, str):
        raise ValueError("a JSEP needs string 'sdp' and 'type' fields")
    return aiortc.RTCSessionDescription(sdp=sdp, type=kind)


def local_jsep(pc: Any, trickle: bool = False, *, candidates: bool = True) -> JsonDict:
    """Return the local description as a Janus jsep (janus-client's ``create_jsep``).

    The SDP carries all our candidates (aiortc gathers before ``setLocalDescription``
    returns).

    Args:
        pc: the ``RTCPeerConnection``, after ``setLocalDescription``.
        trickle: the jsep's ``trickle`` flag.
        candidates: False leaves the candidates out of the SDP, for a caller that trickles
            them with ``local_candidates``.

    Returns:
        ``{"sdp", "trickle", "type"}``.

    Raises:
        RuntimeError: the PeerConnection has no local description yet.
    """
    description = pc.localDescription
    if description is None:
        raise RuntimeError("the PeerConnection has no local description yet")
    sdp: str = description.sdp if candidates else strip_candidates(description.sdp)
    return {"sdp": sdp, "trickle": trickle, "type": description.type}


def _is_candidate_line(line: str) -> bool:
    return line.startswith(("a=candidate:", "a=end-of-candidates"))


def strip_candidates(sdp: str) -> str:
    """Return ``sdp`` without its ``a=candidate`` and ``a=end-of-candidates`` lines."""
    lines = [line for line in sdp.split("\r\n") if not _is_candidate_line(line)]
    return "\r\n".join(lines)


def sdp_candidates(sdp: str) -> list[JsonDict]:
    """Extract the candidates of an SDP as Janus ``trickle`` entries.

    Args:
        sdp: a session description (CRLF line ends).

    Returns:
        One ``{"candidate", "sdpMLineIndex", "sdpMid"?}`` dict per ``a=candidate`` line, in
        order (``sdpMid`` when the m-section has an ``a=mid``).
    """
    entries: list[JsonDict] = []
    index = -1
    mid: str | None = None
    pending: list[str] = []

    def flush() -> None:
        for candidate in pending:
            entry: JsonDict = {"candidate": candidate, "sdpMLineIndex": index}
            if mid is not None:
                entry["sdpMid"] = mid
            entries.append(entry)
        pending.clear()

    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            flush()
            index += 1
            mid = None
        elif index >= 0 and line.startswith("a=mid:"):
            mid = line[len("a=mid:") :]
        elif index >= 0 and line.startswith("a=candidate:"):
            pending.append(line[len("a=") :])
    flush()
    return entries


def local_candidates(pc: Any) -> list[JsonDict]:
    """Return our gathered candidates (from the local description) as Janus trickle entries."""
    description = pc.localDescription
    return sdp_candidates(description.sdp) if description is not None else []


def remote_candidate(entry: JsonDict) -> Any:
    """Build an ``RTCIceCandidate`` from one Janus ``trickle`` entry.

    Args:
        entry: ``{"candidate", "sdpMid"?, "sdpMLineIndex"?}`` or ``{"completed": true}``.

    Returns:
        The candidate (on m-line 0 when the entry names neither mid nor index); None for
        end-of-candidates.

    Raises:
        ValueError: the entry is neither a candidate nor end-of-candidates.
        ImportError: aiortc is not installed.
    """
    if entry.get("completed") is True:
        return None
    import_aiortc("applying a trickled candidate")
    sdp_module = importlib.import_module("aiortc.sdp")
    text = entry.get("candidate")
    if not isinstance(text, str) or not text:
        raise ValueError("a trickle entry needs a 'candidate' string or 'completed': true")
    if text.startswith("candidate:"):
        text = text[len("candidate:") :]
    if len(text.split()) < 8:
        raise ValueError(f"not an ICE candidate: {text!r}")
    candidate = sdp_module.candidate_from_sdp(text)
    mid, index = entry.get("sdpMid"), entry.get("sdpMLineIndex")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0  # Janus bundles everything on the first m-line
    return candidate


def trickle_entries(message: JsonDict) -> list[JsonDict]:
    """Return the candidate entries of a Janus ``trickle`` event (``candidate``/``candidates``)."""
    single = message.get("candidate")
    if isinstance(single, dict):
        return [single]
    many = message.get("candidates")
    if isinstance(many, list):
        return [entry for entry in many if isinstance(entry, dict)]
    return []


async def add_remote_candidates(pc: Any, entries: list[JsonDict]) -> int:
    """Call ``addIceCandidate`` for each Janus trickle entry.

    Malformed entries are logged and skipped; a closed PeerConnection takes nothing.

    Args:
        pc: the ``RTCPeerConnection``.
        entries: Janus trickle entries (see ``trickle_entries``).

    Returns:
        How many entries were applied.
    """
    applied = 0
    for entry in entries:
        if pc.signalingState == "closed":
            break
        try:
            candidate = remote_candidate(entry)
        except (ValueError, TypeError) as exc:
            logger.warning("ignoring a trickled candidate: %s", exc, extra=log_fields())
            continue
        await pc.addIceCandidate(candidate)
        applied += 1
    return applied
