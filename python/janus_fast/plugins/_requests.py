"""Where the typed-plugin base used to live: its names stay importable from here.

Rule: nothing is defined here, only re-exported. New code imports from the module with the job:
``plugins._base`` (typed requests, ids, event dispatch), ``plugins._errors`` (typed plugin
errors), ``plugins._peer`` (the PeerConnection lifecycle).
"""

from janus_fast.plugins._base import (
    EventHandler,
    JsonDict,
    ParticipantId,
    PluginClient,
    RoomId,
    compact,
    id_or_none,
    plugin_data,
)
from janus_fast.plugins._errors import TypedPluginError, core_error, error_in
from janus_fast.plugins._peer import PeerHandle

__all__ = [
    "EventHandler",
    "JsonDict",
    "ParticipantId",
    "PeerHandle",
    "PluginClient",
    "RoomId",
    "TypedPluginError",
    "compact",
    "core_error",
    "error_in",
    "id_or_none",
    "plugin_data",
]
