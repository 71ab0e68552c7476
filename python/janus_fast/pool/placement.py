"""Placement: which server a new session goes to.

Rule: a policy is a pure function of the key and the eligible servers' views (no I/O, no shared
state), so replicas with the same server list and the same health agree. The default,
``RendezvousPlacement``, ranks keyed work by stable rendezvous hashing and unkeyed sessions by
load per unit of weight (up servers before degraded ones). The pool tries servers in the ranked
order, so a refusal falls through to the key's next server — the same one on every replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from janus_fast.pool.hashing import rendezvous_rank
from janus_fast.pool.spec import ServerState, ServerView


@runtime_checkable
class PlacementPolicy(Protocol):
    """Orders the eligible servers for one placement, best first."""

    def rank(self, key: str | None, servers: Sequence[ServerView]) -> list[ServerView]:
        """Return ``servers`` (never empty) ordered best first for ``key`` (None: unkeyed)."""
        ...


class RendezvousPlacement:
    """Keyed: highest-random-weight hashing. Unkeyed: least loaded (load / weight)."""

    def rank(self, key: str | None, servers: Sequence[ServerView]) -> list[ServerView]:
        """Rank by rendezvous score for a key; unkeyed: up before degraded, then least loaded."""
        if key is not None:
            return rendezvous_rank(
                key, servers, [s.name for s in servers], [s.weight for s in servers]
            )
        return sorted(
            servers,
            key=lambda s: (s.state is not ServerState.UP, s.load / s.weight, s.name),
        )

    def __repr__(self) -> str:
        return "RendezvousPlacement()"


__all__ = ["PlacementPolicy", "RendezvousPlacement"]
