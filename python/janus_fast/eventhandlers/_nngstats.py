"""How many messages NNG took from each connection (pipe) of one socket, from NNG's statistics.

Rule: read-only; a snapshot of NNG's statistics is taken and freed in one call, and anything it
cannot read (no pynng, NNG without statistics) gives an empty answer, never an error.
"""

from __future__ import annotations

from typing import Any


def pipe_messages(pynng: Any, socket: Any) -> dict[int, int]:
    """Return the messages each open pipe of ``socket`` has received (pipe id → count).

    Args:
        pynng: the imported pynng module.
        socket: a pynng socket.

    Returns:
        NNG's ``rx_msgs`` counter of every pipe of that socket (empty if unreadable).
    """
    lib, ffi = pynng.lib, pynng.ffi
    try:
        socket_id = lib.nng_socket_id(socket.socket)
        snapshot = ffi.new("nng_stat **")
        if lib.nng_stats_get(snapshot) != 0:
            return {}
    except (AttributeError, TypeError):
        return {}
    root = snapshot[0]
    counts: dict[int, int] = {}
    try:
        item = lib.nng_stat_child(root)
        while item != ffi.NULL:
            if ffi.string(lib.nng_stat_name(item)) == b"pipe":
                values: dict[bytes, int] = {}
                child = lib.nng_stat_child(item)
                while child != ffi.NULL:
                    values[ffi.string(lib.nng_stat_name(child))] = lib.nng_stat_value(child)
                    child = lib.nng_stat_next(child)
                if values.get(b"socket") == socket_id and b"id" in values:
                    counts[values[b"id"]] = values.get(b"rx_msgs", 0)
            item = lib.nng_stat_next(item)
    finally:
        lib.nng_stats_free(root)
    return counts
