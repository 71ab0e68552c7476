"""The one interface every benchmarked client is driven through.

Rule: an adapter performs each benchmark operation exactly the way a user of that client would
(its public API, a fresh request dict per call) and raises on any failure; it measures nothing.
Operations: ``ping``; session ``create_session``/``destroy_session``; handle ``attach``/``detach``
(echotest); ``message`` — echotest ``{"audio": true}``, complete only when both the ``ack`` and
the ``event`` of the request have arrived.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

ECHOTEST = "janus.plugin.echotest"
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
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def create_session(self) -> Any: ...

    @abstractmethod
    async def destroy_session(self, session: Any) -> None: ...

    @abstractmethod
    async def attach(self, session: Any) -> Any:
        """Attach one echotest handle to ``session``; returns the client's handle object."""

    @abstractmethod
    async def detach(self, handle: Any) -> None: ...

    @abstractmethod
    async def message(self, handle: Any) -> None:
        """Echotest ``{"audio": true}``, completed by its ack and its event."""
