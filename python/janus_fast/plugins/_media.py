"""Lazy access to aiortc (the optional ``media`` extra) for the plugin clients.

Rule: nothing here imports aiortc or PyAV at module import time. A method that needs a
PeerConnection calls ``import_aiortc()`` first, which raises an ``ImportError`` telling the user to
install ``janus-fast[media]``; signalling-only code never reaches it.
"""

from __future__ import annotations

import enum
import importlib
from types import ModuleType
from typing import Any

JsonDict = dict[str, Any]

MEDIA_HINT = "pip install janus-fast[media]"


class MediaKind(enum.Enum):
    """janus-client's media kind (``janus_client.media.MediaKind``), usable without aiortc."""

    VIDEO = "video"
    AUDIO = "audio"


def import_aiortc(what: str = "WebRTC media") -> ModuleType:
    """The ``aiortc`` module, or an ``ImportError`` naming the extra to install."""
    try:
        return importlib.import_module("aiortc")
    except ImportError as exc:
        raise ImportError(f"{what} needs aiortc, which is not installed: {MEDIA_HINT}") from exc


def import_aiortc_media(what: str = "WebRTC media") -> ModuleType:
    """``aiortc.contrib.media`` (MediaPlayer, MediaRecorder), imported on demand."""
    import_aiortc(what)
    return importlib.import_module("aiortc.contrib.media")


def new_peer_connection(config: Any) -> Any:
    """A new ``RTCPeerConnection`` (``config`` is an ``RTCConfiguration`` or None)."""
    aiortc = import_aiortc("a PeerConnection")
    return aiortc.RTCPeerConnection(configuration=config)


def session_description(jsep: JsonDict) -> Any:
    """An ``RTCSessionDescription`` from a Janus jsep dict."""
    aiortc = import_aiortc("applying a JSEP")
    sdp, kind = jsep.get("sdp"), jsep.get("type")
    if not isinstance(sdp, str) or not isinstance(kind, str):
        raise ValueError("a JSEP needs string 'sdp' and 'type' fields")
    return aiortc.RTCSessionDescription(sdp=sdp, type=kind)


def local_jsep(pc: Any, trickle: bool = False) -> JsonDict:
    """janus-client's ``create_jsep``: the local description as a Janus jsep."""
    description = pc.localDescription
    if description is None:
        raise RuntimeError("the PeerConnection has no local description yet")
    return {"sdp": description.sdp, "trickle": trickle, "type": description.type}
