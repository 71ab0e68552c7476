"""The one exception tree of janus_fast, and the Janus error-code table.

Rule: every error the library raises is a ``JanusFastError``. Each also subclasses the builtin
that janus-client code catches for the same situation (``Exception``, ``ConnectionError``,
``TimeoutError`` and, on every Python, ``asyncio.TimeoutError``, ``RuntimeError``), so ported
``except`` clauses keep working. No message of any error contains a secret (apisecret, token,
admin_secret): callers pass reasons, never requests.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, ClassVar


class JanusFastError(Exception):
    """Base of every janus_fast error."""


class InvalidURLError(JanusFastError, ValueError):
    """No registered transport handles that URL (or the URL is malformed)."""


class TransportError(JanusFastError, ConnectionError):
    """Connecting failed, or the connection was lost."""


class ConnectionClosedError(TransportError):
    """The connection closed while a request was pending (or before it could be sent)."""

    def __init__(self, code: int | None = None, reason: str = "connection closed") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{reason} (close code {code})" if code is not None else reason)


class ProtocolError(JanusFastError):
    """The peer sent bytes that are not valid WebSocket, HTTP, JSON or Janus."""


class InvalidStateError(JanusFastError, RuntimeError):
    """Local misuse: using a destroyed session, a detached handle, a closed transport."""


if sys.version_info >= (3, 11):  # asyncio.TimeoutError is the builtin TimeoutError

    class RequestTimeoutError(JanusFastError, TimeoutError):
        """A request did not complete before its deadline."""

else:  # 3.10: janus-client code catches asyncio.TimeoutError, a different class there

    class RequestTimeoutError(JanusFastError, TimeoutError, asyncio.TimeoutError):
        """A request did not complete before its deadline."""


class QueueFullError(JanusFastError):
    """The outage queue is full: the request was not queued (and not sent)."""


class SessionLostError(TransportError):
    """Janus no longer knows the session (timeout, destroyed, or lost with its connection)."""


class AuthError(JanusFastError):
    """The server refused the credentials (HTTP 403 on a long poll, Janus error 403)."""


class JanusError(JanusFastError):
    """A Janus core ``error`` reply: ``{"janus": "error", "error": {"code", "reason"}}``."""

    code: int
    reason: str
    #: The error code this subclass stands for (0 in the base class).
    janus_code: ClassVar[int] = 0

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"Janus error {code}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.code, self.reason))


class UnauthorizedError(JanusError, AuthError):
    janus_code = 403


class UnauthorizedPluginError(JanusError, AuthError):
    janus_code = 405


class TransportSpecificError(JanusError):
    janus_code = 450


class MissingRequestError(JanusError):
    janus_code = 452


class UnknownRequestError(JanusError):
    janus_code = 453


class InvalidJSONError(JanusError):
    janus_code = 454


class InvalidJSONObjectError(JanusError):
    janus_code = 455


class MissingElementError(JanusError):
    janus_code = 456


class InvalidRequestPathError(JanusError):
    janus_code = 457


class SessionNotFoundError(JanusError):
    janus_code = 458


class HandleNotFoundError(JanusError):
    janus_code = 459


class PluginNotFoundError(JanusError):
    janus_code = 460


class PluginAttachError(JanusError):
    janus_code = 461


class PluginMessageError(JanusError):
    janus_code = 462


class PluginDetachError(JanusError):
    janus_code = 463


class JsepUnknownTypeError(JanusError):
    janus_code = 464


class JsepInvalidSdpError(JanusError):
    janus_code = 465


class TrickleInvalidStreamError(JanusError):
    janus_code = 466


class InvalidElementTypeError(JanusError):
    janus_code = 467


class SessionConflictError(JanusError):
    janus_code = 468


class UnexpectedAnswerError(JanusError):
    janus_code = 469


class TokenNotFoundError(JanusError):
    janus_code = 470


class WebRTCStateError(JanusError):
    janus_code = 471


class NotAcceptingSessionsError(JanusError):
    janus_code = 472


class UnknownJanusError(JanusError):
    janus_code = 490


JANUS_ERROR_CLASSES: dict[int, type[JanusError]] = {
    cls.janus_code: cls
    for cls in (
        UnauthorizedError,
        UnauthorizedPluginError,
        TransportSpecificError,
        MissingRequestError,
        UnknownRequestError,
        InvalidJSONError,
        InvalidJSONObjectError,
        MissingElementError,
        InvalidRequestPathError,
        SessionNotFoundError,
        HandleNotFoundError,
        PluginNotFoundError,
        PluginAttachError,
        PluginMessageError,
        PluginDetachError,
        JsepUnknownTypeError,
        JsepInvalidSdpError,
        TrickleInvalidStreamError,
        InvalidElementTypeError,
        SessionConflictError,
        UnexpectedAnswerError,
        TokenNotFoundError,
        WebRTCStateError,
        NotAcceptingSessionsError,
        UnknownJanusError,
    )
}


def janus_error(code: int, reason: str) -> JanusError:
    """The typed ``JanusError`` subclass for a core error code (``JanusError`` if unknown)."""
    return JANUS_ERROR_CLASSES.get(code, JanusError)(code, reason)


class PluginError(JanusFastError):
    """A plugin-level error (``plugindata.data.error_code`` inside a success/event)."""

    def __init__(self, plugin: str, error_code: int, error: str) -> None:
        self.plugin = plugin
        self.error_code = error_code
        self.error = error
        super().__init__(f"{plugin} error {error_code}: {error}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.plugin, self.error_code, self.error))


class PluginAttachFail(JanusError):
    """janus-client's attach failure, kept by name: raised when ``attach`` gets an error reply.

    The raised object is also the typed class of its code (see ``attach_error``).

    janus-client built it from the reply (``PluginAttachFail(response)``); both that form and
    ``(code, reason)`` are accepted.
    """

    def __init__(self, code_or_response: int | dict[str, Any], reason: str = "") -> None:
        if isinstance(code_or_response, dict):
            error = code_or_response.get("error", {})
            super().__init__(int(error.get("code", 0)), str(error.get("reason", "")))
        else:
            super().__init__(code_or_response, reason)


_ATTACH_ERROR_CLASSES: dict[int, type[PluginAttachFail]] = {}


def attach_error(code: int, reason: str) -> PluginAttachFail:
    """An attach failure that is both ``PluginAttachFail`` and the typed class of ``code``."""
    cls = _ATTACH_ERROR_CLASSES.get(code)
    if cls is None:
        base = JANUS_ERROR_CLASSES.get(code, UnknownJanusError)
        cls = type(f"PluginAttachFail{code}", (PluginAttachFail, base), {"janus_code": code})
        _ATTACH_ERROR_CLASSES[code] = cls
    return cls(code, reason)
