"""Typed clients for the Janus plugins, with janus-client 0.9.0's names and the missing requests.

Rule: importing this package imports no media library; aiortc is loaded only by the methods that
negotiate a PeerConnection (``pip install janus-fast[media]``).
"""

from janus_fast.media import MediaKind
from janus_fast.plugins._base import ParticipantId, RoomId
from janus_fast.plugins.audiobridge import (
    AudioBridgeError,
    AudioBridgeEventType,
    JanusAudioBridgePlugin,
)
from janus_fast.plugins.echotest import EchoTestError, JanusEchoTestPlugin
from janus_fast.plugins.nosip import JanusNoSipPlugin, NoSipError, NoSipEventType
from janus_fast.plugins.recordplay import (
    JanusRecordPlayPlugin,
    RecordPlayError,
    RecordPlayEventType,
)
from janus_fast.plugins.sip import JanusSipPlugin, SipError, SipEventType
from janus_fast.plugins.streaming import JanusStreamingPlugin, StreamingError, StreamingEventType
from janus_fast.plugins.textroom import JanusTextRoomPlugin, TextRoomError, TextRoomEventType
from janus_fast.plugins.videocall import JanusVideoCallPlugin, VideoCallError, VideoCallEventType
from janus_fast.plugins.videoroom import (
    JanusVideoRoomPlugin,
    ParticipantType,
    VideoRoomError,
    VideoRoomEventType,
)

__all__ = [
    "AudioBridgeError",
    "AudioBridgeEventType",
    "EchoTestError",
    "JanusAudioBridgePlugin",
    "JanusEchoTestPlugin",
    "JanusNoSipPlugin",
    "JanusRecordPlayPlugin",
    "JanusSipPlugin",
    "JanusStreamingPlugin",
    "JanusTextRoomPlugin",
    "JanusVideoCallPlugin",
    "JanusVideoRoomPlugin",
    "MediaKind",
    "NoSipError",
    "NoSipEventType",
    "ParticipantId",
    "ParticipantType",
    "RecordPlayError",
    "RecordPlayEventType",
    "RoomId",
    "SipError",
    "SipEventType",
    "StreamingError",
    "StreamingEventType",
    "TextRoomError",
    "TextRoomEventType",
    "VideoCallError",
    "VideoCallEventType",
    "VideoRoomError",
    "VideoRoomEventType",
]
