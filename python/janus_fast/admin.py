"""``JanusAdminMonitorClient``: the Janus Admin/Monitor API over WebSocket or HTTP.

Rule: one request, one reply. Every typed method either returns the reply's payload or raises
``AdminError`` — which is also the typed ``JanusError`` of the code (``UnauthorizedError`` …) —
never a ``KeyError``. ``admin_secret`` is added to a copy of each request (never the caller's dict)
and appears in no repr, log line or error text. janus-client's raw ``send_wrapper`` is kept and,
as there, returns error replies instead of raising. Every typed method's ``timeout`` defaults to the
client's ``timeout`` option (30 s unless given), read when the method runs; ``send_wrapper`` keeps
janus-client's 15 s.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from janus_fast._core import Expect
from janus_fast.errors import JanusError, PluginError, combined_class, janus_error_class
from janus_fast.message_transaction import Matcher
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout, resolve
from janus_fast.transport import JanusTransport

if TYPE_CHECKING:
    from typing_extensions import Self

logger = logging.getLogger("janus_fast.admin")

JsonDict = dict[str, Any]
#: janus-client's ``send_wrapper`` timeout (seconds).
SEND_WRAPPER_TIMEOUT = 15.0
#: Requests Janus answers without the admin secret.
_PUBLIC = frozenset({"ping", "info"})


class AdminError(JanusError):
    """An Admin API ``error`` reply (``code``, ``reason``).

    Raised objects are also the typed ``JanusError`` subclass of their code, so both
    ``except AdminError`` and ``except UnauthorizedError`` catch a 403.
    """


def admin_error(code: int, reason: str) -> AdminError:
    """Build an ``AdminError`` that is also the typed ``JanusError`` of ``code`` and a ``KeyError``.

    ``KeyError`` is what janus-client's typed admin methods raised on an error reply; the class
    comes from the errors factory (``combined_class``).

    Args:
        code: the Janus error code (0 for a malformed reply).
        reason: the error text.

    Returns:
        The combined error.
    """
    return combined_class(AdminError, janus_error_class(code), KeyError)(code, reason)


def _default_matcher(message: JsonDict) -> bool:
    return True


class JanusAdminMonitorClient:
    """Janus Admin/Monitor API client (janus-client's constructor and methods, and the rest).

    ``base_url`` is the admin WebSocket (``ws://host:7188``, subprotocol
    ``janus-admin-protocol``) or the admin HTTP endpoint (``http://host:7088/admin``). Extra
    keyword arguments are transport options (``timeout``, ``ssl``, ``headers`` …). The Admin
    API authenticates with ``admin_secret`` only; ``api_secret``/``token`` are kept for
    janus-client compatibility and are not sent.

    Every typed method raises ``AdminError`` (also the typed ``JanusError`` of the code, e.g.
    ``UnauthorizedError`` for a wrong secret, and a ``KeyError``) on an error reply or a reply
    without the expected field, ``RequestTimeoutError`` past its deadline and
    ``TransportError`` when the connection fails.

    Args:
        base_url: the admin endpoint (``ws://``, ``wss://``, ``http://`` or ``https://``).
        admin_secret: Janus's ``admin_secret``, added to every request but ``ping`` and
            ``info``; never logged or shown.
        api_secret: accepted for janus-client compatibility; not sent.
        token: accepted for janus-client compatibility; not sent.
        **transport_options: transport options (``TransportOptions`` fields).
    """

    def __init__(
        self,
        base_url: str,
        admin_secret: str,
        api_secret: str | None = None,
        token: str | None = None,
        **transport_options: Any,
    ) -> None:
        config: JsonDict = dict(transport_options)
        config["subprotocol"] = "janus-admin-protocol"
        self._transport = JanusTransport.create_transport(base_url=base_url, config=config)
        self._admin_secret = admin_secret
        self._api_secret = api_secret
        self._token = token

    @property
    def transport(self) -> JanusTransport:
        """The transport the requests go through."""
        return self._transport

    @property
    def base_url(self) -> str:
        """The admin endpoint's URL."""
        return self._transport.base_url

    def __repr__(self) -> str:  # never shows admin_secret, api_secret or token
        state = "connected" if self._transport.connected else "disconnected"
        return f"<JanusAdminMonitorClient {self._transport.base_url} {state}>"

    __str__ = __repr__

    # -- connection -------------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the connection (requests also connect on demand)."""
        await self._transport.connect()

    async def disconnect(self) -> None:
        """Close the connection."""
        await self._transport.disconnect()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    # -- requests ---------------------------------------------------------------------------------
    def _prepare(
        self, message: JsonDict, authorize: bool
    ) -> tuple[JsonDict, int | None, int | None]:
        body = {
            key: value
            for key, value in message.items()
            if key not in ("transaction", "session_id", "handle_id")
        }
        if authorize:
            body["admin_secret"] = self._admin_secret
        session_id, handle_id = message.get("session_id"), message.get("handle_id")
        return (
            body,
            session_id if isinstance(session_id, int) else None,
            handle_id if isinstance(handle_id, int) else None,
        )

    async def request(
        self,
        message: JsonDict,
        session_id: int | None = None,
        handle_id: int | None = None,
        *,
        authorize: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send one Admin API request and return its reply.

        The caller's dict is not modified.

        Args:
            message: the request (``{"janus": ..., ...}``); a ``session_id``/``handle_id`` in it
                addresses the request when the arguments do not.
            session_id: the session a session or handle request is for (in the URL path over
                HTTP, in the body over WebSocket).
            handle_id: the handle a handle request is for.
            authorize: whether to add ``admin_secret``; by default it is left out only for
                ``ping`` and ``info``.
            timeout: deadline in seconds (None: none); by default the ``timeout`` option.

        Returns:
            The reply, decoded.

        Raises:
            ValueError: ``message`` has no ``janus`` key.
            AdminError: Janus answered with an error (also the typed ``JanusError`` of its code).
            RequestTimeoutError: no reply before the deadline.
            TransportError: connecting failed or the connection was lost.
        """  # noqa: DOC501 (admin_error builds the AdminError listed)
        if "janus" not in message:
            raise ValueError('an Admin API request needs a "janus" key')
        if authorize is None:
            authorize = message["janus"] not in _PUBLIC
        body, body_session, body_handle = self._prepare(message, authorize)
        if session_id is None:
            session_id = body_session
        if handle_id is None:
            handle_id = body_handle
        if not self._transport.connected:
            await self._transport.connect()
        try:
            limit = resolve(timeout, self._transport.options.timeout)
            reply = await self._transport.send_request(
                body, Expect.ANY, session_id, handle_id, limit
            )
        except AdminError:
            raise
        except JanusError as exc:
            raise admin_error(exc.code, exc.reason) from None
        result: JsonDict = reply.json()
        return result

    async def send_wrapper(
        self,
        message: JsonDict,
        matcher: Matcher | None = None,
        jsep: JsonDict | None = None,
        timeout: float | None = SEND_WRAPPER_TIMEOUT,
        authorize: bool = True,
    ) -> JsonDict:
        """Send a raw request (janus-client's) and return the first reply ``matcher`` accepts.

        Unlike the typed methods it returns error replies (as janus-client did). The caller's
        dict is not modified; ``session_id``/``handle_id`` in it address the request.

        Args:
            message: the request (``{"janus": ..., ...}``).
            matcher: a callable that accepts a reply, or a dict every accepted reply contains
                (an ``error`` reply is accepted too); None or ``{}``: the first reply.
            jsep: a JSEP to add to the request.
            timeout: deadline in seconds (None: none); 15 s as in janus-client.
            authorize: whether to add ``admin_secret``.

        Returns:
            The accepted reply, or the ``error`` reply.

        Raises:
            ValueError: ``message`` has no ``janus`` key.
            RequestTimeoutError: no accepted reply before the deadline.
            TransportError: connecting failed or the connection was lost.
        """
        if "janus" not in message:
            raise ValueError('an Admin API request needs a "janus" key')
        body, session_id, handle_id = self._prepare(message, authorize)
        if jsep:
            body["jsep"] = jsep
        if not self._transport.connected:
            await self._transport.connect()
        accepts: Callable[[JsonDict], Any]
        if matcher is None or (isinstance(matcher, dict) and not matcher):
            accepts = _default_matcher
        elif isinstance(matcher, dict):
            from janus_fast.message_transaction import is_subset

            wanted = matcher

            def accepts(reply: JsonDict) -> bool:
                return reply.get("janus") == "error" or is_subset(reply, wanted)

        else:
            accepts = matcher
        stream = await self._transport.open_stream(body, session_id, handle_id)
        async with stream:
            return await stream.get(accepts, timeout)

    async def _field(self, message: JsonDict, field: str, *path: int | None) -> Any:
        reply = await self.request(message, *path)
        if field not in reply:
            raise admin_error(0, f"unexpected {message['janus']} reply: no {field!r}")
        return reply[field]

    async def _int_field(self, message: JsonDict, field: str, *path: int | None) -> int:
        """Return ``field`` of the reply, which must be a JSON integer (never cast)."""
        value = await self._field(message, field, *path)
        if type(value) is not int:
            raise admin_error(
                0, f"unexpected {message['janus']} reply: {field!r} is {_short(value)}"
            )
        return value

    async def _object_field(self, message: JsonDict, field: str, *path: int | None) -> JsonDict:
        """Return ``field`` of the reply, which must be a JSON object."""
        value = await self._field(message, field, *path)
        if not isinstance(value, dict):
            raise admin_error(
                0, f"unexpected {message['janus']} reply: {field!r} is {_short(value)}"
            )
        return value

    async def _id_list(self, message: JsonDict, field: str, *path: int | None) -> list[int]:
        """Return ``field`` of the reply as a list of ids (a missing or non-list value: no ids).

        An entry that is not a JSON integer fails the call with ``AdminError``.
        """  # noqa: DOC501 (admin_error builds an AdminError)
        values = await self._field(message, field, *path)
        if not isinstance(values, list):
            return []
        for value in values:
            if type(value) is not int:
                raise admin_error(
                    0, f"unexpected {message['janus']} reply: {field!r} holds {_short(value)}"
                )
        return values

    # -- server -----------------------------------------------------------------------------------
    async def ping(self) -> JsonDict:
        """Send ``ping`` (no secret needed) and return the ``pong`` reply."""
        return await self.request({"janus": "ping"}, authorize=False)

    async def info(self) -> JsonDict:
        """Send ``info`` (no secret needed) and return the ``server_info`` reply."""
        return await self.request({"janus": "info"}, authorize=False)

    async def loops_info(self) -> list[Any]:
        """Return ``loops_info``: handles per static event loop (empty without static loops)."""
        loops = await self._field({"janus": "loops_info"}, "loops")
        return list(loops) if isinstance(loops, list) else []

    async def get_settings(self) -> JsonDict:
        """Return ``get_status``: the settings that can be changed at runtime."""
        return await self._object_field({"janus": "get_status"}, "status")

    get_status = get_settings

    async def accept_new_sessions(self, accept: bool) -> bool:
        """Refuse (False: error 472 on ``create``) or accept new sessions; return the setting."""
        return bool(await self._field({"janus": "accept_new_sessions", "accept": accept}, "accept"))

    # -- settings (each returns the value Janus now uses) -----------------------------------------
    async def set_session_timeout(self, session_timeout: int, session_id: int | None = None) -> int:
        """Set the session timeout (s) globally, or for one session; return the value now used.

        Args:
            session_timeout: the timeout in seconds (0: sessions never time out).
            session_id: only this session (a janus_fast addition); None: the global setting.

        Returns:
            The timeout Janus now uses.
        """
        message = {"janus": "set_session_timeout", "timeout": session_timeout}
        return await self._int_field(message, "timeout", session_id)

    async def set_log_level(self, log_level: int) -> int:
        """Set Janus's log level (0-7); return the level now used."""
        return await self._int_field({"janus": "set_log_level", "level": log_level}, "level")

    async def set_log_timestamps(self, log_timestamps: bool) -> bool:
        """Turn timestamps in Janus's log on or off; return the setting now used."""
        message = {"janus": "set_log_timestamps", "timestamps": log_timestamps}
        return bool(await self._field(message, "log_timestamps"))

    async def set_log_colors(self, log_colors: bool) -> bool:
        """Turn colors in Janus's log on or off; return the setting now used."""
        message = {"janus": "set_log_colors", "colors": log_colors}
        return bool(await self._field(message, "log_colors"))

    async def set_locking_debug(self, locking_debug: bool) -> bool:
        """Turn Janus's locking debug on or off; return the setting now used."""
        message = {"janus": "set_locking_debug", "debug": locking_debug}
        return bool(await self._field(message, "locking_debug"))

    async def set_refcount_debug(self, refcount_debug: bool) -> bool:
        """Turn Janus's reference-count debug on or off; return the setting now used."""
        message = {"janus": "set_refcount_debug", "debug": refcount_debug}
        return bool(await self._field(message, "refcount_debug"))

    async def set_libnice_debug(self, libnice_debug: bool) -> bool:
        """Turn libnice debugging on or off; return the setting now used."""
        message = {"janus": "set_libnice_debug", "debug": libnice_debug}
        return bool(await self._field(message, "libnice_debug"))

    async def set_min_nack_queue(self, min_nack_queue: int) -> int:
        """Set the minimum NACK queue (ms); return the value now used."""
        message = {"janus": "set_min_nack_queue", "min_nack_queue": min_nack_queue}
        return await self._int_field(message, "min_nack_queue")

    async def set_nack_optimizations(self, nack_optimizations: bool) -> bool:
        """Turn NACK optimizations on or off; return the setting now used."""
        message = {"janus": "set_nack_optimizations", "nack_optimizations": nack_optimizations}
        return bool(await self._field(message, "nack-optimizations"))

    async def set_no_media_timer(self, no_media_timer: int) -> int:
        """Set the no-media timer (s) after which ``media`` events report no media; return it."""
        message = {"janus": "set_no_media_timer", "no_media_timer": no_media_timer}
        return await self._int_field(message, "no_media_timer")

    async def set_slowlink_threshold(self, slowlink_threshold: int) -> int:
        """Set the lost packets per second that trigger ``slowlink`` (0: off); return it."""
        message = {"janus": "set_slowlink_threshold", "slowlink_threshold": slowlink_threshold}
        return await self._int_field(message, "slowlink_threshold")

    # -- tokens (stored-token authentication) -----------------------------------------------------
    async def list_tokens(self) -> list[JsonDict]:
        """Return the stored tokens: ``[{"token", "allowed_plugins"}]``."""
        data = await self._field({"janus": "list_tokens"}, "data")
        tokens = data.get("tokens") if isinstance(data, dict) else None
        return tokens if isinstance(tokens, list) else []

    async def add_token(
        self, token: str | None = None, plugins: Sequence[str] | None = None
    ) -> str:
        """Add a stored token (``add_token``).

        Args:
            token: the token; None: a new random one per call.
            plugins: the plugins the token may use; none: every plugin.

        Returns:
            The token added.
        """
        if token is None:
            token = uuid.uuid4().hex
        message: JsonDict = {"janus": "add_token", "token": token}
        if plugins:
            message["plugins"] = list(plugins)
        await self._field(message, "data")
        return token

    async def remove_token(self, token: str) -> bool:
        """Remove a stored token and return True (an unknown token: error 470)."""
        await self.request({"janus": "remove_token", "token": token})
        return True

    async def allow_token(self, token: str, plugins: Sequence[str]) -> list[str]:
        """Allow a token to use more plugins; return the plugins it may use now.

        Args:
            token: a stored token.
            plugins: the plugins to allow (at least one).

        Returns:
            The token's plugins.

        Raises:
            ValueError: ``plugins`` is empty.
        """
        return await self._token_plugins("allow_token", token, plugins)

    async def disallow_token(self, token: str, plugins: Sequence[str]) -> list[str]:
        """Take plugins away from a token; return the plugins it may still use.

        Args:
            token: a stored token.
            plugins: the plugins to disallow (at least one).

        Returns:
            The token's plugins.

        Raises:
            ValueError: ``plugins`` is empty.
        """
        return await self._token_plugins("disallow_token", token, plugins)

    async def _token_plugins(self, request: str, token: str, plugins: Sequence[str]) -> list[str]:
        if not plugins:
            raise ValueError("plugins should be a non-empty list")
        message = {"janus": request, "token": token, "plugins": list(plugins)}
        data = await self._field(message, "data")
        allowed = data.get("plugins") if isinstance(data, dict) else None
        return [str(p) for p in allowed] if isinstance(allowed, list) else []

    # -- sessions and handles ---------------------------------------------------------------------
    async def list_sessions(self) -> list[int]:
        """Return the ids of every session (``list_sessions``)."""
        return await self._id_list({"janus": "list_sessions"}, "sessions")

    async def list_handles(self, session_id: int) -> list[int]:
        """Return the ids of a session's handles (``list_handles``)."""
        return await self._id_list({"janus": "list_handles"}, "handles", session_id)

    async def handle_info(
        self, session_id: int, handle_id: int, plugin_only: bool = False
    ) -> JsonDict:
        """Return everything Janus knows about a handle (``handle_info``).

        Args:
            session_id: the handle's session.
            handle_id: the handle.
            plugin_only: only the plugin's view of the handle.

        Returns:
            The ``info`` object of the reply.
        """
        message: JsonDict = {"janus": "handle_info"}
        if plugin_only:
            message["plugin_only"] = True
        return await self._object_field(message, "info", session_id, handle_id)

    async def destroy_session(self, session_id: int) -> None:
        """Make Janus destroy a session (its handles are detached)."""
        await self.request({"janus": "destroy_session"}, session_id)

    async def detach_handle(self, session_id: int, handle_id: int) -> None:
        """Make Janus detach a handle (its client gets a ``detached`` event)."""
        await self.request({"janus": "detach_handle"}, session_id, handle_id)

    async def hangup_webrtc(self, session_id: int, handle_id: int) -> None:
        """Make Janus close a handle's PeerConnection (``hangup_webrtc``)."""
        await self.request({"janus": "hangup_webrtc"}, session_id, handle_id)

    async def start_pcap(
        self,
        session_id: int,
        handle_id: int,
        folder: str | None = None,
        filename: str | None = None,
        truncate: int | None = None,
    ) -> None:
        """Start dumping a handle's (unencrypted) traffic to a pcap file (``start_pcap``).

        Args:
            session_id: the handle's session.
            handle_id: the handle.
            folder: the folder on the Janus host; None: Janus's default.
            filename: the file name; None: Janus picks one.
            truncate: bytes kept per packet; None: whole packets.
        """
        await self._capture("start_pcap", session_id, handle_id, folder, filename, truncate)

    async def stop_pcap(self, session_id: int, handle_id: int) -> None:
        """Stop a handle's pcap dump."""
        await self.request({"janus": "stop_pcap"}, session_id, handle_id)

    async def start_text2pcap(
        self,
        session_id: int,
        handle_id: int,
        folder: str | None = None,
        filename: str | None = None,
        truncate: int | None = None,
    ) -> None:
        """Start dumping a handle's traffic in text2pcap format (arguments as ``start_pcap``)."""
        await self._capture("start_text2pcap", session_id, handle_id, folder, filename, truncate)

    async def stop_text2pcap(self, session_id: int, handle_id: int) -> None:
        """Stop a handle's text2pcap dump."""
        await self.request({"janus": "stop_text2pcap"}, session_id, handle_id)

    async def _capture(
        self,
        request: str,
        session_id: int,
        handle_id: int,
        folder: str | None,
        filename: str | None,
        truncate: int | None,
    ) -> None:
        message: JsonDict = {"janus": request}
        for key, value in (("folder", folder), ("filename", filename), ("truncate", truncate)):
            if value is not None:
                message[key] = value
        await self.request(message, session_id, handle_id)

    # -- plugins, transports, event handlers, loggers ---------------------------------------------
    async def message_plugin(
        self, plugin: str, request: JsonDict, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send a plugin request without a session (``message_plugin``, e.g. room CRUD).

        Args:
            plugin: the plugin package (``janus.plugin.videoroom`` …).
            request: the plugin request (``{"request": "list"}`` …).
            timeout: deadline in seconds (None: none); by default the ``timeout`` option.

        Returns:
            The plugin's ``response``.

        Raises:
            PluginError: the plugin answered with an error.
            AdminError: Janus answered with an error, or the reply has no ``response``.
        """  # noqa: DOC501 (admin_error builds the AdminError listed)
        message = {"janus": "message_plugin", "plugin": plugin, "request": request}
        reply = await self.request(message, timeout=timeout)
        response = reply.get("response")
        if not isinstance(response, dict):
            raise admin_error(0, "unexpected message_plugin reply: no 'response'")
        if "error_code" in response or "error" in response:
            code = response.get("error_code")
            raise PluginError(
                plugin, code if isinstance(code, int) else 0, str(response.get("error", ""))
            )
        return response

    async def query_transport(self, transport: str, request: JsonDict) -> JsonDict:
        """Send a request to a transport plugin; return its ``response`` as is."""
        return await self._query("query_transport", "transport", transport, request)

    async def query_eventhandler(self, handler: str, request: JsonDict) -> JsonDict:
        """Send a request to an event handler plugin; return its ``response`` as is."""
        return await self._query("query_eventhandler", "handler", handler, request)

    async def query_logger(self, logger_name: str, request: JsonDict) -> JsonDict:
        """Send a request to a logger plugin; return its ``response`` as is."""
        return await self._query("query_logger", "logger", logger_name, request)

    async def _query(self, janus: str, key: str, name: str, request: JsonDict) -> JsonDict:
        reply = await self.request({"janus": janus, key: name, "request": request})
        response = reply.get("response")
        return response if isinstance(response, dict) else {}

    async def custom_event(self, schema: str, data: JsonDict) -> None:
        """Push an event of ``schema`` with ``data`` to Janus's event handlers."""
        await self.request({"janus": "custom_event", "schema": schema, "data": data})

    async def custom_logline(self, line: str, level: int | None = None) -> None:
        """Write ``line`` to Janus's log (at ``level``; None: Janus's default)."""
        message: JsonDict = {"janus": "custom_logline", "line": line}
        if level is not None:
            message["level"] = level
        await self.request(message)

    # -- network helpers --------------------------------------------------------------------------
    async def resolve_address(self, address: str) -> JsonDict:
        """Have Janus resolve a host name; return ``{"ip", "elapsed"}``."""
        reply = await self.request({"janus": "resolve_address", "address": address})
        return {key: reply[key] for key in ("ip", "elapsed") if key in reply}

    async def test_stun(
        self,
        address: str,
        port: int,
        localport: int | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Ask Janus to query a STUN server (``test_stun``).

        Args:
            address: the STUN server's host.
            port: the STUN server's port.
            localport: the local port Janus binds; None: any.
            timeout: deadline in seconds (None: none); by default the ``timeout`` option.

        Returns:
            ``{"public_ip", "public_port", "elapsed"}`` as Janus saw them.
        """
        message: JsonDict = {"janus": "test_stun", "address": address, "port": port}
        if localport is not None:
            message["localport"] = localport
        reply = await self.request(message, timeout=timeout)
        return {k: reply[k] for k in ("public_ip", "public_port", "elapsed") if k in reply}


def _short(value: Any) -> str:
    """Describe an unexpected value in bounded length (its type and the start of its repr)."""
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
