"""``HttpEventReceiver``: the endpoint Janus's HTTP event handler (``sampleevh``) POSTs to.

Rule: every well-formed POST is answered ``200`` at once, whatever the stream does with it (a
full stream drops its oldest event and counts it): a slow or failed answer makes Janus retransmit
the same events. Grouped posts (JSON arrays), ``Content-Encoding: gzip`` (``compress = true``) and
Basic auth (``backend_user``/``backend_pwd``) are understood; the credentials never show in logs,
reprs or errors.
"""

from __future__ import annotations

import asyncio

from janus_fast.errors import InvalidOptionError
from janus_fast.eventhandlers._http import (
    HttpError,
    RequestHead,
    basic_auth_ok,
    gunzip,
    read_body,
    read_head,
    respond,
)
from janus_fast.eventhandlers._server import ReceiverServer
from janus_fast.eventhandlers.events import InvalidEventError, decode_payload
from janus_fast.eventhandlers.stream import EventStream


class HttpEventReceiver(ReceiverServer):
    """An asyncio HTTP/1.1 server for ``janus.eventhandler.sampleevh``.

    Set the handler's ``backend`` to ``receiver.url`` (after ``start()``), and its
    ``backend_user``/``backend_pwd`` to ``username``/``password`` if given.
    ``stats()``: ``requests``, ``accepted`` (posts answered 200), ``compressed`` (gzip bodies
    among them), ``unauthorized`` (401),
    ``refused`` (other 4xx), ``connections``, ``errors``.

    Args:
        stream: the stream the events go to (None: a new ``EventStream``, as ``receiver.stream``).
        host: the address to listen on.
        port: the port to listen on (0: a free one, read ``receiver.port`` after ``start()``).
        path: the only path POSTs are accepted on (404 elsewhere).
        username: with ``password``, require these Basic credentials (401 otherwise).
        password: the Basic password; never logged or shown.
        server: the tag set on every event (``event.server``; None: the event's emitter).
        max_body_size: the largest body accepted, also after gzip inflation (413 beyond).
        read_timeout: seconds a request's head, then the rest of the request, may take.

    Raises:
        InvalidOptionError: a path not starting with ``/``, a port out of range, or a
            non-positive or infinite ``read_timeout``.
    """

    def __init__(
        self,
        stream: EventStream | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        username: str | None = None,
        password: str | None = None,
        server: str | None = None,
        max_body_size: int = 16 * 1024 * 1024,
        read_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            stream, host=host, port=port, path=path, server=server, read_timeout=read_timeout
        )
        if (username is None) != (password is None):
            raise InvalidOptionError("give both username and password, or neither")
        if username is not None and ":" in username:
            raise InvalidOptionError("a Basic auth username cannot contain ':'")
        if not (isinstance(max_body_size, int) and max_body_size > 0):
            raise InvalidOptionError("max_body_size must be an integer > 0")
        self._username = username
        self._password = password
        self.max_body_size = max_body_size
        self._counters.update(requests=0, accepted=0, compressed=0, unauthorized=0, refused=0)

    def __repr__(self) -> str:
        return (
            f"HttpEventReceiver(host={self.host!r}, port={self.port}, path={self.path!r}, "
            f"server={self.server!r}, auth={self._username is not None})"
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            # An idle keep-alive connection (or a peer stuck mid-request) is closed.
            head = await asyncio.wait_for(read_head(reader), self.read_timeout)
            if head is None:
                return
            self._count("requests")
            try:
                status = await asyncio.wait_for(
                    self._handle(reader, writer, head), self.read_timeout
                )
            except HttpError as exc:
                self._count("unauthorized" if exc.status == 401 else "refused")
                extra = (
                    {"WWW-Authenticate": 'Basic realm="janus-events"'} if exc.status == 401 else {}
                )
                respond(writer, exc.status, headers=extra, close=True)
                await writer.drain()
                return
            respond(writer, status, close=not head.keep_alive)
            await writer.drain()
            if not head.keep_alive:
                return

    def _authorized(self, authorization: str | None) -> bool:
        if self._username is None or self._password is None:  # both or neither (init)
            return True
        return basic_auth_ok(authorization, self._username, self._password)

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: RequestHead
    ) -> int:
        if head.path != self.path:
            raise HttpError(404, "unknown path")
        if head.method != "POST":
            raise HttpError(405, "events are POSTed")
        if not self._authorized(head.headers.get("authorization")):
            raise HttpError(401, "bad or missing credentials")
        if head.headers.get("expect", "").lower() == "100-continue":
            respond(writer, 100)
            await writer.drain()
        body = await read_body(reader, head, self.max_body_size)
        encoding = head.headers.get("content-encoding", "identity").lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            body = gunzip(body, self.max_body_size)
            self._count("compressed")
        elif encoding != "identity":
            raise HttpError(415, "unsupported content encoding")
        try:
            events = decode_payload(body)
        except InvalidEventError as exc:
            self.stream.count_invalid()
            raise HttpError(400, str(exc)) from None
        self.stream.publish(events, self.server)
        self._count("accepted")
        return 200
