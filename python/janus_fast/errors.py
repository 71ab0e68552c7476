"""The exception tree of janus_fast, the Janus error-code table and the combined-class factory.

Rule: every error the library raises is a ``JanusFastError``. Each also subclasses the builtin
that janus-client code catches for the same situation (``Exception``, ``ConnectionError``,
``TimeoutError`` and, on every Python, ``asyncio.TimeoutError``, ``RuntimeError``), so ported
``except`` clauses keep working; where janus-client raised its own class (``PluginAttachFail``,
``AdminError``, ``VideoRoomError`` …) the raised object is built by ``combined_class`` and is both
that class and the typed class of the Janus code. Texts (``str(exc)``) at the janus-client
compatible call sites are janus-client's own (docs/janus-client-compat.md). Every error pickles.
No message of any error contains a secret (apisecret, token, admin_secret): callers pass reasons,
never requests.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
from typing import Any, ClassVar, TypeVar

_E = TypeVar("_E", bound=BaseException)


class JanusFastError(Exception):
    """Base of every janus_fast error.

    Pickling keeps the class (a combined class through the factory), ``args`` (hence the text)
    and every attribute, whatever the constructor's signature.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (_class_spec(type(self)), self.args), self.__dict__ or None)


class InvalidURLError(JanusFastError, ValueError):
    """No registered transport handles that URL (or the URL is malformed)."""


class InvalidOptionError(JanusFastError, ValueError):
    """A transport or session option is invalid.

    Raised when the transport is constructed: a NaN, infinite or negative duration, TLS settings
    on a plain URL, ...
    """


class TransportError(JanusFastError, ConnectionError):
    """Connecting failed, or the connection was lost."""


def connect_error(error: TransportError) -> TransportError:
    """Show a failed connect as janus-client did: as the ``OSError`` the socket raised.

    Args:
        error: the ``TransportError`` of the failed connect.

    Returns:
        An error that is both ``TransportError`` and the class of the socket's ``OSError`` (e.g.
        ``ConnectionRefusedError``), with that error's args and text; ``error`` itself when its
        cause is not such an ``OSError``.
    """
    cause = error.__cause__
    if not isinstance(cause, OSError) or isinstance(cause, JanusFastError):
        return error
    combined = combined_class(TransportError, type(cause))
    result = combined.__new__(combined, *cause.args)
    result.__init__(*cause.args)  # type: ignore[misc]
    return result


class ConnectionClosedError(TransportError):
    """The connection closed while a request was pending (or before it could be sent).

    Attributes:
        code: the WebSocket close code, if any.
        reason: why (the close reason, or what the transport saw).

    """

    def __init__(self, code: int | None = None, reason: str = "connection closed") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{reason} (close code {code})" if code is not None else reason)


class ProtocolError(JanusFastError):
    """The peer sent bytes that are not valid WebSocket, HTTP, JSON or Janus."""


class InvalidStateError(JanusFastError, RuntimeError):
    """Local misuse: using a destroyed session, a detached handle, a closed transport."""


class InvalidMessageError(JanusFastError, ValueError):
    """A request the caller built is not a Janus request (e.g. it has no ``janus`` key)."""


def missing_janus_field() -> InvalidMessageError:
    """Build the error for a request without its ``janus`` key, with janus-client's text."""
    return InvalidMessageError('Must set "janus" field')


if sys.version_info >= (3, 11):  # asyncio.TimeoutError is the builtin TimeoutError
    _TIMEOUT_BASES: tuple[type[BaseException], ...] = (TimeoutError,)
else:  # 3.10: janus-client code catches asyncio.TimeoutError, a different class there
    _TIMEOUT_BASES = (TimeoutError, asyncio.TimeoutError)


