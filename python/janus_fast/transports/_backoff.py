"""The one retry backoff formula (WebSocket reconnection, HTTP long-poll retries).

Rule: attempt ``n`` (from 1) waits ``base * 2**(n-1)`` seconds capped at ``cap``, times a jitter
factor in [0.5, 1) so that many clients cut off together do not come back in lockstep. Both
transports read ``retry_delay`` (base) and ``retry_delay_max`` (cap) from their options.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Compute the seconds to wait before a retry: exponential, capped, jittered.

    Args:
        attempt: The retry's number, from 1.
        base: The first delay, in seconds (``retry_delay``).
        cap: The longest delay before jitter, in seconds (``retry_delay_max``).

    Returns:
        ``min(base * 2**(attempt-1), cap)`` times a random factor in [0.5, 1).
    """
    delay = min(base * 2.0 ** (attempt - 1), cap)
    return delay * (0.5 + random.random() / 2)
