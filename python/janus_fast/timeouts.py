"""The one timeout rule of the typed plugin and Admin methods.

Rule: a method's ``timeout`` defaults to ``OPTION_TIMEOUT``, resolved when the method runs to the
``timeout`` option of the connection the request goes through (the session's transport, or the
Admin client's; 30 s unless set). An explicit ``timeout=`` wins (``None``: no deadline). Only
janus-client's raw compatibility calls whose signature fixes a value keep it.
"""

from __future__ import annotations

import enum
from typing import Final, Literal


class _OptionTimeout(enum.Enum):
    OPTION_TIMEOUT = "the transport's timeout option"

    def __repr__(self) -> str:
        return "OPTION_TIMEOUT"


#: The default of every typed method's ``timeout``: the connection's ``timeout`` option.
OPTION_TIMEOUT: Final = _OptionTimeout.OPTION_TIMEOUT

#: What a typed method's ``timeout`` accepts: seconds, ``None`` (no deadline) or the default.
Timeout = float | None | Literal[_OptionTimeout.OPTION_TIMEOUT]


def resolve(timeout: Timeout, option: float | None) -> float | None:
    """Resolve a typed method's ``timeout`` to seconds.

    Args:
        timeout: seconds, None (no deadline) or ``OPTION_TIMEOUT``.
        option: the connection's ``timeout`` option.

    Returns:
        ``option`` for ``OPTION_TIMEOUT``, else ``timeout`` itself.
    """
    if timeout is OPTION_TIMEOUT:
        return option
    return timeout


__all__ = ["OPTION_TIMEOUT", "Timeout", "resolve"]
