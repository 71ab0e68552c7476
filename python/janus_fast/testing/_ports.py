"""Loopback port bookkeeping: pick free ports, and prove which process listens on a port.

Rule: ownership is read from ``/proc`` (listening socket inode → the pid's fds), never guessed.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_LISTEN = "0A"


def pick_free_ports(count: int) -> list[int]:
    """Reserve ``count`` distinct free TCP ports on 127.0.0.1 (released before returning)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int) -> bool:
    """Tell whether nothing listens on 127.0.0.1:``port`` (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening_inodes() -> dict[int, set[int]]:
    """Map port → inodes of sockets listening on it (IPv4 and IPv6)."""
    result: dict[int, set[int]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            port = int(fields[1].rsplit(":", 1)[1], 16)
            result.setdefault(port, set()).add(int(fields[9]))
    return result


def _socket_inodes_of(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def ports_owned_by(pid: int, ports: tuple[int, ...]) -> dict[int, bool]:
    """For each port: does process ``pid`` hold a socket listening on it?"""
    listening = _listening_inodes()
    mine = _socket_inodes_of(pid)
    return {port: bool(listening.get(port, set()) & mine) for port in ports}
