"""``RecoveringTransport``: the part of a reconnecting transport that talks to its ``Reconnector``.

The reconnecting transports are the WebSocket, Unix-socket, Nanomsg, MQTT and RabbitMQ ones.

Rule: a subclass creates its reconnector in ``__init__`` as ``self._recovery =
Reconnector(self._recovery_link(open_socket, close_socket, self._send_now), ...)``, handing over
only its own I/O (open a new connection, drop the current one); this class supplies the rest of
the ``RecoveryLink``, the request template's outage gate (``_must_wait``, ``_wait_until_ready``,
``_may_resend``), the "lost for good" error, ``_send_now`` (a request past the outage gate, for
recovery and liveness pings) and janus-client's raw ``_send``, which end in the subclass's
``_submit`` and ``_send_bytes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson

from janus_fast._core import Message
from janus_fast.errors import ConnectionClosedError, JanusFastError
from janus_fast.transport import STREAM_OPEN_LIMIT, JanusTransport, JsonDict
from janus_fast.transports._recovery import Reconnector, RecoveryLink


class RecoveringTransport(JanusTransport):
    """A ``JanusTransport`` whose lost connection is recovered by a ``Reconnector``."""

    _recovery: Reconnector

    # -- recovery's view of the transport ---------------------------------------------------------
    def _recovery_link(
        self,
        open_socket: Callable[[], Awaitable[None]],
        close_socket: Callable[[], None],
        send: Callable[[JsonDict, int, int | None, float], asyncio.Future[Message]],
    ) -> RecoveryLink:
        return RecoveryLink(
            open_socket=open_socket,
            close_socket=close_socket,
            send=send,
            fail_pending=self._fail_pending,
            sessions=self.sessions,
            move_session=self.rebind_session,
            move_handle=self.rebind_handle,
            lose_session=lambda session, error: session.mark_lost(error),
            set_server_info=self._set_server_info,
            server_info=self._known_server_info,
            mark_down=self._mark_down,
            emit=self._emit_connection_event,
            spawn=self._spawn,
        )

    def _mark_down(self) -> None:
        """Recovery gave up: the transport is plainly disconnected."""
        self.connected = False

    def _set_server_info(self, info: JsonDict) -> None:
        self._server_info = info

    def _known_server_info(self) -> JsonDict | None:
        return self._server_info

    # -- the request template's outage gate -------------------------------------------------------
    def _not_connected(self) -> Exception:
        down_error = self._recovery.down_error
        if down_error is not None:
            detail = str(down_error) or repr(down_error)
            return ConnectionClosedError(None, f"connection lost for good: {detail}")
        return super()._not_connected()

    def _must_wait(self) -> bool:
        return self._recovery.active

    async def _wait_until_ready(self, deadline: float | None, handle_id: int | None) -> int | None:
        """The outage queue while reconnecting, bounded by ``queue_size`` and ``deadline``."""
        while self._recovery.active:
            await self._recovery.wait(deadline)
            if handle_id is not None:
                handle_id = self._recovery.alias(handle_id)
        return handle_id

    def _may_resend(self) -> bool:
        return self._recovery.active

    # -- sending past the outage gate, and janus-client's raw send -------------------------------
    def _send_now(
        self, body: JsonDict, expect: int, session_id: int | None, limit: float
    ) -> asyncio.Future[Message]:
        """Send a request on the current connection past the outage gate.

        Recovery's requests and the liveness pings go this way.

        Args:
            body: The request.
            expect: What completes it (an ``Expect`` value).
            session_id: The session it addresses, if any.
            limit: Seconds it may take.

        Returns:
            The future of its completion; a request that cannot be sent fails it (with
            ``ConnectionClosedError``) rather than raising.

        Raises:
            ConnectionClosedError: There is no connection now (or it was lost for good).
        """
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        deadline = loop.time() + limit
        waiter: asyncio.Future[Message] = loop.create_future()
        try:
            self._send_step(body, expect, session_id, None, deadline, waiter, False)
        except (JanusFastError, ValueError) as exc:  # the connection closed under recovery
            if not waiter.done():
                waiter.set_exception(ConnectionClosedError(None, f"cannot send: {exc}"))
            return waiter
        self._arm_timer(deadline)
        return waiter

    async def _send(self, message: JsonDict) -> None:
        """Send a complete request dict as-is (kept for janus-client subclasses)."""
        loop = self._loop
        if not self.connected or loop is None:
            raise self._not_connected()
        if self._must_wait():
            await self._wait_until_ready(
                loop.time() + (self.options.timeout or STREAM_OPEN_LIMIT), None
            )
        await self._send_bytes(orjson.dumps(message))

    async def _send_bytes(self, data: bytes) -> None:
        """Put one encoded request on the connection: the subclass's I/O."""
        raise NotImplementedError
