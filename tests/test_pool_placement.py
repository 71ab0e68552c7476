"""Pool placement without Janus: stable rendezvous hashing, minimal movement, weights, the
least-loaded rule, the pluggable policy, and server specs (no secret in a repr)."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from janus_fast.errors import InvalidOptionError
from janus_fast.pool import (
    JanusPool,
    PlacementPolicy,
    RendezvousPlacement,
    ServerSpec,
    ServerState,
    ServerView,
    rendezvous_rank,
    stable_hash64,
)

NAMES = ["janus-a", "janus-b", "janus-c", "janus-d"]
KEYS = [f"room-{i}" for i in range(1000)]


def views(names: list[str], weights: dict[str, float] | None = None) -> list[ServerView]:
    weights = weights or {}
    return [ServerView(n, weights.get(n, 1.0), {}, ServerState.UP, 0) for n in names]


def place(names: list[str], key: str, weights: dict[str, float] | None = None) -> str:
    return RendezvousPlacement().rank(key, views(names, weights))[0].name


def test_two_policies_agree_and_the_order_of_the_list_does_not_matter() -> None:
    first = {k: place(NAMES, k) for k in KEYS}
    second = {k: place(list(reversed(NAMES)), k) for k in KEYS}
    assert first == second
    spread = collections.Counter(first.values())
    assert set(spread) == set(NAMES)
    assert all(150 < n < 350 for n in spread.values()), spread  # ~250 each


def test_the_hash_is_the_same_in_another_process() -> None:
    """Not Python's salted hash(): a fresh interpreter (other PYTHONHASHSEED) agrees."""
    code = (
        "from janus_fast.pool import RendezvousPlacement, ServerView, ServerState\n"
        f"names = {NAMES!r}\n"
        "vs = [ServerView(n, 1.0, {}, ServerState.UP, 0) for n in names]\n"
        "print(','.join(RendezvousPlacement().rank(f'room-{i}', vs)[0].name for i in range(1000)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        check=True,
    ).stdout.strip()
    assert out.split(",") == [place(NAMES, k) for k in KEYS]
    # A pinned value: the hash function must never change between releases.
    assert stable_hash64("room-1", "janus-a") == _PINNED


_PINNED = 18133757657224520064  # blake2b-64 of b"room-1\x00janus-a", big-endian


def test_removing_a_server_moves_only_its_keys() -> None:
    before = {k: place(NAMES, k) for k in KEYS}
    remaining = [n for n in NAMES if n != "janus-c"]
    after = {k: place(remaining, k) for k in KEYS}
    moved = {k for k in KEYS if before[k] != after[k]}
    assert moved == {k for k in KEYS if before[k] == "janus-c"}
    assert 150 < len(moved) < 350
    # Adding it back takes back exactly those keys.
    assert {k: place(NAMES, k) for k in KEYS} == before


def test_weights_shift_the_share() -> None:
    counts = collections.Counter(place(["a", "b"], k, {"a": 3.0, "b": 1.0}) for k in KEYS)
    assert 680 < counts["a"] < 820, counts  # ~750


def test_unkeyed_goes_to_the_least_loaded_per_weight_up_first() -> None:
    servers = [
        ServerView("a", 1.0, {}, ServerState.UP, 10),
        ServerView("b", 2.0, {}, ServerState.UP, 12),  # 6 per unit of weight
        ServerView("c", 1.0, {}, ServerState.DEGRADED, 0),
    ]
    assert [v.name for v in RendezvousPlacement().rank(None, servers)] == ["b", "a", "c"]


def test_rank_helper_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        rendezvous_rank("k", [1, 2], ["a"], [1.0, 1.0])


def test_policy_protocol_and_custom_policy() -> None:
    class Alphabetical:
        def rank(self, key: str | None, servers: list[ServerView]) -> list[ServerView]:
            return sorted(servers, key=lambda s: s.name)

    assert isinstance(RendezvousPlacement(), PlacementPolicy)
    assert isinstance(Alphabetical(), PlacementPolicy)
    JanusPool(["ws://127.0.0.1:1"], policy=Alphabetical())  # accepted without a cast


def test_server_spec_checks_and_hides_secrets() -> None:
    spec = ServerSpec(
        "ws://user:pw@127.0.0.1:8188/?token=tok",
        admin_url="ws://127.0.0.1:7188",
        admin_secret="adm-SECRET",
        api_secret="api-SECRET",
        token="tok-SECRET",
    )
    assert spec.name == "ws://***@127.0.0.1:8188/?token=***"
    text = repr(spec)
    for secret in ("adm-SECRET", "api-SECRET", "tok-SECRET", "pw"):
        assert secret not in text
    assert ServerSpec.of("ws://h:1").name == "ws://h:1"
    assert ServerSpec.of({"url": "ws://h:1", "name": "x", "weight": 2}).weight == 2
    for bad in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(InvalidOptionError):
            ServerSpec("ws://h:1", weight=bad)
    with pytest.raises(InvalidOptionError):
        ServerSpec("ws://h:1", admin_url="ws://h:2")  # no admin secret
    with pytest.raises(InvalidOptionError):
        ServerSpec.of({"url": "ws://h:1", "nope": 1})
    with pytest.raises(InvalidOptionError):
        JanusPool(["ws://h:1", "ws://h:1"])  # same name twice
    with pytest.raises(InvalidOptionError):
        JanusPool([])
    for bad_option in (
        {"probe_interval": 0},
        {"probe_timeout": float("inf")},
        {"create_timeout": float("nan")},
        {"degraded_latency": True},
        {"recheck_interval": 0},
        {"down_after": 0},
        {"max_attempts": 1.5},
        {"handle_scan_limit": -1},
        {"timeout": -1},  # a transport option, checked for every server at construction
        {"ssl": True},  # TLS settings for a plain ws:// URL
    ):
        with pytest.raises(InvalidOptionError):
            JanusPool(["ws://h:1"], **bad_option)
    assert JanusPool(["ws://h:1"], probe_interval=0.3).recheck_interval == 0.3
    assert JanusPool(["ws://h:1"]).recheck_interval == 1.0


def test_request_types_are_bounded() -> None:
    from janus_fast.pool.counted import MAX_TYPES, request_type

    known: set[str] = set()
    assert request_type({"janus": "message", "body": {"request": "join"}}, known) == "message:join"
    assert request_type({"janus": "message", "body": {}}, known) == "message"
    assert request_type({"janus": "trickle"}, known) == "trickle"
    for i in range(2 * MAX_TYPES):
        request_type({"janus": "message", "body": {"request": f"r{i}"}}, known)
    assert len(known) == MAX_TYPES
    assert request_type({"janus": "message", "body": {"request": "new"}}, known) == "other"
    assert request_type({"janus": "trickle"}, known) == "trickle"  # known types still counted
