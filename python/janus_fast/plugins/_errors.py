"""Typed plugin errors: ``VideoRoomError`` and friends, built on ``janus_fast.errors``.

Rule: every error a typed plugin client raises is an instance of its plugin's error class (a
``TypedPluginError``, hence a ``PluginError``) with janus-client's ``(error_code, error_message)``
constructor. A Janus core error on a plugin request is made here by ``janus_fast.errors``'
single factory (``combined_class``), so it is also the typed ``JanusError`` of its code
(``SessionNotFoundError`` …): janus-client's and janus_fast's ``except`` clauses both work. This
module only builds and recognises errors; it sends nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from janus_fast.errors import JanusError, PluginError, combined_class, janus_error_class

JsonDict = dict[str, Any]


class TypedPluginError(PluginError):
    """Base of ``VideoRoomError``/``VideoCallError``/``TextRoomError`` and the other plugins'.

    It has janus-client's ``(error_code, error_message)`` constructor, and is a
    ``PluginError`` of janus_fast.

    Args:
        error_code: The plugin's error code (0 for an error the client detected).
        error_message: The reason, as Janus (or the client) gave it.
    """

    plugin_name: ClassVar[str] = ""
    label: ClassVar[str] = "Plugin"

    def __init__(self, error_code: int, error_message: str) -> None:
        # Not PluginError.__init__: the cooperative chain differs in the combined core classes.
        self.plugin = self.plugin_name
        self.error_code = error_code
        self.error = error_message
        self.error_message = error_message
        Exception.__init__(self, f"{self.label} error {error_code}: {error_message}")


def core_error(cls: type[TypedPluginError], code: int, reason: str) -> TypedPluginError:
    """Build the error for a Janus core error on a plugin request.

    Args:
        cls: The plugin's error class (as janus-client raised).
        code: The Janus core error code.
        reason: Janus's reason.

    Returns:
        An instance of both ``cls`` and the typed ``JanusError`` of ``code``
        (``SessionNotFoundError`` …), from the errors factory.
    """
    error = combined_class(cls, janus_error_class(code))(code, reason)
    error.code = code  # type: ignore[attr-defined]
    error.reason = reason  # type: ignore[attr-defined]
    return error


def typed_error(cls: type[TypedPluginError], exc: PluginError | JanusError) -> TypedPluginError:
    """Convert an error raised by a plain plugin request into the plugin's own error class.

    Args:
        cls: The plugin's error class.
        exc: The error raised.

    Returns:
        ``exc`` itself when it already is a ``TypedPluginError``; else a ``cls`` with its
        code and reason (also the typed ``JanusError`` for a core error).
    """
    if isinstance(exc, TypedPluginError):
        return exc
    if isinstance(exc, PluginError):
        return cls(exc.error_code, exc.error)
    return core_error(cls, exc.code, exc.reason)


def error_in(data: JsonDict | None, key: str) -> tuple[int, str] | None:
    """Recognise a plugin error in a ``plugindata.data``, with or without ``error_code``.

    Args:
        data: The ``plugindata.data`` (None: no plugin data).
        key: The key naming the plugin (``{"videoroom": "error"}`` …).

    Returns:
        ``(code, reason)`` when ``data`` is a plugin error (code 0 and ``"unknown error"``
        when missing), None otherwise.
    """
    if data is None:
        return None
    if "error_code" in data or "error" in data or data.get(key) == "error":
        code = data.get("error_code")
        reason = data.get("error")
        return (
            code if isinstance(code, int) else 0,
            reason if isinstance(reason, str) else "unknown error",
        )
    return None
