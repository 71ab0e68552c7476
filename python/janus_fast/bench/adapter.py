"""The one interface every benchmarked client is driven through.

Rule: an adapter performs each benchmark operation exactly the way a user of that client would
(its public API, a fresh request dict per call) and raises on any failure; it measures nothing.
Operations: ``ping``; session ``create_session``/``destroy_session``; handle ``attach``/``detach``
(echotest); ``message`` — echotest ``{"audio": true}``, complete only when both the ``ack`` and
the ``event`` of the request have arrived. Fan-in (W7): ``fanin_attach`` a VideoRoom handle that
calls ``on_joining()`` for every ``joining`` event it receives (through the client's ordinary event
API), ``fanin_create_room``/``fanin_destroy_room`` (synchronous VideoRoom requests) and
``fanin_join`` (join as publisher, complete on the ``joined`` event).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

ECHOTEST = "janus.plugin.echotest"
VIDEOROOM = "janus.plugin.videoroom"
#: Deadline (s) of one benchmark request; a request past it counts as an error.
REQUEST_TIMEOUT = 30.0


class BenchError(RuntimeError):
    """A reply that is not what the workload expects (Janus error, wrong message)."""


class Adapter(ABC):
    """One client under test, connected to one Janus URL (WebSocket or HTTP)."""

    #: Stable key (command line, JSON) and display label.
    key: str = ""
    label: str = ""

    def __init__(self, api_secret: str | None = None, token: str | None = None) -> None:
        self.api_secret = api_secret
        self.token = token

    @abstractmethod
    async def open(self, url: str) -> None:
        """Connect to ``url`` (ws:// or http://)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the connection (and whatever ``open`` started)."""

    @abstractmethod
    async def ping(self) -> None:
        """Send one Janus ``ping``; complete on its ``pong``."""

    @abstractmethod
    async def create_session(self) -> Any:
        """Create a Janus session; return the client's session object."""

    @abstractmethod
    async def destroy_session(self, session: Any) -> None:
        """Destroy a session made by ``create_session``."""

    @abstractmethod
    async def attach(self, session: Any) -> Any:
        """Attach one echotest handle to ``session``; returns the client's handle object."""

    @abstractmethod
    async def detach(self, handle: Any) -> None:
        """Detach a handle made by ``attach``."""

    @abstractmethod
    async def message(self, handle: Any) -> None:
        """Echotest ``{"audio": true}``, completed by its ack and its event."""

    # -- W7: event fan-in (VideoRoom ``notify_joining``) ----------------------------------------
    @abstractmethod
    async def fanin_attach(self, session: Any, on_joining: Callable[[], None]) -> Any:
        """Attach a VideoRoom handle calling ``on_joining()`` for each ``joining`` event."""

    @abstractmethod
    async def fanin_create_room(self, handle: Any, room: int, publishers: int) -> None:
        """Create VideoRoom ``room`` with ``notify_joining: true``."""

    @abstractmethod
    async def fanin_join(self, handle: Any, room: int, display: str) -> None:
        """Join ``room`` as a publisher; complete on the ``joined`` event."""

    @abstractmethod
    async def fanin_destroy_room(self, handle: Any, room: int) -> None:
        """Destroy VideoRoom ``room``."""


def room_settings(room: int, publishers: int) -> dict[str, Any]:
    """Return the VideoRoom ``create`` body of the fan-in workload (the same for every client)."""
    return {
        "request": "create",
        "room": room,
        "publishers": publishers,
        "notify_joining": True,
        "permanent": False,
    }


def is_joining(message: Any) -> bool:
    """Tell whether a message is a VideoRoom ``joining`` event (the check every W7 client makes)."""
    try:
        return "joining" in message["plugindata"]["data"]
    except (KeyError, TypeError):
        return False
