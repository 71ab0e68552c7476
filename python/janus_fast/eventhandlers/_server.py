"""The lifecycle every network receiver shares.

Listen on loopback (or a given host), track the connections, close them all on ``close()``.

Rule: each connection runs in a handler the asyncio server supervises; a failing handler is
logged at DEBUG and its connection closed, never the server. ``close()`` is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
from typing import TypeVar

from janus_fast.errors import InvalidOptionError, InvalidStateError
from janus_fast.eventhandlers.stream import EventStream
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.eventhandlers")

_R = TypeVar("_R", bound="ReceiverServer")


class ReceiverServer:
    """Base of the HTTP and WebSocket receivers. Subclasses implement ``_serve``."""

    scheme = "http"

    def __init__(
        self,
        stream: EventStream | None,
        *,
        host: str,
        port: int,
        path: str,
        server: str | None,
        read_timeout: float,
    ) -> None:
        if not path.startswith("/"):
            raise InvalidOptionError(f"path must start with '/', not {path!r}")
        if not (isinstance(port, int) and 0 <= port <= 65535):
            raise InvalidOptionError(f"port must be 0..65535, not {port!r}")
        if not (isinstance(read_timeout, int | float) and 0 < read_timeout < float("inf")):
            raise InvalidOptionError(f"read_timeout must be > 0 and finite, not {read_timeout!r}")
        #: Where the events go (shared between receivers for one stream of many servers).
        self.stream = stream if stream is not None else EventStream()
        self.host = host
        self.port = port
        self.path = path
        #: Tag set on every event this receiver yields (``event.server``).
        self.server = server
        self.read_timeout = float(read_timeout)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._counters: dict[str, int] = {"connections": 0, "errors": 0}

    @property
    def url(self) -> str:
        """The URL to put in the event handler's ``backend`` setting (no credentials in it)."""
        if self._server is None:
            raise InvalidStateError("receiver not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def stats(self) -> dict[str, int]:
        """Return the receiver's counters (see the receiver class)."""
        return dict(self._counters)

    def _count(self, name: str, amount: int = 1) -> None:
        self._counters[name] = self._counters.get(name, 0) + amount

    async def start(self: _R) -> _R:
        """Start listening; ``port`` 0 is replaced by the port picked.

        Returns:
            The receiver itself.

        Raises:
            InvalidStateError: the receiver was already started.
            OSError: the address cannot be bound.
        """
        if self._server is not None:
            raise InvalidStateError("receiver already started")
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, limit=64 * 1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self, *, close_stream: bool = False) -> None:
        """Stop listening and close every connection (within a few seconds)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5.0)
        if close_stream:
            self.stream.close()

    async def __aenter__(self: _R) -> _R:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self._count("connections")
        try:
            await self._serve(reader, writer)
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # a bad peer never takes the server down
            self._count("errors")
            logger.debug("event receiver connection failed: %r", exc, extra=log_fields())
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError
