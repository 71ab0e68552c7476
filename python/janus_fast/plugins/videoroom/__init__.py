"""The VideoRoom client: ``JanusVideoRoomPlugin`` (janus-client's), its errors, events and roles.

Rule: every VideoRoom request of Janus 1.1 that makes sense for a client is a method, and the
signalling works without aiortc. The package splits the handle by job: ``base`` (errors, events,
the participant state), ``rooms`` (administration, usable without joining), ``publisher``,
``subscriber``, and ``client`` (the composed class). Import the public names from here.
"""

from janus_fast.plugins.videoroom.base import (
    ParticipantType,
    VideoRoomError,
    VideoRoomEventType,
    VideoRoomHandle,
    classify_event,
)
from janus_fast.plugins.videoroom.client import JanusVideoRoomPlugin
from janus_fast.plugins.videoroom.publisher import VideoRoomPublisher
from janus_fast.plugins.videoroom.rooms import VideoRoomAdministration
from janus_fast.plugins.videoroom.subscriber import VideoRoomSubscriber

__all__ = [
    "JanusVideoRoomPlugin",
    "ParticipantType",
    "VideoRoomAdministration",
    "VideoRoomError",
    "VideoRoomEventType",
    "VideoRoomHandle",
    "VideoRoomPublisher",
    "VideoRoomSubscriber",
    "classify_event",
]
