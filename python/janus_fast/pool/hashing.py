"""Stable rendezvous (highest-random-weight) hashing.

Rule: every score is a pure function of (key, server name, weight) computed from BLAKE2b — never
Python's per-process salted ``hash()`` — so every process, on every machine and Python version,
ranks the same servers in the same order for the same key. Removing a server changes the winner
only for the keys that server won; adding one takes only the keys it now wins.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import TypeVar

_T = TypeVar("_T")
_SCALE = float(1 << 64)


def stable_hash64(key: str, name: str) -> int:
    """Hash (``key``, ``name``) to 64 bits, the same in every process."""
    digest = hashlib.blake2b(
        key.encode("utf-8") + b"\x00" + name.encode("utf-8"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


def rendezvous_score(key: str, name: str, weight: float = 1.0) -> float:
    """Return the weighted rendezvous score of ``name`` for ``key`` (higher wins).

    ``weight / -ln(u)`` with ``u`` uniform in (0, 1) from the stable hash: a server of weight 2
    wins about twice as many keys as one of weight 1, and the ranking of two servers for a key
    never depends on the other servers.

    Args:
        key: the placement key.
        name: the server's name.
        weight: the server's weight (> 0).

    Returns:
        The score; the server with the highest score owns the key.
    """
    unit = (stable_hash64(key, name) + 0.5) / _SCALE
    return weight / -math.log(unit)


def rendezvous_rank(
    key: str, items: Iterable[_T], name_of: Sequence[str], weight_of: Sequence[float]
) -> list[_T]:
    """Order ``items`` best first for ``key`` (ties, practically impossible, by name)."""
    scored = [
        (rendezvous_score(key, name, weight), name, index, item)
        for index, (item, name, weight) in enumerate(zip(items, name_of, weight_of, strict=True))
    ]
    scored.sort(key=lambda entry: (-entry[0], entry[1], entry[2]))
    return [entry[3] for entry in scored]


__all__ = ["rendezvous_rank", "rendezvous_score", "stable_hash64"]
