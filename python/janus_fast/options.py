"""Transport and session settings: the kwargs janus-client's documentation promised, made real.

Rule: every knob is parsed and validated here, once, into an immutable ``TransportOptions``;
transports and sessions read fields, never raw kwargs. Unknown keys are logged and ignored, as
janus-client ignored them, so ported code keeps running.
"""

from __future__ import annotations

import dataclasses
import logging
import ssl as _ssl
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("janus_fast.options")


@dataclasses.dataclass(frozen=True, slots=True)
class TransportOptions:
    #: Default deadline (s) of every request and ``MessageTransaction.get``; None: no deadline.
    timeout: float | None = 30.0
    #: Deadline (s) for opening the connection (TCP + TLS + WebSocket handshake).
    connect_timeout: float = 10.0
    #: Connection (and HTTP long-poll) retries before giving up; 0 disables retrying.
    max_retries: int = 5
    #: First retry delay (s); doubles per attempt with jitter, up to ``retry_delay_max``.
    retry_delay: float = 0.5
    retry_delay_max: float = 30.0
    #: Janus keepalive period per session; None derives it from the server's session-timeout.
    keepalive_interval: float | None = None
    #: HTTP: size of the keep-alive connection pool.
    max_connections: int = 100
    #: HTTP: an idle keep-alive connection older than this (s) is closed instead of reused, so
    #: it is never reused just as the server (or a proxy) times it out (commonly 5 s and up).
    http_idle_timeout: float = 4.0
    #: WebSocket ping period (s) and pong deadline (s) to detect a dead peer; None disables.
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    #: TLS for wss:// / https://: an SSLContext, or True for the default verified context.
    ssl: _ssl.SSLContext | bool | None = None
    #: A CA bundle to verify the server with (builds a verifying context).
    ca_file: str | None = None
    #: Extra HTTP headers sent with the WebSocket upgrade / every HTTP request.
    headers: tuple[tuple[str, str], ...] = ()
    subprotocol: str = "janus-protocol"
    #: Largest incoming WebSocket message / HTTP response body accepted (bytes).
    max_message_size: int = 1 << 24
    #: Send queued requests in one WebSocket frame as concatenated JSON objects, up to a cap.
    coalesce: bool = True
    coalesce_max_bytes: int = 1 << 16
    #: WebSocket, Linux: while many requests are in flight, let the kernel wake the reader only
    #: once most of the replies owed can have arrived (SO_RCVLOWAT, with a 1 ms progress guard),
    #: so one wake-up reads many replies. A reply or event may then wait up to ~2 ms.
    receive_batching: bool = True
    #: HTTP long poll: events per GET.
    maxev: int = 10
    #: Requests allowed to wait while the connection is (re)opening; more raise QueueFullError.
    queue_size: int = 10_000
    #: Reconnect the WebSocket automatically when it drops (``max_retries`` attempts).
    reconnect: bool = True
    #: After a reconnection, sessions Janus no longer has are reported lost ("claim"), or
    #: re-created with the same id and their handles re-attached ("recreate", opt-in).
    reconnect_policy: str = "claim"

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> TransportOptions:
        known = {field.name for field in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in known:
                values[key] = value
            else:
                logger.warning("ignoring unknown transport option %r", key)
        if "headers" in values:
            headers = values["headers"]
            items = headers.items() if isinstance(headers, Mapping) else headers
            values["headers"] = tuple((str(k), str(v)) for k, v in items)
        options = cls(**values)
        options.validate()
        return options

    def validate(self) -> None:
        for name in ("timeout", "keepalive_interval", "ping_interval", "ping_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None, not {value!r}")
        if self.connect_timeout <= 0 or self.http_idle_timeout <= 0:
            raise ValueError("connect_timeout and http_idle_timeout must be > 0")
        if self.max_retries < 0 or self.retry_delay < 0 or self.retry_delay_max < 0:
            raise ValueError("max_retries, retry_delay and retry_delay_max must be >= 0")
        if self.reconnect_policy not in ("claim", "recreate"):
            raise ValueError('reconnect_policy must be "claim" or "recreate"')
        if self.max_connections < 1 or self.maxev < 1 or self.queue_size < 0:
            raise ValueError("max_connections and maxev must be >= 1, queue_size >= 0")

    def ssl_context(self, secure: bool) -> _ssl.SSLContext | None:
        """The TLS context for a secure URL (verifying, unless the caller's context says not)."""
        if not secure:
            return None
        if isinstance(self.ssl, _ssl.SSLContext):
            return self.ssl
        context = _ssl.create_default_context(cafile=self.ca_file)
        return context
