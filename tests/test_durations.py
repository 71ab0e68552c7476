"""Durations from Janus's ``info``: one parser (``janus_fast._durations``), two policies.

Rule: the strict policy (recovery's ``reclaim-session-timeout``) raises ``ProtocolError`` on any
value that is not a finite number ≥ 0; the lenient one (the keepalive's ``session-timeout``)
falls back instead. Both agree on every valid value. The keepalive period is half the lenient
session-timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from janus_fast import ProtocolError
from janus_fast._durations import MAX_SECONDS, info_seconds, info_seconds_or
from janus_fast.session import keepalive_period_of, session_timeout_of

VALID = [
    (0, 0.0),
    (30, 30.0),
    (2.5, 2.5),
    (10**30, MAX_SECONDS),  # capped
    (MAX_SECONDS + 1, MAX_SECONDS),
]
INVALID = [-5, -0.5, "30s", True, False, float("nan"), float("inf"), float("-inf"), [30], {}]


@pytest.mark.parametrize(("value", "seconds"), VALID)
def test_valid_durations_read_the_same_under_both_policies(value: Any, seconds: float) -> None:
    info = {"reclaim-session-timeout": value, "session-timeout": value}
    assert info_seconds(info, "reclaim-session-timeout", missing=0.0) == seconds
    assert info_seconds_or(info, "session-timeout", fallback=60.0) == seconds
    assert session_timeout_of(info) == seconds


@pytest.mark.parametrize("value", INVALID)
def test_strict_policy_raises_naming_the_key(value: Any) -> None:
    with pytest.raises(ProtocolError, match=r"invalid reclaim-session-timeout: "):
        info_seconds({"reclaim-session-timeout": value}, "reclaim-session-timeout", missing=0.0)


@pytest.mark.parametrize("value", INVALID)
def test_lenient_policy_falls_back(value: Any) -> None:
    assert info_seconds_or({"session-timeout": value}, "session-timeout", fallback=60.0) == 60.0
    assert session_timeout_of({"session-timeout": value}) == 60.0


def test_missing_or_null_gives_the_callers_value() -> None:
    for info in ({}, {"reclaim-session-timeout": None}):
        assert info_seconds(info, "reclaim-session-timeout", missing=0.0) == 0.0
        assert info_seconds(info, "reclaim-session-timeout", missing=7.0) == 7.0
    assert session_timeout_of({}) == 60.0
    assert session_timeout_of({"session-timeout": None}) == 60.0


@pytest.mark.parametrize("info", [None, [1], "info", 9223372036854775808])
def test_an_info_that_is_not_an_object(info: Any) -> None:
    with pytest.raises(ProtocolError, match="not a JSON object"):
        info_seconds(info, "reclaim-session-timeout", missing=0.0)
    assert info_seconds_or(info, "session-timeout", fallback=60.0) == 60.0
    assert session_timeout_of(info) == 60.0


def test_the_error_shows_a_short_value_only() -> None:
    with pytest.raises(ProtocolError) as caught:
        info_seconds({"session-timeout": "x" * 10_000}, "session-timeout", missing=0.0)
    assert len(str(caught.value)) < 200 and str(caught.value).endswith("...")


@pytest.mark.parametrize(
    ("value", "period"),
    [(60, 30.0), (1, 1.0), (0.5, 1.0), (0, None), (None, 30.0), ("30s", 30.0), (-1, 30.0)],
)
def test_the_keepalive_period_is_half_the_session_timeout(value: Any, period: float | None) -> None:
    # At least 1 s; None when sessions never time out (0); invalid or missing: the fall-back 60 s.
    info = {} if value is None else {"session-timeout": value}
    assert keepalive_period_of(info) == period
    assert keepalive_period_of(info) == period  # the second read comes from the kept answer


def test_the_kept_keepalive_period_belongs_to_one_info_object() -> None:
    first, second = {"session-timeout": 10}, {"session-timeout": 40}
    assert keepalive_period_of(first) == 5.0
    assert keepalive_period_of(second) == 20.0  # another server's info: its own answer
    assert keepalive_period_of(first) == 5.0
