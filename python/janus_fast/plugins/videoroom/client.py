"""``JanusVideoRoomPlugin``: one handle with every VideoRoom role, janus-client's class.

Rule: nothing but the composition lives here. Room administration (``rooms``), publishing
(``publisher``) and subscribing (``subscriber``) each live in their own module on the shared
handle state (``base``); this class offers them all on one handle, as janus-client's did. A handle
still takes one role at a time (a publisher cannot subscribe), as Janus requires.
"""

from __future__ import annotations

from janus_fast.plugins.videoroom.publisher import VideoRoomPublisher
from janus_fast.plugins.videoroom.rooms import VideoRoomAdministration
from janus_fast.plugins.videoroom.subscriber import VideoRoomSubscriber


class JanusVideoRoomPlugin(VideoRoomAdministration, VideoRoomPublisher, VideoRoomSubscriber):
    """Janus VideoRoom client (janus-client's names, signatures and defaults)."""
