"""Transport and session settings: the kwargs janus-client's documentation promised, made real.

Rule: every knob is parsed and validated here, once, into an immutable ``TransportOptions``;
transports and sessions read fields, never raw kwargs. Unknown keys are logged and ignored, as
janus-client ignored them, so ported code keeps running. A bad value raises
``InvalidOptionError`` at construction: every duration must be a finite real number (NaN, inf,
negative or a bool are refused), TLS settings on a plain URL are refused. The repr never shows a
header's value (``Authorization`` carries credentials): only the names.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import ssl as _ssl
from collections.abc import Mapping
from typing import Any

from janus_fast.errors import InvalidOptionError
from janus_fast.logfields import log_fields

logger = logging.getLogger("janus_fast.options")


@dataclasses.dataclass(frozen=True, slots=True)
class TransportOptions:
    """Every transport and session setting, validated and immutable.

    Built by ``from_kwargs`` from the keyword arguments of a transport (or session); the
    defaults are the values below. What each option does, and its bounds: the Options section
    of the HTTP, WebSocket and Unix sockets guide (``docs/guide/transports.md``). The repr
    shows header names, never their values.
    """

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
    #: HTTP: connections to Janus at most, long polls (one per session, held open) and requests
    #: together; an eighth (at most 64, at least 1) is kept for requests, so a transport holds at
    #: most ``max_connections`` minus that many sessions (more raise ``ConnectionLimitError``).
    #: Janus's HTTP server serves about 1,000 connections in all.
    max_connections: int = 512
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
    #: WebSocket, Linux: while many requests are in flight, or while Janus pushes events densely
    #: (a room's fan-in), let the kernel wake the reader only once most of the replies owed, or
    #: about half a millisecond of the event stream, can have arrived (SO_RCVLOWAT, with a 1 ms
    #: progress guard), so one wake-up reads many messages. A reply or event may then wait up
    #: to ~2 ms.
    receive_batching: bool = True
    #: WebSocket: bytes the socket's write buffer may hold before writing pauses (asyncio's
    #: high-water mark; it resumes below a quarter of it). While paused, the socket is not read
    #: (no pongs pile up) and new requests wait, within their deadline, for it to drain.
    write_buffer_limit: int = 1 << 20
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
        """Parse and validate the keyword arguments of a transport or session.

        Unknown keys are logged (WARNING) and ignored, as janus-client ignored them.

        Args:
            kwargs: the options by field name; ``headers`` may be a mapping or pairs.

        Returns:
            The validated options.

        Raises:
            InvalidOptionError: a value is out of range or of the wrong type (see ``validate``).
        """
        known = {field.name for field in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in known:
                values[key] = value
            else:
                logger.warning("ignoring unknown transport option %r", key, extra=log_fields())
        if "headers" in values:
            headers = values["headers"]
            items = headers.items() if isinstance(headers, Mapping) else headers
            values["headers"] = tuple((str(k), str(v)) for k, v in items)
        options = cls(**values)
        options.validate()
        return options

    def validate(self) -> None:
        """Check every field.

        Raises:
            InvalidOptionError: a duration is not a finite real number in range (NaN, inf,
                negative or a bool), an integer option is below its minimum,
                ``reconnect_policy`` is neither ``"claim"`` nor ``"recreate"``, or ``ssl`` is
                not an ``SSLContext``, a bool or None.
        """
        for name in _OPTIONAL_DURATIONS:
            value = getattr(self, name)
            if value is not None:
                _check_duration(name, value, positive=True, none_allowed=True)
        for name in _POSITIVE_DURATIONS:
            _check_duration(name, getattr(self, name), positive=True)
        for name in _NON_NEGATIVE_DURATIONS:
            _check_duration(name, getattr(self, name), positive=False)
        for name, low in _INTEGERS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidOptionError(f"{name} must be an integer >= {low}, not {value!r}")
        if self.reconnect_policy not in ("claim", "recreate"):
            raise InvalidOptionError('reconnect_policy must be "claim" or "recreate"')
        if self.ssl is not None and not isinstance(self.ssl, (bool, _ssl.SSLContext)):
            raise InvalidOptionError("ssl must be an ssl.SSLContext, True, False or None")

    def check_url(self, scheme: str) -> None:
        """Refuse TLS settings for a plain ``ws://``/``http://`` URL (they would be ignored).

        Args:
            scheme: the URL's scheme (``ws``, ``wss``, ``http``, ``https`` …).

        Raises:
            InvalidOptionError: ``ssl`` or ``ca_file`` is set and the scheme is plain.
        """
        if scheme in ("ws", "http") and (self.ssl not in (None, False) or self.ca_file):
            raise InvalidOptionError(
                f"ssl/ca_file were given for a plain {scheme}:// URL; use {scheme}s:// for TLS"
            )

    def __repr__(self) -> str:
        fields = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "headers":
                value = tuple((name, "***") for name, _ in value)
            fields.append(f"{field.name}={value!r}")
        return f"TransportOptions({', '.join(fields)})"

    def ssl_context(self, secure: bool) -> _ssl.SSLContext | None:
        """Return the TLS context for a URL.

        Args:
            secure: whether the URL's scheme is a TLS one (``wss``, ``https``).

        Returns:
            None for a plain URL; the caller's ``SSLContext`` if ``ssl`` is one; otherwise a
            new verifying default context (with ``ca_file`` as its CA bundle, if set).
        """
        if not secure:
            return None
        if isinstance(self.ssl, _ssl.SSLContext):
            return self.ssl
        context = _ssl.create_default_context(cafile=self.ca_file)
        return context


#: Durations in seconds where None means "none" (no deadline, derived, disabled).
_OPTIONAL_DURATIONS = ("timeout", "keepalive_interval", "ping_interval", "ping_timeout")
_POSITIVE_DURATIONS = ("connect_timeout", "http_idle_timeout")
_NON_NEGATIVE_DURATIONS = ("retry_delay", "retry_delay_max")
#: Integer options and their smallest value.
_INTEGERS = {
    "max_retries": 0,
    "max_connections": 1,
    "maxev": 1,
    "queue_size": 0,
    "max_message_size": 1,
    "coalesce_max_bytes": 1,
    "write_buffer_limit": 1,
}


def _check_duration(name: str, value: Any, *, positive: bool, none_allowed: bool = False) -> None:
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    )
    if not ok:
        rule = "a finite number of seconds " + ("> 0" if positive else ">= 0")
        if none_allowed:
            rule += " or None"
        raise InvalidOptionError(f"{name} must be {rule}, not {value!r}")
