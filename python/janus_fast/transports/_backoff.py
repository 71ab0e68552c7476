"""The one retry backoff formula (WebSocket reconnection, HTTP long-poll retries).

Rule: attempt ``n`` (from 1) waits ``base * 2**(n-1)`` seconds capped at ``cap``, times a jitter
factor in [0.5, 1) so that many clients cut off together do not come back in lockstep. Both
transports read ``retry_delay`` (base) and ``retry_delay_max`` (cap) from their options.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...): exponential, capped, jittered."""
    delay = min(base * 2.0 ** (attempt - 1), cap)
    return delay * (0.5 + random.random() / 2)
