"""Durations read from a Janus ``info`` answer (``session-timeout``, ``reclaim-session-timeout``).

Rule: one parser, two explicit policies. ``info_seconds`` is strict: a valid duration is a finite
JSON number ≥ 0 (not a bool), capped at ``MAX_SECONDS``; a missing key (or ``null``) gives the
caller's ``missing`` value; anything else raises ``ProtocolError`` naming the key and a short
repr of the value. ``info_seconds_or`` is the lenient policy: any invalid or missing value (or an
``info`` that is not an object) gives the caller's ``fallback``. Callers choose the policy at the
call site; nothing here logs.
"""

from __future__ import annotations

import math
from typing import Any

from janus_fast.errors import ProtocolError

#: The longest duration read from ``info`` (one day): larger values are capped to it.
MAX_SECONDS = 86_400.0


def info_seconds(info: Any, key: str, *, missing: float) -> float:
    """Read the duration ``key`` of Janus's ``info`` answer, strictly.

    Args:
        info: the server's ``info`` answer (a JSON object).
        key: the duration's key, e.g. ``"reclaim-session-timeout"``.
        missing: the value when ``key`` is absent or ``null``.

    Returns:
        The duration in seconds (0 ≤ d ≤ ``MAX_SECONDS``), or ``missing``.

    Raises:
        ProtocolError: ``info`` is not an object, or the value is not a finite number ≥ 0.
    """
    if not isinstance(info, dict):
        raise ProtocolError(f"Janus's info is not a JSON object: {_short(info)}")
    value = info.get(key)
    if value is None:
        return missing
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ProtocolError(f"Janus's info has an invalid {key}: {_short(value)}")
    return float(min(value, MAX_SECONDS))


def info_seconds_or(info: Any, key: str, *, fallback: float) -> float:
    """Read the duration ``key`` of Janus's ``info`` answer, falling back on any bad value.

    Args:
        info: the server's ``info`` answer (anything: a hostile server may send any JSON).
        key: the duration's key, e.g. ``"session-timeout"``.
        fallback: the value when ``key`` is missing or invalid (see ``info_seconds``).

    Returns:
        The duration in seconds (0 ≤ d ≤ ``MAX_SECONDS``), or ``fallback``.
    """
    try:
        return info_seconds(info, key, missing=fallback)
    except ProtocolError:
        return fallback


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
