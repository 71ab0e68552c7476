"""The scripted Janus over the message-per-packet transports: pfunix and Nanomsg.

Rule: the same brain and the same armed mutations as ``_fuzz_server`` (one ``Plan`` per
answer), but a message is one packet: a ``SOCK_SEQPACKET`` packet or a ``SOCK_DGRAM`` datagram
(Janus's pfunix, ``UnixScriptedJanus``) or one NNG Pair0 message (Janus's Nanomsg transport,
``NanomsgScriptedJanus``). A plan's ``msg`` and ``raw`` steps each write one packet (``raw``:
bytes that are no message: an empty packet, a message cut in two, several in one, one larger
than the client reads); ``close`` ends the connection: the accepted socket (seqpacket), the
NNG pipe (Nanomsg), or, in datagram mode, the server socket itself, bound again at once (a
Janus restart: the client's connected socket is refused and must reconnect). Nothing blocks: the
sockets are non-blocking and watched with ``add_reader``; a packet the client cannot take within
a second is dropped (as the kernel or NNG would). Every server task is named ``fuzz-server...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
from typing import Any

from _fuzz_server import Plan, ScriptedJanus

#: How long a packet waits for the client to have room before it is dropped.
SEND_PATIENCE = 1.0


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


class PacketScriptedJanus(ScriptedJanus):
    """What the packet servers share: answer each request packet with its plan, in order."""

    def __init__(self) -> None:
        super().__init__()
        self._folder = tempfile.mkdtemp(prefix="janus-fuzz-")
        self._locks: dict[Any, asyncio.Lock] = {}

    def answer(self, data: bytes, peer: Any) -> None:
        """Answer one request packet from ``peer`` (its plan runs in order with the others)."""
        request = _decode(data)
        replies = self.brain.answer(request)
        kind = request.get("janus") if isinstance(request, dict) else None
        plan = self.plan_for(kind, replies)
        self.spawn(self._run(plan, peer))

    async def push(self, plan: Plan) -> None:
        """Messages nobody asked for, to every peer that spoke lately."""
        for peer in list(self._locks):
            self.spawn(self._run(plan, peer))

    async def _run(self, plan: Plan, peer: Any) -> None:
        lock = self._locks.setdefault(peer, asyncio.Lock())
        with contextlib.suppress(OSError, RuntimeError):
            async with lock:
                for step in plan.steps:
                    if step.op == "sleep":
                        await asyncio.sleep(step.delay)
                    elif step.op in ("msg", "raw"):
                        await self.send(peer, step.data)
                    elif step.op == "close":
                        self._locks.pop(peer, None)
                        await self.drop(peer)
                        return

    async def send(self, peer: Any, data: bytes) -> None:
        """Write one packet to ``peer`` (dropped when it has no room within ``SEND_PATIENCE``)."""
        raise NotImplementedError

    async def drop(self, peer: Any) -> None:
        """End the connection with ``peer``."""
        raise NotImplementedError

    def reset(self) -> None:
        super().reset()
        self._locks.clear()

    async def _wait_writable(self, sock: socket.socket) -> bool:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        loop.add_writer(sock.fileno(), lambda: ready.done() or ready.set_result(None))
        try:
            await asyncio.wait_for(ready, SEND_PATIENCE)
        except asyncio.TimeoutError:
            return False
        finally:
            loop.remove_writer(sock.fileno())
        return True

    async def close(self) -> None:
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for name in os.listdir(self._folder):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self._folder, name))
        with contextlib.suppress(OSError):
            os.rmdir(self._folder)


class UnixScriptedJanus(PacketScriptedJanus):
    """Janus's pfunix: ``mode`` ``seqpacket`` (a listening socket, one connection per client)
    or ``dgram`` (one socket; each datagram answered to its sender's path)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.path = os.path.join(self._folder, "janus.sock")
        self._sock: socket.socket | None = None
        self._conns: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"unix+{self.mode}://{self.path}"

    async def start(self) -> UnixScriptedJanus:
        self._bind()
        return self

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        kind = socket.SOCK_SEQPACKET if self.mode == "seqpacket" else socket.SOCK_DGRAM
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        sock = socket.socket(socket.AF_UNIX, kind)
        sock.setblocking(False)
        sock.bind(self.path)
        if self.mode == "seqpacket":
            sock.listen(16)
            loop.add_reader(sock.fileno(), self._accept, sock)
        else:
            loop.add_reader(sock.fileno(), self._read_datagrams, sock)
        self._sock = sock

    def _unbind(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _accept(self, sock: socket.socket) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            conn, _ = sock.accept()
            conn.setblocking(False)
            self._conns.add(conn)
            asyncio.get_running_loop().add_reader(conn.fileno(), self._read_packets, conn)

    def _read_packets(self, conn: socket.socket) -> None:
        for _ in range(64):
            try:
                data = conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the client closed its end
                self._forget(conn)
                return
            self.answer(data, conn)

    def _read_datagrams(self, sock: socket.socket) -> None:
        for _ in range(64):
            try:
                data, sender = sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if sender:  # an unbound sender cannot be answered (Janus drops it too)
                self.answer(data, sender)

    def _forget(self, conn: socket.socket) -> None:
        if conn in self._conns:
            self._conns.discard(conn)
            asyncio.get_running_loop().remove_reader(conn.fileno())
            conn.close()
        self._locks.pop(conn, None)

    async def send(self, peer: Any, data: bytes) -> None:
        while True:
            try:
                if isinstance(peer, socket.socket):
                    if peer.fileno() < 0:
                        return
                    peer.send(data)
                elif self._sock is not None:
                    self._sock.sendto(data, peer)
                return
            except (BlockingIOError, InterruptedError):
                sock = peer if isinstance(peer, socket.socket) else self._sock
                if sock is None or not await self._wait_writable(sock):
                    return
            except OSError:  # too large (EMSGSIZE), the peer gone: lost, as Janus's would be
                return

    async def drop(self, peer: Any) -> None:
        if isinstance(peer, socket.socket):
            self._forget(peer)
        else:  # datagrams: Janus restarting, its socket closed and bound again
            self._unbind()
            await asyncio.sleep(0)
            self._bind()

    async def close(self) -> None:
        for conn in list(self._conns):
            self._forget(conn)
        self._unbind()
        await super().close()


class NanomsgScriptedJanus(PacketScriptedJanus):
    """Janus's Nanomsg transport: an NNG Pair0 socket listening on an ``ipc://`` path."""

    def __init__(self) -> None:
        super().__init__()
        self.address = f"ipc://{os.path.join(self._folder, 'janus.ipc')}"
        self._sock: Any = None
        self._fd = -1

    @property
    def url(self) -> str:
        return f"nanomsg+{self.address}"

    async def start(self) -> NanomsgScriptedJanus:
        import pynng

        self._sock = pynng.Pair0(listen=self.address, send_buffer_size=8192)
        self._fd = self._sock.recv_fd
        asyncio.get_running_loop().add_reader(self._fd, self._read)
        return self

    def _read(self) -> None:
        import pynng

        for _ in range(64):
            try:
                message = self._sock.recv_msg(block=False)
            except pynng.TryAgain:
                return
            except pynng.NNGException:
                return
            self.answer(message.bytes, message.pipe)

    async def send(self, peer: Any, data: bytes) -> None:
        import pynng

        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEND_PATIENCE
        while loop.time() < deadline:
            try:
                self._sock.send(data, block=False)
            except pynng.TryAgain:
                await asyncio.sleep(0.005)
                continue
            except pynng.NNGException:
                return
            return

    async def drop(self, peer: Any) -> None:
        import pynng

        with contextlib.suppress(pynng.NNGException):
            peer.close()

    async def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._sock.close()
            self._sock = None
        await super().close()
