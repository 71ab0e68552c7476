"""pytest plugin (entry point ``pytest11``): real Janus fixtures for any test suite.

Fixtures: ``janus_server`` (session-scoped, default mode) and ``janus_factory`` (start instances in
other modes; each is stopped when the test ends). A missing binary fails the test with the install
hint — it never skips.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from janus_fast.testing.config import JanusConfig
from janus_fast.testing.server import JanusServer

JanusFactory = Callable[..., JanusServer]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--janus-binary`` and ``--janus-expect-version`` to pytest's options."""
    group = parser.getgroup("janus_fast")
    group.addoption(
        "--janus-binary",
        default=None,
        help="path to the janus executable (default: $JANUS_BINARY, then PATH)",
    )
    group.addoption(
        "--janus-expect-version",
        default=None,
        help="fail every Janus start whose info version is not this one (e.g. 1.4.1)",
    )


def _binary(config: pytest.Config) -> str | None:
    value: str | None = config.getoption("--janus-binary", default=None)
    return value


def _expect_version(config: pytest.Config) -> str | None:
    value: str | None = config.getoption("--janus-expect-version", default=None)
    return value


@pytest.fixture(scope="session")
def janus_server(pytestconfig: pytest.Config) -> Iterator[JanusServer]:
    """Start one real Janus (default mode) shared by the whole test session.

    Yields:
        The running ``JanusServer``; it is stopped when the session ends.
    """
    config = JanusConfig(expect_version=_expect_version(pytestconfig))
    with JanusServer(config, binary=_binary(pytestconfig)) as server:
        yield server


@pytest.fixture
def janus_factory(pytestconfig: pytest.Config) -> Iterator[JanusFactory]:
    """Start Janus instances in other modes: ``janus_factory(api_secret="s")``.

    ``binary=`` runs another Janus build than ``--janus-binary`` (its own modules are loaded).
    Every instance started is stopped when the test ends.

    Yields:
        ``start(config=None, *, binary=None, **settings)``: starts a ``JanusServer`` from a
        ``JanusConfig`` or from its fields as keywords (not both: ``TypeError``).
    """
    started: list[JanusServer] = []

    def start(
        config: JanusConfig | None = None,
        *,
        binary: str | os.PathLike[str] | None = None,
        **settings: Any,
    ) -> JanusServer:
        if config is not None and settings:
            raise TypeError("pass either a JanusConfig or keyword settings, not both")
        if config is None:
            if binary is None:  # --janus-expect-version speaks of --janus-binary only
                settings.setdefault("expect_version", _expect_version(pytestconfig))
            config = JanusConfig(**settings)
        server = JanusServer(config, binary=binary or _binary(pytestconfig))
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
