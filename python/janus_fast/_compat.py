"""What CPython 3.10 lacks and 3.11+ has, behind one import.

Rule: the rest of the package imports ``timeout``, ``timeout_at``, ``StrEnum`` and ``run`` (instead
of ``asyncio.Runner``) from here, never from ``asyncio``/``enum`` directly, and catches
``asyncio.TimeoutError`` around deadlines (on 3.11+ that is the builtin ``TimeoutError``; on 3.10
it is a different class). On 3.10 the deadlines come from the ``async-timeout`` backport
(aio-libs), whose semantics ``asyncio.timeout`` was taken from.
"""

from __future__ import annotations

import asyncio
import enum
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

if sys.version_info >= (3, 11):
    from asyncio import timeout, timeout_at
    from enum import StrEnum

    def run(
        main: Coroutine[Any, Any, _T], *, loop_factory: Callable[[], asyncio.AbstractEventLoop]
    ) -> _T:
        """Run ``main`` to completion on a new loop from ``loop_factory``, then close the loop."""
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(main)

else:  # pragma: no cover - exercised by the 3.10 wheel smoke run
    from async_timeout import timeout, timeout_at

    class StrEnum(str, enum.Enum):
        """``enum.StrEnum`` for 3.10: members are strings and ``str()`` gives the value."""

        def __str__(self) -> str:
            return str(self.value)

        @staticmethod
        def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
            return name.lower()

    def run(
        main: Coroutine[Any, Any, _T], *, loop_factory: Callable[[], asyncio.AbstractEventLoop]
    ) -> _T:
        """Run ``main`` to completion on a new loop from ``loop_factory``, then close the loop.

        As ``asyncio.Runner`` does on 3.11+: the loop is not installed as the current loop; tasks
        still pending when ``main`` ends are cancelled and awaited, then async generators and the
        default executor are shut down.

        Args:
            main: the coroutine to run.
            loop_factory: builds the new event loop.

        Returns:
            What ``main`` returned.
        """
        loop = loop_factory()
        try:
            return loop.run_until_complete(main)
        finally:
            try:
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
        leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in leftovers:
            task.cancel()
        if not leftovers:
            return
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        for task in leftovers:
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "task raised while the loop was closing",
                        "exception": task.exception(),
                        "task": task,
                    }
                )


__all__ = ["StrEnum", "run", "timeout", "timeout_at"]
