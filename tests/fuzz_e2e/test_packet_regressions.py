"""Regression tests for what the end-to-end fuzzer found on the message-per-packet transports.

Rule: each test replays one finding against the fuzzer's scripted Janus (``_fuzz_packet``) with
the real client, and checks the invariant it broke: no exception escapes to the event loop's
handler (an untyped error in a reader callback, a future's exception never retrieved), and the
connection keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from _fuzz_packet import NanomsgScriptedJanus, UnixScriptedJanus
from _fuzz_server import Plan, Reply, Step

from janus_fast import JanusTransport
from janus_fast.errors import TransportError

OPTIONS = {"timeout": 1.0, "connect_timeout": 0.3, "max_retries": 0, "keepalive_interval": None}


@contextlib.contextmanager
def loop_errors() -> Iterator[list[str]]:
    """Collect what reaches the running loop's exception handler.

    Yields:
        The handler's messages (with their exceptions), as they come.
    """
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(
        lambda _, context: errors.append(f"{context.get('message')} {context.get('exception')!r}")
    )
    try:
        yield errors
    finally:
        loop.set_exception_handler(None)


# A zero-length SOCK_SEQPACKET packet reads as the end of the connection (recv() returns 0
# either way): the client recovers from it as from a close, so it is left out here.
@pytest.mark.parametrize("kind", ["nanomsg", "unix+dgram"])
async def test_an_empty_message_is_ignored_and_the_reader_goes_on(kind: str) -> None:
    """An empty message (pynng could not unpack one: RuntimeError in the reader) is dropped."""
    with loop_errors() as errors:
        await _empty_message(kind)
    assert errors == []


async def _empty_message(kind: str) -> None:
    server: Any = NanomsgScriptedJanus() if kind == "nanomsg" else UnixScriptedJanus(kind[5:])
    await server.start()
    transport = JanusTransport.create_transport(server.url, config=OPTIONS)
    try:
        await transport.connect()
        assert (await transport.ping())["janus"] == "pong"
        await server.push(Plan([Step("raw", b"")]))
        await asyncio.sleep(0.05)
        assert (await transport.ping())["janus"] == "pong"
    finally:
        await transport.disconnect()
        await server.close()


async def test_an_unanswered_connection_probe_leaves_no_unretrieved_error() -> None:
    """Janus never answering the Nanomsg probe ``ping``: a ``TransportError``, and the probe's
    own timeout is retrieved (no "Future exception was never retrieved" at collection)."""
    with loop_errors() as errors:
        await _unanswered_probe()
    assert errors == []


async def _unanswered_probe() -> None:
    server = await NanomsgScriptedJanus().start()

    def drop(replies: list[Reply]) -> Plan:
        return Plan([])

    server.arm("ping", drop)
    transport = JanusTransport.create_transport(server.url, config=OPTIONS)
    try:
        with pytest.raises(TransportError):
            await transport.connect()
        await asyncio.sleep(0.05)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        await transport.disconnect()
        await server.close()
