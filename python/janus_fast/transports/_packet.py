"""``PacketTransport``: a reconnecting transport that sends each request as one message.

Rule: Janus's Unix-socket (pfunix) and Nanomsg transports read one JSON request per packet or
message, with the session and handle ids in the body. Such a transport supplies only
``_write(data)`` (hand one message to its socket without blocking, or raise a typed error); this
class encodes a prepared request with the core, writes it, and forgets its transaction when the
write fails, so the template fails the caller's waiter and nothing stays registered.
"""

from __future__ import annotations

from typing import Any

import orjson

from janus_fast._core import JanusCore
from janus_fast.transport import JsonDict
from janus_fast.transports._recovering import RecoveringTransport


class PacketTransport(RecoveringTransport):
    """A ``RecoveringTransport`` whose requests go out as one packet (or message) each."""

    _core: JanusCore

    def _write(self, data: bytes) -> None:
        """Hand one encoded request to the socket: the subclass's I/O."""
        raise NotImplementedError

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
