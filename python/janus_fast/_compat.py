"""What CPython 3.10 lacks and 3.11+ has, behind one import.

Rule: the rest of the package imports ``timeout``, ``timeout_at`` and ``StrEnum`` from here, never
from ``asyncio``/``enum`` directly, and catches ``asyncio.TimeoutError`` around them (on 3.11+ that
is the builtin ``TimeoutError``; on 3.10 it is a different class). On 3.10 the deadlines come from
the ``async-timeout`` backport (aio-libs), whose semantics ``asyncio.timeout`` was taken from.
"""

from __future__ import annotations

import enum
import sys

if sys.version_info >= (3, 11):
    from asyncio import timeout, timeout_at
    from enum import StrEnum
else:  # pragma: no cover - exercised by the 3.10 wheel smoke run
    from async_timeout import timeout, timeout_at

    class StrEnum(str, enum.Enum):
        """``enum.StrEnum`` for 3.10: members are strings and ``str()`` gives the value."""

        def __str__(self) -> str:
            return str(self.value)

        @staticmethod
        def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
            return name.lower()


__all__ = ["StrEnum", "timeout", "timeout_at"]
