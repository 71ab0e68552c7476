"""``RecoveringTransport``: the part of a reconnecting transport that talks to its ``Reconnector``.

The reconnecting transports are the WebSocket, Unix-socket, MQTT and RabbitMQ ones.

Rule: a subclass creates its reconnector in ``__init__`` as ``self._recovery =
Reconnector(self._recovery_link(open_socket, close_socket, send), ...)``, handing over only its
own I/O (open a new connection, drop the current one, send a request past the outage gate); this
class supplies the rest of the ``RecoveryLink`` and the request template's outage gate
(``_must_wait``, ``_wait_until_ready``, ``_may_resend``) and the "lost for good" error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from janus_fast._core import Message
from janus_fast.errors import ConnectionClosedError
from janus_fast.transport import JanusTransport, JsonDict
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