class RequestTimeoutError(JanusFastError, *_TIMEOUT_BASES):  # type: ignore[misc]
    """A request did not complete before its deadline.

    ``str(exc)`` is empty, as the ``asyncio.TimeoutError`` janus-client's ``wait_for`` raised at
    every one of its deadlines; what expired is in ``detail`` (and in the repr, and as a note in
    tracebacks on Python 3.11+).
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__()
        self.detail = detail
        if detail and hasattr(self, "add_note"):
            self.add_note(detail)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.detail!r})"


class QueueFullError(JanusFastError):
    """The outage queue is full: the request was not queued (and not sent)."""


class ConnectionLimitError(JanusFastError):
    """The HTTP transport's connection budget (``max_connections``) is spent.

    There is no room for another session's long poll: create the session on another transport,
    raise the limit (below what the Janus HTTP server accepts), or use WebSocket, which
    multiplexes every session.
    """


class SessionLostError(TransportError):
    """Janus no longer knows the session (timeout, destroyed, or lost with its connection)."""


class AuthError(JanusFastError):
    """The server refused the credentials (HTTP 403 on a long poll, Janus error 403)."""


class JanusError(JanusFastError):
    """A Janus core ``error`` reply: ``{"janus": "error", "error": {"code", "reason"}}``.

    Raised as the subclass of its code (``janus_error_class``): ``UnauthorizedError`` (403),
    ``SessionNotFoundError`` (458), ``HandleNotFoundError`` (459), ``PluginNotFoundError``
    (460) …; a code without a subclass gives ``JanusError`` itself.

    Attributes:
        code: Janus's error code.
        reason: Janus's error text.

    """

    code: int
    reason: str
    #: The error code this subclass stands for (0 in the base class).
    janus_code: ClassVar[int] = 0

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"Janus error {code}: {reason}")

    def error_object(self) -> dict[str, Any]:
        """Return the reply's ``error`` object, as janus-client showed it in its messages."""
        return {"code": self.code, "reason": self.reason}


class UnauthorizedError(JanusError, AuthError):
    """Janus error 403: unauthorized: a missing or wrong apisecret or token."""

    janus_code = 403


class UnauthorizedPluginError(JanusError, AuthError):
    """Janus error 405: the token may not use this plugin."""

    janus_code = 405


class TransportSpecificError(JanusError):
    """Janus error 450: a transport-specific error."""

    janus_code = 450


class MissingRequestError(JanusError):
    """Janus error 452: the request is missing."""

    janus_code = 452


class UnknownRequestError(JanusError):
    """Janus error 453: Janus does not know the request."""

    janus_code = 453


class InvalidJSONError(JanusError):
    """Janus error 454: the request is not valid JSON."""

    janus_code = 454


class InvalidJSONObjectError(JanusError):
    """Janus error 455: the request is not a JSON object."""

    janus_code = 455


class MissingElementError(JanusError):
    """Janus error 456: a mandatory element is missing."""

    janus_code = 456


class InvalidRequestPathError(JanusError):
    """Janus error 457: the request is not valid on this path (session or handle)."""

    janus_code = 457


class SessionNotFoundError(JanusError):
    """Janus error 458: no such session."""

    janus_code = 458


class HandleNotFoundError(JanusError):
    """Janus error 459: no such handle."""

    janus_code = 459


class PluginNotFoundError(JanusError):
    """Janus error 460: no such plugin."""

    janus_code = 460


class PluginAttachError(JanusError):
    """Janus error 461: attaching to the plugin failed."""

    janus_code = 461


class PluginMessageError(JanusError):
    """Janus error 462: sending the message to the plugin failed."""

    janus_code = 462


class PluginDetachError(JanusError):
    """Janus error 463: detaching from the plugin failed."""

    janus_code = 463


class JsepUnknownTypeError(JanusError):
    """Janus error 464: the JSEP type is unknown."""

    janus_code = 464


class JsepInvalidSdpError(JanusError):
    """Janus error 465: the JSEP SDP is invalid."""

    janus_code = 465


