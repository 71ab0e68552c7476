"""Janus's Nanomsg transport in test instances: prove its service thread runs, restart if not.

Rule: Janus 1.1.2 starts the Nanomsg transport's service thread before it marks the transport
initialized, and the thread ends at once when it looks first (its log then says ``Nanomsg thread
ended`` right after ``Nanomsg thread started``): the socket stays bound and nobody ever answers.
That is read from Janus's own log, from the last time it loaded the transport on (the log file is
appended across restarts), never guessed; below ``debug_level`` 4 the log does not say, so a
``ping`` is sent on the Janus API socket instead (it needs the socket free: NN_PAIR takes one
client). A dead transport is restarted a bounded number of times.
"""

from __future__ import annotations

import importlib
import time

from janus_fast.testing.config import nanomsg_addresses
from janus_fast.testing.server import JanusServer, JanusStartError

_LOADING = "Loading transport plugin 'libjanus_nanomsg.so'"
_STARTED = "Nanomsg thread started"
_INITIALIZED = "Nanomsg transport plugin initialized"
_ENDED = "Nanomsg thread ended"
#: How long to wait for both start lines in the log, and then for a dead thread's last line.
_LOG_LIMIT = 5.0
_SETTLE = 0.1
#: Janus's ``LOG_INFO``: the level from which the thread's start and end are logged.
_LOG_INFO = 4
#: How long the ``ping`` probe waits for the socket and for the pong (seconds).
_PROBE_LIMIT = 2.0


def _current_run(server: JanusServer) -> str:
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return ""
    start = text.rfind(_LOADING)
    return text[start:] if start >= 0 else ""


def nanomsg_thread_alive(server: JanusServer) -> bool:
    """Tell whether the running instance's Nanomsg transport kept its service thread.

    Args:
        server: a started instance with ``JanusConfig.nanomsg_api``.

    Returns:
        False when the log of the current run says the thread ended (or never shows it start
        within a few seconds), or, below ``debug_level`` 4, when a ``ping`` gets no pong; True
        otherwise.
    """
    if server.config.debug_level < _LOG_INFO:
        return _answers_ping(nanomsg_addresses(server.config, server.folder)[0])
    deadline = time.monotonic() + _LOG_LIMIT
    while True:
        run = _current_run(server)
        if _STARTED in run and _INITIALIZED in run:
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    if run.index(_INITIALIZED) < run.index(_STARTED):
        return _ENDED not in run  # initialized first: the thread saw it
    time.sleep(_SETTLE)  # the thread looked first: give a dead one time to say so
    return _ENDED not in _current_run(server)


def _answers_ping(address: str) -> bool:
    """Send a Janus ``ping`` on a fresh NNG Pair0 socket; True on a pong within the limit."""
    pynng = importlib.import_module("pynng")
    limit_ms = int(_PROBE_LIMIT * 1000)
    with pynng.Pair0(recv_timeout=limit_ms, send_timeout=limit_ms) as sock:
        sock.dial(address, block=False)
        deadline = time.monotonic() + _PROBE_LIMIT
        while not sock.pipes:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        try:
            sock.send(b'{"janus":"ping","transaction":"nanomsg-probe"}')
            return b'"pong"' in sock.recv()
        except pynng.NNGException:  # Timeout: nobody reads the socket
            return False


def ensure_nanomsg_transport(server: JanusServer, attempts: int = 5) -> JanusServer:
    """Restart ``server`` until its Nanomsg transport serves (Janus's start-up race).

    Args:
        server: a started instance with ``JanusConfig.nanomsg_api``.
        attempts: how many starts to try in all.

    Returns:
        The server, its Nanomsg transport serving.

    Raises:
        ValueError: the instance has no Nanomsg transport.
        JanusStartError: the transport's thread ended at every attempt.
    """
    if server.config.nanomsg_api is None:
        raise ValueError("this instance has no Nanomsg transport (JanusConfig.nanomsg_api)")
    for _ in range(attempts):
        if nanomsg_thread_alive(server):
            return server
        server.restart()
    raise JanusStartError(f"Janus's Nanomsg transport thread ended at each of {attempts} starts")
