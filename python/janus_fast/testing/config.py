"""What a local Janus instance looks like: the mode settings and the config folder they produce.

Rule: every file Janus reads is generated here into a private folder; nothing is read from
``/etc/janus``. All listeners bind loopback; no STUN server is configured, so nothing is contacted.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from janus_fast.testing._jcfg import JcfgValue, render
from janus_fast.testing.install import module_folders

JsonStyle = Literal["indented", "plain", "compact"]
#: The socket types of Janus's Unix-socket transport (pfunix): its ``type``/``admin_type``.
UnixSocketType = Literal["SOCK_SEQPACKET", "SOCK_DGRAM"]

#: Plugins a test instance can enable (short names → Janus library file).
KNOWN_PLUGINS: Mapping[str, str] = {
    "echotest": "libjanus_echotest.so",
    "videoroom": "libjanus_videoroom.so",
    "videocall": "libjanus_videocall.so",
    "textroom": "libjanus_textroom.so",
    "streaming": "libjanus_streaming.so",
    "audiobridge": "libjanus_audiobridge.so",
    "recordplay": "libjanus_recordplay.so",
    "nosip": "libjanus_nosip.so",
    "sip": "libjanus_sip.so",
    # Need scripts / paths Debian does not ship: never enabled.
    "voicemail": "libjanus_voicemail.so",
    "duktape": "libjanus_duktape.so",
    "lua": "libjanus_lua.so",
}
DEFAULT_PLUGINS = (
    "echotest",
    "videoroom",
    "videocall",
    "textroom",
    "streaming",
    "audiobridge",
    "recordplay",
    "nosip",
)
#: Transports other than http/websockets: off (nanomsg's stock address clashes between instances,
#: mqtt's stock config is broken, the rest only warn); pfunix is on with
#: ``JanusConfig.unix_socket``, mqtt with ``JanusConfig.mqtt_api``, rabbitmq with
#: ``JanusConfig.rabbitmq_api`` and nanomsg with ``JanusConfig.nanomsg_api``.
_DISABLED_TRANSPORTS = (
    "libjanus_mqtt.so",
    "libjanus_nanomsg.so",
    "libjanus_rabbitmq.so",
    "libjanus_pfunix.so",
)
_DISABLED_EVENT_HANDLERS = (
    "libjanus_gelfevh.so",
    "libjanus_mqttevh.so",
    "libjanus_nanomsgevh.so",
    "libjanus_rabbitmqevh.so",
    "libjanus_sampleevh.so",
    "libjanus_wsevh.so",
)
#: Plugins whose room (mountpoint) ids become strings with ``JanusConfig.string_ids``.
_STRING_ID_PLUGINS = ("videoroom", "textroom", "audiobridge", "streaming")
#: Demo rooms as in the stock Debian configs (tests and users rely on room 1234 existing).
DEMO_ROOM_SECRET = "adminpwd"


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """Certificate and key (PEM files) for https/wss listeners."""

    cert_pem: str
    key_pem: str


#: Janus's MQTT event handler (mqttevh): publishes awaiting the broker's PUBACK at once (stock
#: 10; only QoS 1 and 2 wait for one) and publishes held before one is refused (stock 100).
MQTTEVH_MAX_INFLIGHT = 1024
MQTTEVH_MAX_BUFFERED = 8192

EventHandlerKind = Literal["sampleevh", "wsevh", "mqttevh", "rabbitmqevh", "gelfevh", "nanomsgevh"]
_EVENT_HANDLER_KINDS = ("sampleevh", "wsevh", "mqttevh", "rabbitmqevh", "gelfevh", "nanomsgevh")


@dataclasses.dataclass(frozen=True)
class EventHandler:
    """One Janus event handler to enable.

    ``kind`` is ``sampleevh`` (HTTP POSTs to ``backend``), ``wsevh`` (a WebSocket client of
    ``backend``), ``mqttevh`` (publishes to the broker at ``backend``, ``tcp://host:port``),
    ``rabbitmqevh`` (``backend`` ``amqp://host:port``), ``gelfevh`` (``backend``
    ``tcp://host:port`` or ``udp://host:port``) or ``nanomsgevh`` (an NN_PUB socket that
    connects to the nanomsg address ``backend``, ``ipc:///path`` or ``tcp://host:port``, where a
    ``NanomsgEventReceiver`` listens; ``extra={"mode": "bind"}`` turns it round). Each field is
    a setting of its ``.jcfg``; ``backend_user``/``backend_pwd`` are the broker credentials of
    the broker handlers; ``extra`` adds any other setting (``topic``, ``exchange``,
    ``route_key`` …). mqttevh gets ``max_inflight``/``max_buffered`` of
    ``MQTTEVH_MAX_INFLIGHT``/``MQTTEVH_MAX_BUFFERED`` (its stock 10/100 lose events of a burst;
    ``extra`` overrides them). The repr shows only the backend's scheme (it may carry
    credentials).

    Raises:
        ValueError: ``kind`` is not one of the handlers above (on construction).
    """

    kind: EventHandlerKind
    backend: str
    events: str = "all"
    grouping: bool = True
    json: JsonStyle = "plain"
    #: sampleevh only: gzip the posts (``compress``/``compression``), Basic auth, retransmissions.
    compress: bool = False
    compression: int | None = None
    backend_user: str | None = None
    backend_pwd: str | None = dataclasses.field(default=None, repr=False)
    max_retransmissions: int | None = None
    retransmissions_backoff: int | None = None
    #: wsevh only: the WebSocket subprotocol (Janus's default: ``janus-event-handlers``).
    subprotocol: str | None = None
    extra: Mapping[str, JcfgValue] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _EVENT_HANDLER_KINDS:
            raise ValueError(f"unknown event handler kind {self.kind!r}")

    def __repr__(self) -> str:  # the backend URL may carry credentials: only its scheme shows
        scheme = self.backend.split(":", 1)[0]
        return (
            f"EventHandler(kind={self.kind!r}, backend={scheme}://..., events={self.events!r}, "
            f"grouping={self.grouping}, compress={self.compress}, "
            f"auth={self.backend_user is not None})"
        )

    def jcfg(self) -> dict[str, dict[str, JcfgValue]]:
        """Return the handler's ``.jcfg`` content: ``{"general": {...}}``."""
        general: dict[str, JcfgValue] = {
            "enabled": True,
            "events": self.events,
            "grouping": self.grouping,
            "json": self.json,
            "backend": self.backend,
        }
        optional: dict[str, JcfgValue | None] = {
            "compression": self.compression,
            "backend_user": self.backend_user,
            "backend_pwd": self.backend_pwd,
            "max_retransmissions": self.max_retransmissions,
            "retransmissions_backoff": self.retransmissions_backoff,
            "subprotocol": self.subprotocol,
        }
        if self.compress:
            general["compress"] = True
        general.update({key: value for key, value in optional.items() if value is not None})
        if self.kind in ("mqttevh", "rabbitmqevh"):
            del general["backend"]
            for ours, theirs in (("backend_user", "username"), ("backend_pwd", "password")):
                if ours in general:
                    general[theirs] = general.pop(ours)
            if self.kind == "mqttevh":
                general["url"] = self.backend
                # mqttevh's Paho client refuses a publish once ``max_buffered`` wait to be
                # sent (stock 100): a burst of a few hundred events loses most of them
                # (logged "return code: -12"); see docs/janus-notes.md. ``extra`` overrides.
                general["max_inflight"] = MQTTEVH_MAX_INFLIGHT
                general["max_buffered"] = MQTTEVH_MAX_BUFFERED
            else:
                host, _, port = self.backend.split("://", 1)[-1].rstrip("/").rpartition(":")
                general.update(host=host, port=int(port))
        if self.kind == "gelfevh":
            protocol, _, address = self.backend.partition("://")
            host, _, port = address.rstrip("/").rpartition(":")
            general.update(backend=host, port=port, protocol=protocol)  # its port is a string
        if self.kind == "nanomsgevh":
            general["address"] = general.pop("backend")
            general["mode"] = "connect"
        general.update(self.extra)
        return {"general": general}