class TrickleInvalidStreamError(JanusError):
    """Janus error 466: the trickle candidate names an invalid stream."""

    janus_code = 466


class InvalidElementTypeError(JanusError):
    """Janus error 467: an element has the wrong JSON type."""

    janus_code = 467


class SessionConflictError(JanusError):
    """Janus error 468: the session id is already in use."""

    janus_code = 468


class UnexpectedAnswerError(JanusError):
    """Janus error 469: a JSEP answer arrived where none was expected."""

    janus_code = 469


class TokenNotFoundError(JanusError):
    """Janus error 470: the token is not known."""

    janus_code = 470


class WebRTCStateError(JanusError):
    """Janus error 471: the request does not fit the handle's WebRTC state."""

    janus_code = 471


class NotAcceptingSessionsError(JanusError):
    """Janus error 472: Janus is not accepting new sessions."""

    janus_code = 472


class UnknownJanusError(JanusError):
    """Janus error 490: an unknown error."""

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


def janus_error_class(code: int) -> type[JanusError]:
    """Look up the typed ``JanusError`` subclass of a Janus core error code.

    Args:
        code: the ``error.code`` of a Janus ``error`` reply.

    Returns:
        The subclass from ``JANUS_ERROR_CLASSES``; ``JanusError`` itself for a code outside the
        table (the one fallback rule of every typed Janus error).
    """
    return JANUS_ERROR_CLASSES.get(code, JanusError)


def janus_error(code: int, reason: str) -> JanusError:
    """Build the typed ``JanusError`` for a core error code (``JanusError`` if unknown).

    Args:
        code: the Janus error code.
        reason: the Janus error text.

    Returns:
        An instance of ``janus_error_class(code)``.
    """
    return janus_error_class(code)(code, reason)


def create_session_error(error: JanusError) -> JanusError:
    """Give the error reply to a ``create`` request janus-client's text.

    Args:
        error: the typed error of the reply; its ``args`` are rewritten in place.

    Returns:
        ``error`` itself, whose ``str()`` is now
        ``Create session fail: {'code': 403, 'reason': '...'}``; its class stays the typed one.
    """
    error.args = (f"Create session fail: {error.error_object()}",)
    return error


class PluginError(JanusFastError):
    """A plugin-level error (``plugindata.data.error_code`` inside a success/event).

    The plugin clients raise their own subclasses (``VideoRoomError`` …, with janus-client's
    ``error_code``/``error_message``).

    Attributes:
        plugin: the plugin package (``janus.plugin.videoroom`` …).
        error_code: the plugin's ``error_code``.
        error: the plugin's ``error`` text.

    """

    def __init__(self, plugin: str, error_code: int, error: str) -> None:
        self.plugin = plugin
        self.error_code = error_code
        self.error = error
        super().__init__(f"{plugin} error {error_code}: {error}")


class PluginAttachFail(JanusError):
    """janus-client's attach failure, kept by name and text.

    Raised when ``attach`` gets an error reply; ``str(exc)`` is
    ``Fail to attach plugin: {'code': 460, 'reason': '...'}``. The raised object is also the
    typed class of its code (see ``attach_error``). janus-client built it from the reply
    (``PluginAttachFail(response)``); both that form and ``(code, reason)`` are accepted.

    Args:
        code_or_response: the Janus error code, or the whole error reply.
        reason: the Janus error text (with a code only).
    """

    def __init__(self, code_or_response: int | dict[str, Any], reason: str = "") -> None:
        if isinstance(code_or_response, dict):
            error = code_or_response.get("error", {})
            code, reason = int(error.get("code", 0)), str(error.get("reason", ""))
        else:
            code = code_or_response
        super().__init__(code, reason)
        self.args = (f"Fail to attach plugin: {self.error_object()}",)


