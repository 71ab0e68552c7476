"""The CPython 3.10 seams (``janus_fast._compat``, the timeout error) hold on every interpreter.

Rule: each test asserts what janus-client code and the rest of the package rely on: a request
deadline is catchable as ``asyncio.TimeoutError`` *and* ``TimeoutError`` (two classes on 3.10),
deadlines raise ``asyncio.TimeoutError``, ``EventType`` members are their string values, and
``_compat.run`` leaves no task or loop behind.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest

from janus_fast import EventType, Expect, JanusSession, RequestTimeoutError
from janus_fast._compat import StrEnum, run, timeout, timeout_at
from janus_fast.message_transaction import MessageTransaction


def test_request_timeout_error_is_both_timeout_classes() -> None:
    error = RequestTimeoutError("late")
    assert isinstance(error, TimeoutError)
    assert isinstance(error, asyncio.TimeoutError)
    assert RequestTimeoutError.__mro__.count(TimeoutError) == 1


async def test_a_missed_deadline_is_caught_as_asyncio_timeout_error() -> None:
    transaction = MessageTransaction()
    caught: BaseException | None = None
    try:
        await transaction.get({"janus": "never"}, timeout=0.02)
    except asyncio.TimeoutError as exc:  # what janus-client code catches
        caught = exc
    assert isinstance(caught, RequestTimeoutError)
    await transaction.done()


async def test_a_real_request_deadline_is_caught_as_asyncio_timeout_error(janus_url: str) -> None:
    async with JanusSession(base_url=janus_url) as session:
        await session.create()
        # A keepalive completes with an ack; waiting for a pong instead never completes.
        with pytest.raises(asyncio.TimeoutError) as caught:
            await session.request({"janus": "keepalive"}, Expect.PONG, timeout=0.2)
        assert isinstance(caught.value, RequestTimeoutError)
        assert isinstance(caught.value, TimeoutError)


async def test_compat_deadlines_raise_asyncio_timeout_error() -> None:
    with pytest.raises(asyncio.TimeoutError):
        async with timeout(0.01):
            await asyncio.sleep(5)
    loop = asyncio.get_running_loop()
    with pytest.raises(asyncio.TimeoutError):
        async with timeout_at(loop.time() + 0.01):
            await asyncio.sleep(5)
    async with timeout(5):
        await asyncio.sleep(0)  # inside the deadline: nothing raised


def test_str_enum_members_are_their_values() -> None:
    assert isinstance(EventType.EVENT, str)
    assert str(EventType.ICE_FAILED) == "ice-failed"
    assert f"{EventType.WEBRTCUP}" == "webrtcup"
    assert EventType("hangup") is EventType.HANGUP
    assert EventType.EVENT == "event"

    class Color(StrEnum):
        RED = "red"

    assert str(Color.RED) == "red" and Color("red") is Color.RED


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_run_cancels_leftover_tasks_and_closes_its_loop(loop_name: str) -> None:
    import uvloop

    factory = uvloop.new_event_loop if loop_name == "uvloop" else asyncio.new_event_loop
    seen: dict[str, Any] = {}

    async def leftover() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise

    async def main() -> int:
        seen["loop"] = asyncio.get_running_loop()
        seen["task"] = asyncio.get_running_loop().create_task(leftover())
        await asyncio.sleep(0)
        return 7

    assert run(main(), loop_factory=factory) == 7
    assert seen["cancelled"] is True
    assert seen["task"].cancelled()
    assert seen["loop"].is_closed()


#: Standard-library names CPython 3.10 lacks (module -> names), and modules it lacks.
_NEWER_THAN_310 = {
    "asyncio": {"timeout", "timeout_at", "Runner", "TaskGroup", "Barrier"},
    "enum": {"StrEnum", "ReprEnum", "verify", "global_enum"},
    "datetime": {"UTC"},
    "typing": {
        "Self",
        "LiteralString",
        "Never",
        "assert_never",
        "assert_type",
        "reveal_type",
        "Required",
        "NotRequired",
        "Unpack",
        "TypeVarTuple",
        "override",
    },
}
_MODULES_NEWER_THAN_310 = {"tomllib"}
_BUILTINS_NEWER_THAN_310 = {"ExceptionGroup", "BaseExceptionGroup"}


def _newer_than_310(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in _NEWER_THAN_310.get(node.value.id, ()):
                found.append(f"{line}: {node.value.id}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in _NEWER_THAN_310:
            for alias in node.names:
                if alias.name in _NEWER_THAN_310[node.module]:
                    found.append(f"{line}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [f"{line}: import {n}" for n in names if n in _MODULES_NEWER_THAN_310]
        elif isinstance(node, ast.Name) and node.id in _BUILTINS_NEWER_THAN_310:
            found.append(f"{line}: {node.id}")
        elif type(node).__name__ == "TryStar":
            found.append(f"{line}: except*")
    return found


def test_no_source_uses_what_python_3_10_lacks() -> None:
    """The package, tests, benchmarks and scripts run on 3.10: 3.11+ names go through
    ``janus_fast._compat`` (the one module allowed to name them, behind a version check)."""
    root = Path(__file__).resolve().parents[1]
    offenders: list[str] = []
    for folder in ("python", "tests", "benches", "scripts"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.name == "_compat.py" and path.parent.name == "janus_fast":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            offenders += [f"{path.relative_to(root)}:{hit}" for hit in _newer_than_310(tree)]
    assert not offenders, "3.11+ only (use janus_fast._compat):\n" + "\n".join(offenders)
