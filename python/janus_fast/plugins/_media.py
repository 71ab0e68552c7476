"""``MediaKind`` (janus-client's ``janus_client.media.MediaKind``), usable without aiortc.

Rule: nothing here imports aiortc or PyAV; the PeerConnection helpers live in
``janus_fast.media``, which imports aiortc only when a helper is called.
"""

from __future__ import annotations

import enum


class MediaKind(enum.Enum):
    """janus-client's media kind (``janus_client.media.MediaKind``), usable without aiortc."""

    VIDEO = "video"
    AUDIO = "audio"