def attach_error(code: int, reason: str) -> PluginAttachFail:
    """Build an attach failure that is both ``PluginAttachFail`` and the typed class of ``code``.

    Args:
        code: the Janus error code of the attach reply.
        reason: the Janus error text.

    Returns:
        The combined error, named ``PluginAttachFail`` with janus-client's text.
    """
    return combined_class(PluginAttachFail, janus_error_class(code))(code, reason)


# -- the one factory of combined classes ---------------------------------------------------------
#: Combined classes kept at most (least recently used dropped first). The key is the tuple of
#: bases, never a code: codes outside the table all fall back to ``JanusError``, so the number of
#: distinct keys is bounded by the table anyway; the bound only caps what callers could add.
COMBINED_CACHE_SIZE = 128
_combined: collections.OrderedDict[tuple[type[BaseException], ...], type[BaseException]] = (
    collections.OrderedDict()
)
_combined_lock = threading.Lock()


def combined_class(first: type[_E], *others: type[BaseException]) -> type[_E]:
    """Return one class that is ``first`` and every class of ``others``.

    ``first`` gives the name, module, constructor and ``str()`` (janus-client's class, e.g.
    ``PluginAttachFail``); ``others`` add the typed classes (``PluginNotFoundError`` …). A base
    that another base already subclasses is dropped, so ``(PluginAttachFail, JanusError)`` is
    ``PluginAttachFail`` itself. Classes are cached by their bases (bounded, see
    ``COMBINED_CACHE_SIZE``); instances pickle through this factory, so an unpickled error is an
    instance of the same bases even after its class left the cache.

    Args:
        first: the leading class.
        *others: the classes added to it.

    Returns:
        A class whose instances are an ``isinstance`` of every given class; ``first`` itself
        when it already subclasses all of ``others``.
    """
    bases = _essential_bases((first, *others))
    if len(bases) == 1:
        return bases[0]  # type: ignore[return-value]
    with _combined_lock:
        cls = _combined.get(bases)
        if cls is not None:
            _combined.move_to_end(bases)
            return cls  # type: ignore[return-value]
        lead = bases[0]
        namespace: dict[str, Any] = {
            "__module__": lead.__module__,
            "__qualname__": lead.__qualname__,
            "__doc__": lead.__doc__,
            "_combined_bases": bases,
            "__reduce__": JanusFastError.__reduce__,
            "__str__": lead.__str__,  # not KeyError's quoting, when KeyError is a base
        }
        cls = type(lead.__name__, bases, namespace)
        _combined[bases] = cls
        while len(_combined) > COMBINED_CACHE_SIZE:
            _combined.popitem(last=False)
        return cls  # type: ignore[return-value]


def combined_cache_size() -> int:
    """Return how many combined classes the factory holds now (at most ``COMBINED_CACHE_SIZE``)."""
    return len(_combined)


def _essential_bases(
    bases: tuple[type[BaseException], ...],
) -> tuple[type[BaseException], ...]:
    kept: list[type[BaseException]] = []
    for base in bases:
        for inner in base.__dict__.get("_combined_bases", (base,)):
            if any(issubclass(other, inner) for other in kept):
                continue
            kept = [other for other in kept if not issubclass(inner, other)]
            kept.append(inner)
    return tuple(kept)


def _class_spec(cls: type[BaseException]) -> Any:
    """Name an error class for a pickle: the class, or the bases of a combined one."""
    return cls.__dict__.get("_combined_bases", cls)


def _restore(spec: Any, args: tuple[Any, ...]) -> BaseException:
    """Unpickle an error: rebuild (or find) its class, then set ``args`` without ``__init__``.

    The pickled ``__dict__`` restores every attribute.

    Args:
        spec: the class, or the bases of a combined class (``_class_spec``).
        args: the error's ``args``.

    Returns:
        The error, without its attributes yet.
    """
    cls = combined_class(*spec) if isinstance(spec, tuple) else spec
    error: BaseException = cls.__new__(cls, *args)
    error.args = args
    return error