@dataclasses.dataclass(frozen=True)
class BrokerAPI:
    """The Janus API, and the Admin API with ``admin``, over a broker.

    Janus's MQTT transport (``JanusConfig.mqtt_api``: topics ``to-janus``/``from-janus`` and
    ``to-janus-admin``/``from-janus-admin``) or RabbitMQ transport (``JanusConfig.rabbitmq_api``:
    queues of the same names, vhost ``/``), connecting to the broker at ``host``:``port``.
    ``extra`` adds any other ``general`` setting (``mqtt_version``, ``janus_exchange``, topic or
    queue names …).
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    admin: bool = True
    extra: Mapping[str, JcfgValue] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class NanomsgAPI:
    """The Janus API, and the Admin API with ``admin``, over Janus's Nanomsg transport.

    An NN_PAIR socket Janus binds, one client at a time. ``api``/``admin_address`` are nanomsg
    addresses (``ipc:///path`` or ``tcp://127.0.0.1:port``); by default each is an IPC socket in
    the instance's folder (``nanomsg_addresses``).
    """

    api: str | None = None
    admin: bool = True
    admin_address: str | None = None

    def __post_init__(self) -> None:
        """Refuse an address Janus's Nanomsg transport would not bind.

        Raises:
            ValueError: an address that is not ``ipc://…`` or ``tcp://…``.
        """
        for address in (self.api, self.admin_address):
            if address is not None and not address.startswith(("ipc:///", "tcp://")):
                raise ValueError(
                    f"a nanomsg address is ipc:///path or tcp://host:port, not {address!r}"
                )


@dataclasses.dataclass(frozen=True)
class JanusConfig:
    """The mode of a local Janus instance. Every field maps to a Janus setting."""

    admin_secret: str = dataclasses.field(default_factory=lambda: secrets.token_hex(12))
    api_secret: str | None = None
    token_auth: bool = False
    #: Tokens added through the Admin API right after start (``token_auth`` mode).
    stored_tokens: tuple[str, ...] = ()
    #: Enables HMAC-signed tokens (implies ``token_auth``); see ``mint_signed_token``.
    token_auth_secret: str | None = None
    session_timeout: int = 60
    reclaim_session_timeout: int = 0
    event_loops: int = 0
    json: JsonStyle = "indented"
    plugins: tuple[str, ...] = DEFAULT_PLUGINS
    debug_level: int = 4
    #: Serve https/wss (in addition to http/ws) with these files.
    tls: TlsFiles | None = None
    #: ``string_ids = true`` in the VideoRoom, TextRoom, AudioBridge and Streaming configs: room
    #: and mountpoint ids are strings (``"room": "abc"``), numbers are refused by those plugins.
    string_ids: bool = False
    #: The folder with the plugins/, transports/, events/ and loggers/ to load. Default: the
    #: binary's own (``<prefix>/bin/janus`` → ``<prefix>/lib/janus`` or ``lib/<triplet>/janus``).
    modules_dir: str | None = None
    #: The version (``"1.4.1"``) the instance must report in ``info``; start fails otherwise. The
    #: server's version must always equal what ``janus --version`` of the binary says.
    expect_version: str | None = None
    #: Extra ``general`` settings of janus.jcfg, for modes not covered above.
    extra_general: Mapping[str, JcfgValue] = dataclasses.field(default_factory=dict)
    #: Extra ``nat`` settings of janus.jcfg (ICE: ``full_trickle``, ``ice_enforce_list`` …).
    #: Never a STUN/TURN server here: test instances contact nothing off this machine.
    nat: Mapping[str, JcfgValue] = dataclasses.field(default_factory=dict)
    #: Event handlers to enable (``broadcast = true`` in janus.jcfg's ``events`` when any).
    event_handlers: tuple[EventHandler, ...] = ()
    #: Extra ``events`` settings of janus.jcfg (``stats_period``, ``combine_media_stats``).
    events: Mapping[str, JcfgValue] = dataclasses.field(default_factory=dict)
    #: Enable Janus's Unix-socket transport (pfunix) with this socket type: the Janus API and
    #: the Admin API each on a socket in the instance's folder (``JanusServer.unix_url``,
    #: ``unix_admin_url``).
    unix_socket: UnixSocketType | None = None
    #: The Admin API socket's type when it differs from ``unix_socket``'s.
    unix_admin_socket: UnixSocketType | None = None
    #: Enable Janus's MQTT transport (``janus.transport.mqtt``) through this broker.
    mqtt_api: BrokerAPI | None = None
    #: Enable Janus's RabbitMQ transport (``janus.transport.rabbitmq``) through this broker.
    rabbitmq_api: BrokerAPI | None = None
    #: Enable Janus's Nanomsg transport (``janus.transport.nanomsg``) at these addresses.
    nanomsg_api: NanomsgAPI | None = None

    def __post_init__(self) -> None:
        unknown = [name for name in self.plugins if name not in KNOWN_PLUGINS]
        if unknown:
            raise ValueError(f"unknown plugin(s) {unknown}; known: {sorted(KNOWN_PLUGINS)}")
        if self.json not in ("indented", "plain", "compact"):
            raise ValueError(f"json style must be indented, plain or compact, not {self.json!r}")
        for kind in (self.unix_socket, self.unix_admin_socket):
            if kind not in (None, "SOCK_SEQPACKET", "SOCK_DGRAM"):
                raise ValueError(
                    f"a Unix socket type is SOCK_SEQPACKET or SOCK_DGRAM, not {kind!r}"
                )
        if self.unix_admin_socket is not None and self.unix_socket is None:
            raise ValueError("unix_admin_socket needs unix_socket (pfunix is enabled by it)")

    def __repr__(self) -> str:  # secrets never appear in reprs
        return (
            f"JanusConfig(api_secret={'***' if self.api_secret else None}, "
            f"token_auth={self.uses_tokens}, signed_tokens={self.token_auth_secret is not None}, "
            f"session_timeout={self.session_timeout}, "
            f"reclaim_session_timeout={self.reclaim_session_timeout}, "
            f"event_loops={self.event_loops}, json={self.json!r}, plugins={self.plugins}, "
            f"string_ids={self.string_ids}, modules_dir={self.modules_dir!r}, "
            f"expect_version={self.expect_version!r}, event_handlers={self.event_handlers}, "
            f"unix_socket={self.unix_socket!r}, mqtt_api={self.mqtt_api!r}, "
            f"rabbitmq_api={self.rabbitmq_api!r}, nanomsg_api={self.nanomsg_api!r})"
        )

    @property
    def uses_tokens(self) -> bool:
        """Whether the instance authenticates with tokens (stored or HMAC-signed)."""
        return self.token_auth or self.token_auth_secret is not None


@dataclasses.dataclass(frozen=True)
class Ports:
    """Loopback TCP ports of one instance."""

    http: int
    ws: int
    admin_http: int
    admin_ws: int
    https: int | None = None
    wss: int | None = None

    def all(self) -> tuple[int, ...]:
        """Return every port in use (the TLS ones only when set)."""
        return tuple(p for p in dataclasses.astuple(self) if p is not None)


def _janus_jcfg(
    cfg: JanusConfig, folder: Path, server_name: str, modules_dir: Path
) -> dict[str, dict[str, JcfgValue]]:
    general: dict[str, JcfgValue] = {
        "configs_folder": str(folder),
        **module_folders(modules_dir),
        "debug_level": cfg.debug_level,
        "server_name": server_name,
        "admin_secret": cfg.admin_secret,
        "session_timeout": cfg.session_timeout,
        "reclaim_session_timeout": cfg.reclaim_session_timeout,
        "protected_folders": ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys"],
    }
    if cfg.event_loops:
        general["event_loops"] = cfg.event_loops
    if cfg.api_secret is not None:
        general["api_secret"] = cfg.api_secret
    if cfg.uses_tokens:
        general["token_auth"] = True
    if cfg.token_auth_secret is not None:
        general["token_auth_secret"] = cfg.token_auth_secret
    general.update(cfg.extra_general)
    disabled_plugins = [
        lib_name for name, lib_name in KNOWN_PLUGINS.items() if name not in cfg.plugins
    ]
    document: dict[str, dict[str, JcfgValue]] = {
        "general": general,
        "certificates": {},
        "media": {},
        "nat": {"nice_debug": False, "ice_ignore_list": "vmnet", **cfg.nat},
        "plugins": {"disable": ",".join(disabled_plugins)} if disabled_plugins else {},
        "transports": {"disable": ",".join(_disabled_transports(cfg))},
        "loggers": {"disable": "libjanus_jsonlog.so"},
        "events": _events_jcfg(cfg),
    }
    return document


def _disabled_transports(cfg: JanusConfig) -> list[str]:
    enabled = {
        "libjanus_pfunix.so": cfg.unix_socket is not None,
        "libjanus_mqtt.so": cfg.mqtt_api is not None,
        "libjanus_rabbitmq.so": cfg.rabbitmq_api is not None,
        "libjanus_nanomsg.so": cfg.nanomsg_api is not None,
    }
    return [name for name in _DISABLED_TRANSPORTS if not enabled.get(name, False)]


#: Janus's MQTT transport: replies and events published at QoS 1 awaiting the broker's PUBACK
#: at once (stock 10), and held behind them before one is dropped (stock 100).
MQTT_MAX_INFLIGHT = 1024
MQTT_MAX_BUFFERED = 8192


def _mqtt_jcfg(cfg: JanusConfig, server_name: str) -> dict[str, dict[str, JcfgValue]]:
    api = cfg.mqtt_api
    assert api is not None
    general: dict[str, JcfgValue] = {
        "enabled": True,
        "json": cfg.json,
        "url": f"tcp://{api.host}:{api.port}",
        "client_id": f"{server_name}-mqtt",
        "subscribe_topic": "to-janus",
        "publish_topic": "from-janus",
        # Janus's MQTT client (Paho's MQTTAsync) holds a QoS 1 publish while ``max_inflight``
        # of them await their PUBACK, and *drops* a new one when ``max_buffered`` are held
        # (logged "return code: -12"). The stock 10/100 lose replies with ~64 EchoTest
        # requests in flight (ack + event each); see docs/janus-notes.md.
        "max_inflight": MQTT_MAX_INFLIGHT,
        "max_buffered": MQTT_MAX_BUFFERED,
    }
    if api.username is not None:
        general["username"] = api.username
    if api.password is not None:
        general["password"] = api.password
    general.update(api.extra)
    admin: dict[str, JcfgValue] = {
        "admin_enabled": api.admin,
        "subscribe_topic": "to-janus-admin",
        "publish_topic": "from-janus-admin",
    }
    return {"general": general, "admin": admin, "status": {"enabled": False}}


def _rabbitmq_jcfg(cfg: JanusConfig) -> dict[str, dict[str, JcfgValue]]:
    api = cfg.rabbitmq_api
    assert api is not None
    general: dict[str, JcfgValue] = {
        "enabled": True,
        "json": cfg.json,
        "host": api.host,
        "port": api.port,
        "vhost": "/",
        "to_janus": "to-janus",
        "from_janus": "from-janus",
    }
    if api.username is not None:
        general["username"] = api.username
    if api.password is not None:
        general["password"] = api.password
    general.update(api.extra)
    admin: dict[str, JcfgValue] = {
        "admin_enabled": api.admin,
        "to_janus_admin": "to-janus-admin",
        "from_janus_admin": "from-janus-admin",
    }
    return {"general": general, "admin": admin}


#: File names of the pfunix sockets in an instance's folder (Janus API, Admin API).
UNIX_API_SOCKET = "janus-api.sock"
UNIX_ADMIN_SOCKET = "janus-admin.sock"
#: Longest socket path the kernel takes (``sun_path`` is 108 bytes with its NUL); Janus would
#: silently cut a longer one.
_MAX_UNIX_PATH = 107


def unix_socket_paths(folder: Path) -> tuple[Path, Path]:
    """Return the pfunix socket paths (Janus API, Admin API) of the instance in ``folder``."""
    return folder / UNIX_API_SOCKET, folder / UNIX_ADMIN_SOCKET


def _pfunix_jcfg(cfg: JanusConfig, folder: Path) -> dict[str, dict[str, JcfgValue]]:
    assert cfg.unix_socket is not None
    api, admin = unix_socket_paths(folder)
    for path in (api, admin):
        if len(os.fsencode(path)) > _MAX_UNIX_PATH:
            raise ValueError(
                f"the Unix socket path {str(path)!r} is longer than {_MAX_UNIX_PATH} bytes: "
                "use a shorter instance folder"
            )
        path.unlink(missing_ok=True)  # a socket left by a killed instance
    return {
        "general": {
            "enabled": True,
            "json": cfg.json,
            "path": str(api),
            "type": cfg.unix_socket,
        },
        "admin": {
            "admin_enabled": True,
            "admin_path": str(admin),
            "admin_type": cfg.unix_admin_socket or cfg.unix_socket,
        },
    }


#: File names of the Nanomsg transport's default IPC sockets in an instance's folder.
NANOMSG_API_SOCKET = "janus-api.ipc"
NANOMSG_ADMIN_SOCKET = "janus-admin.ipc"


def nanomsg_addresses(cfg: JanusConfig, folder: Path) -> tuple[str, str | None]:
    """Return the nanomsg addresses Janus binds for ``cfg.nanomsg_api``: (Janus API, Admin API).

    Args:
        cfg: the instance's mode; its ``nanomsg_api`` must be set.
        folder: the instance's config folder (``JanusServer.folder``).

    Returns:
        The Janus API address and the Admin API address (None when the Admin API is off), each
        ``ipc:///path`` or ``tcp://host:port``. A client URL is ``"nanomsg+"`` followed by one.

    Raises:
        ValueError: the instance has no Nanomsg transport.
    """
    api = cfg.nanomsg_api
    if api is None:
        raise ValueError("this instance has no Nanomsg transport (JanusConfig.nanomsg_api)")
    address = api.api or f"ipc://{folder / NANOMSG_API_SOCKET}"
    admin = api.admin_address or f"ipc://{folder / NANOMSG_ADMIN_SOCKET}"
    return address, admin if api.admin else None


def _nanomsg_jcfg(cfg: JanusConfig, folder: Path) -> dict[str, dict[str, JcfgValue]]:
    address, admin = nanomsg_addresses(cfg, folder)
    for each in (address, admin):
        if each is not None and each.startswith("ipc://"):
            path = each[len("ipc://") :]
            if len(os.fsencode(path)) > _MAX_UNIX_PATH:
                raise ValueError(
                    f"the nanomsg IPC path {path!r} is longer than {_MAX_UNIX_PATH} bytes: "
                    "use a shorter instance folder"
                )
            Path(path).unlink(missing_ok=True)  # a socket left by a killed instance
    admin_section: dict[str, JcfgValue] = {"admin_enabled": admin is not None}
    if admin is not None:
        admin_section.update(admin_mode="bind", admin_address=admin)
    return {
        "general": {"enabled": True, "json": cfg.json, "mode": "bind", "address": address},
        "admin": admin_section,
    }


def _events_jcfg(cfg: JanusConfig) -> dict[str, JcfgValue]:
    enabled = {f"libjanus_{handler.kind}.so" for handler in cfg.event_handlers}
    if len(enabled) != len(cfg.event_handlers):
        raise ValueError("at most one event handler of each kind")
    disabled = [name for name in _DISABLED_EVENT_HANDLERS if name not in enabled]
    return {"broadcast": bool(enabled), "disable": ",".join(disabled), **cfg.events}


def _http_jcfg(cfg: JanusConfig, ports: Ports) -> dict[str, dict[str, JcfgValue]]:
    general: dict[str, JcfgValue] = {
        "json": cfg.json,
        "base_path": "/janus",
        "http": True,
        "port": ports.http,
        "ip": "127.0.0.1",
        "https": False,
    }
    admin: dict[str, JcfgValue] = {
        "admin_base_path": "/admin",
        "admin_http": True,
        "admin_port": ports.admin_http,
        "admin_ip": "127.0.0.1",
        "admin_https": False,
    }
    certificates: dict[str, JcfgValue] = {}
    if cfg.tls is not None and ports.https is not None:
        general.update({"https": True, "secure_port": ports.https, "secure_ip": "127.0.0.1"})
        certificates = {"cert_pem": cfg.tls.cert_pem, "cert_key": cfg.tls.key_pem}
    return {"general": general, "admin": admin, "cors": {}, "certificates": certificates}


def _ws_jcfg(cfg: JanusConfig, ports: Ports) -> dict[str, dict[str, JcfgValue]]:
    general: dict[str, JcfgValue] = {
        "json": cfg.json,
        "ws": True,
        "ws_port": ports.ws,
        "ws_ip": "127.0.0.1",
        "wss": False,
    }
    admin: dict[str, JcfgValue] = {
        "admin_ws": True,
        "admin_ws_port": ports.admin_ws,
        "admin_ws_ip": "127.0.0.1",
        "admin_wss": False,
    }
    certificates: dict[str, JcfgValue] = {}
    if cfg.tls is not None and ports.wss is not None:
        general.update({"wss": True, "wss_port": ports.wss, "wss_ip": "127.0.0.1"})
        certificates = {"cert_pem": cfg.tls.cert_pem, "cert_key": cfg.tls.key_pem}
    return {"general": general, "admin": admin, "cors": {}, "certificates": certificates}


def _demo_room(description: str, **settings: JcfgValue) -> dict[str, JcfgValue]:
    return {"description": description, "secret": DEMO_ROOM_SECRET, **settings}


def recordings_folder(folder: Path) -> Path:
    """Return the Record&Play recordings folder of an instance.

    It is what ``list`` shows and ``play`` reads; a ``record`` filename is relative to it.

    Args:
        folder: the instance's config folder (``JanusServer.folder``).

    Returns:
        The recordings folder.
    """
    return folder / "recordings"


def _plugin_jcfgs(cfg: JanusConfig, folder: Path) -> dict[str, dict[str, dict[str, JcfgValue]]]:
    recordings = recordings_folder(folder)
    recordings.mkdir(exist_ok=True)
    room = _demo_room
    files: dict[str, dict[str, dict[str, JcfgValue]]] = {
        "echotest": {"general": {}},
        "videoroom": {
            "general": {},
            "room-1234": room("Demo Room", publishers=6, bitrate=128000, fir_freq=10),
            "room-5678": room("VP9-SVC Demo Room", publishers=6, bitrate=512000, videocodec="vp9"),
        },
        "videocall": {"general": {}},
        "textroom": {"general": {"json": cfg.json}, "room-1234": room("Demo Room")},
        "streaming": {
            "general": {},
            # One RTP mountpoint with OS-chosen ports (the stock one binds fixed UDP ports).
            "rtp-sample": {
                "type": "rtp",
                "id": 1,
                "description": "Opus/VP8 live stream (test)",
                "audio": True,
                "video": True,
                "audioport": 0,
                "audiopt": 111,
                "audiocodec": "opus",
                "videoport": 0,
                "videopt": 100,
                "videocodec": "vp8",
            },
        },
        "audiobridge": {"general": {}, "room-1234": room("Demo Room", sampling_rate=16000)},
        "recordplay": {"general": {"path": str(recordings)}},
        # RTP stays on loopback (otherwise NoSIP picks an address of its own to bind and announce).
        "nosip": {"general": {"local_ip": "127.0.0.1"}},
        "sip": {"general": {"keepalive_interval": 120, "local_ip": "127.0.0.1"}},
    }
    if cfg.string_ids:
        for name in _STRING_ID_PLUGINS:
            files[name]["general"]["string_ids"] = True
        # The mountpoint id as a string too (Janus reads it as text either way).
        files["streaming"]["rtp-sample"]["id"] = "1"
    return {name: files[name] for name in cfg.plugins if name in files}


def write_config_folder(
    cfg: JanusConfig, folder: Path, ports: Ports, server_name: str, modules_dir: Path
) -> Path:
    """Write every config file the instance needs into ``folder``.

    Args:
        cfg: the instance's configuration.
        folder: the config folder (created if missing).
        ports: the loopback ports picked for it.
        server_name: Janus's ``server_name``.
        modules_dir: holds the plugins/, transports/, events/ and loggers/ Janus loads.

    Returns:
        The path of ``janus.jcfg``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / "janus.jcfg"
    main.write_text(render(_janus_jcfg(cfg, folder, server_name, modules_dir)))
    (folder / "janus.transport.http.jcfg").write_text(render(_http_jcfg(cfg, ports)))
    (folder / "janus.transport.websockets.jcfg").write_text(render(_ws_jcfg(cfg, ports)))
    if cfg.unix_socket is not None:
        (folder / "janus.transport.pfunix.jcfg").write_text(render(_pfunix_jcfg(cfg, folder)))
    if cfg.mqtt_api is not None:
        (folder / "janus.transport.mqtt.jcfg").write_text(render(_mqtt_jcfg(cfg, server_name)))
    if cfg.rabbitmq_api is not None:
        (folder / "janus.transport.rabbitmq.jcfg").write_text(render(_rabbitmq_jcfg(cfg)))
    if cfg.nanomsg_api is not None:
        (folder / "janus.transport.nanomsg.jcfg").write_text(render(_nanomsg_jcfg(cfg, folder)))
    for handler in cfg.event_handlers:
        (folder / f"janus.eventhandler.{handler.kind}.jcfg").write_text(render(handler.jcfg()))
    for name, document in _plugin_jcfgs(cfg, folder).items():
        (folder / f"janus.plugin.{name}.jcfg").write_text(render(document))
    return main
