"""Test-suite wiring: every ``async def`` test runs once per event loop (asyncio and uvloop).

Rule: the loop is created per test (``janus_fast._compat.run``, ``asyncio.Runner`` on 3.11+) with
the loop factory of the parametrised loop; nothing installs a global loop policy. ``--loop``
narrows the set.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from janus_fast._compat import run

LOOPS = ("asyncio", "uvloop")
pytest_plugins = ["pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--loop",
        choices=(*LOOPS, "both"),
        default="both",
        help="event loop(s) for async tests (default: both)",
    )


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop  # a missing uvloop fails the test: it never skips

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if inspect.iscoroutinefunction(metafunc.function):
        choice = metafunc.config.getoption("--loop")
        loops = LOOPS if choice == "both" else (choice,)
        metafunc.fixturenames.append("event_loop_name")
        metafunc.parametrize("event_loop_name", loops)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    funcargs: dict[str, Any] = pyfuncitem.funcargs
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: funcargs[name] for name in names if name in funcargs}
    loop_name = pyfuncitem.callspec.params["event_loop_name"]
    run(function(**kwargs), loop_factory=_loop_factory(loop_name))
    return True


@pytest.fixture(params=["ws", "http"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    """Both built-in transports, for tests that must hold on each."""
    kind: str = request.param
    return kind


@pytest.fixture
def janus_url(janus_server: Any, transport_kind: str) -> str:
    """The shared real Janus, reached over the transport of ``transport_kind``."""
    url: str = janus_server.ws_url if transport_kind == "ws" else janus_server.http_url
    return url
