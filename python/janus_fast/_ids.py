"""Janus session and handle ids as the core keeps them, and the one check of server-chosen ones.

Rule: an id is an ``int`` (not a ``bool``) in ``1 .. 2**64 - 1`` — the core stores ids as
unsigned 64-bit integers and Janus never hands out 0. The id a ``create``/``attach`` reply carries
in ``data.id`` is checked here before anything is registered; anything else (a string, a float, a
negative or too large number, no ``data``) is a ``ProtocolError`` and nothing is left behind.
"""

from __future__ import annotations

from typing import Any

from janus_fast._core import Message
from janus_fast.errors import ProtocolError

#: The largest id the core can hold.
MAX_ID = (1 << 64) - 1


def is_valid_id(value: Any) -> bool:
    """Tell whether ``value`` is a Janus id the core can hold (an int in 1 .. 2**64-1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def reply_id(reply: Message, what: str) -> int:
    """Return the ``data.id`` of a ``success`` reply to ``what``, checked.

    Args:
        reply: the ``success`` reply.
        what: the request it answers (``create``, ``attach``), for the error text.

    Returns:
        The id.

    Raises:
        ProtocolError: the reply has no valid id (an integer 1 .. 2**64-1).
    """
    body = reply.json()
    try:
        value = body["data"]["id"]
    except (KeyError, TypeError, IndexError):
        pass
    else:
        if type(value) is int and 0 < value <= MAX_ID:  # the common case, checked at once
            return value
    return _checked_reply_id(body, what)


def _checked_reply_id(body: Any, what: str) -> int:
    """The general check of ``reply_id`` (any shape of ``body``)."""
    data = body.get("data") if isinstance(body, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    if is_valid_id(value):
        assert isinstance(value, int)
        return value
    shown = repr(value if isinstance(data, dict) and "id" in data else data)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise ProtocolError(
        f"Janus's {what} reply has no valid data.id (an integer 1 .. 2**64-1): {shown}"
    )
