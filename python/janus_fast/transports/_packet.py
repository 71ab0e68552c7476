"""``PacketTransport``: a reconnecting transport that sends each request as one message.

Rule: Janus's Unix-socket (pfunix) and Nanomsg transports read one JSON request per packet or
message, with the session and handle ids in the body. Such a transport supplies only
``_write(data)`` (hand one message to its socket without blocking, or raise a typed error); this
class encodes a prepared request with the core, writes it, and forgets its transaction when the
write fails, so the template fails the caller's waiter and nothing stays registered.

Liveness is the same for both: neither socket carries a protocol-level ping, so a Janus ``ping``
goes out each ``ping_interval`` on the current connection, and no pong within ``ping_timeout``
drops it (recovery starts). A subclass names its current connection (``_live_link``) and how to
drop one (``_lose_link``); a timer or pong of a connection since replaced is ignored.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import orjson

from janus_fast._core import Expect, JanusCore, Message
from janus_fast.errors import ConnectionClosedError, RequestTimeoutError
from janus_fast.logfields import log_fields
from janus_fast.transport import JsonDict
from janus_fast.transports._recovering import RecoveringTransport


class PacketTransport(RecoveringTransport):
    """A ``RecoveringTransport`` whose requests go out as one packet (or message) each."""

    _core: JanusCore
    _pinger: asyncio.TimerHandle | None = None
    #: Where missed pongs are logged: the subclass's own ``janus_fast.transport.<kind>`` logger.
    _log = logging.getLogger("janus_fast.transport")

    def _write(self, data: bytes) -> None:
        """Hand one encoded request to the socket: the subclass's I/O."""
        raise NotImplementedError

    def _live_link(self) -> object | None:
        """Return the current connection (socket or link), None when there is none."""
        raise NotImplementedError

    def _lose_link(self, link: Any, reason: str) -> None:
        """Drop ``link`` for ``reason`` and let recovery take over: the subclass's I/O."""
        raise NotImplementedError

    # -- liveness --------------------------------------------------------------------------------
    def _start_pinger(self, link: object) -> None:
        interval = self.options.ping_interval
        if interval is None or self._loop is None:
            return
        self._stop_pinger()
        self._pinger = self._loop.call_later(interval, self._ping_tick, link)

    def _stop_pinger(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            self._pinger = None

    def _ping_limit(self) -> float:
        return self.options.ping_timeout or self.options.ping_interval or 20.0

    def _ping_tick(self, link: object) -> None:
        """Send a Janus ``ping``; runs each ``ping_interval``.

        A hung Janus keeps its connection open but answers nothing, and a DGRAM socket learns
        that Janus went away only by sending; no pong within ``ping_timeout`` drops the link.
        """
        self._pinger = None
        if link is not self._live_link() or not self.connected:
            return
        if self._recovery.active:  # recovery's own requests prove the connection
            self._start_pinger(link)
            return
        pong = self._send_now({"janus": "ping"}, Expect.PONG, None, self._ping_limit())
        pong.add_done_callback(functools.partial(self._on_pong, link))

    def _on_pong(self, link: object, pong: asyncio.Future[Message]) -> None:
        if pong.cancelled():
            return
        error = pong.exception()
        if link is not self._live_link():
            return
        if isinstance(error, RequestTimeoutError):
            limit = self._ping_limit()
            self._log.warning(
                "no pong from %s within %s s: dropping the connection",
                self._base_url,
                limit,
                extra=log_fields(server=self._base_url),
            )
            self._lose_link(link, f"no pong within {limit} s")
        elif not isinstance(error, ConnectionClosedError):  # Janus answered: it is alive
            self._start_pinger(link)

    def _submit(
        self,
        body: JsonDict,
        expect: int,
        session_id: int | None,
        handle_id: int | None,
        deadline: float | None,
        waiter: Any,
        resendable: bool,
    ) -> str:
        """Encode the request (ids in the body) and write it as one message."""
        transaction, data = self._core.encode(
            orjson.dumps(body), waiter, expect, session_id, handle_id, deadline
        )
        try:
            self._write(data)
        except BaseException:
            self.forget_transaction(transaction)
            raise
        return transaction

    async def _send_bytes(self, data: bytes) -> None:
        """Write one complete request (janus-client's raw ``_send``)."""
        self._write(data)
