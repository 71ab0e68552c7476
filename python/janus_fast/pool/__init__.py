"""Many Janus servers from one orchestrator: ``JanusPool`` and its parts.

Rule: this package only re-exports. ``JanusPool`` (pool.py) owns lifecycle, health, placement,
drain and failover; ``ServerSpec`` (spec.py) describes a server; placement policies
(placement.py) are pure; rendezvous hashing (hashing.py) is stable across processes.
See docs/orchestrator.md.
"""

from janus_fast.pool.errors import NoServerAvailableError, ServerDownError, UnknownServerError
from janus_fast.pool.events import (
    PoolEvent,
    PoolEventStream,
    ServerDrained,
    ServerDraining,
    ServerLost,
    ServerRecovered,
    ServerStateChanged,
)
from janus_fast.pool.hashing import rendezvous_rank, rendezvous_score, stable_hash64
from janus_fast.pool.placement import PlacementPolicy, RendezvousPlacement
from janus_fast.pool.pool import JanusPool
from janus_fast.pool.reconcile import HandleRecord, Reconciliation
from janus_fast.pool.spec import ServerSpec, ServerState, ServerView

__all__ = [
    "HandleRecord",
    "JanusPool",
    "NoServerAvailableError",
    "PlacementPolicy",
    "PoolEvent",
    "PoolEventStream",
    "Reconciliation",
    "RendezvousPlacement",
    "ServerDownError",
    "ServerDrained",
    "ServerDraining",
    "ServerLost",
    "ServerRecovered",
    "ServerSpec",
    "ServerState",
    "ServerStateChanged",
    "ServerView",
    "UnknownServerError",
    "rendezvous_rank",
    "rendezvous_score",
    "stable_hash64",
]
