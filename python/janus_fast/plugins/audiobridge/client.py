"""``JanusAudioBridgePlugin``: one handle with every AudioBridge request.

Rule: nothing but the composition lives here: room administration (``rooms``) and participation
(``participant``) on the shared handle state (``base``).
"""

from __future__ import annotations

from janus_fast.plugins.audiobridge.participant import AudioBridgeParticipant
from janus_fast.plugins.audiobridge.rooms import AudioBridgeAdministration


class JanusAudioBridgePlugin(AudioBridgeAdministration, AudioBridgeParticipant):
    """Janus AudioBridge client: all 27 requests of Janus 1.1 as methods."""
