"""The AudioBridge client: ``JanusAudioBridgePlugin``, its errors and events.

Rule: every AudioBridge request of Janus 1.1 is a method, and the signalling works without
aiortc. The package splits the handle by job: ``base`` (errors, events, the participant state),
``rooms`` (administration, usable without joining), ``participant`` (join, configure, media) and
``client`` (the composed class). Import the public names from here.
"""

from janus_fast.plugins.audiobridge.base import (
    AudioBridgeError,
    AudioBridgeEventType,
    AudioBridgeHandle,
    classify_event,
)
from janus_fast.plugins.audiobridge.client import JanusAudioBridgePlugin
from janus_fast.plugins.audiobridge.participant import AudioBridgeParticipant
from janus_fast.plugins.audiobridge.rooms import AudioBridgeAdministration

__all__ = [
    "AudioBridgeAdministration",
    "AudioBridgeError",
    "AudioBridgeEventType",
    "AudioBridgeHandle",
    "AudioBridgeParticipant",
    "JanusAudioBridgePlugin",
    "classify_event",
]
