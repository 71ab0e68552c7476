"""A real local Janus for tests — this project's and its users'.

``JanusServer`` launches the installed ``janus`` binary on free loopback ports from a generated
config folder; the pytest plugin (entry point ``pytest11``) provides the ``janus_server`` and
``janus_factory`` fixtures. ``MosquittoBroker`` and ``RabbitMQBroker`` run real brokers for the
MQTT/RabbitMQ transports (``BrokerAPI``) and event handlers (``EventHandler``); ``NanomsgAPI``
turns Janus's Nanomsg transport on (``janus_fast.testing.nanomsg`` proves it serves). Nothing here
is a mock: every instance is a real process.
"""

from janus_fast.testing.brokers import BrokerStartError, MosquittoBroker, RabbitMQBroker
from janus_fast.testing.config import (
    DEMO_ROOM_SECRET,
    BrokerAPI,
    EventHandler,
    JanusConfig,
    NanomsgAPI,
    Ports,
    TlsFiles,
)
from janus_fast.testing.faults import FaultProxy
from janus_fast.testing.server import (
    JanusNotInstalledError,
    JanusServer,
    JanusStartError,
    JanusVersionError,
    find_janus_binary,
)
from janus_fast.testing.tokens import mint_signed_token

__all__ = [
    "DEMO_ROOM_SECRET",
    "BrokerAPI",
    "BrokerStartError",
    "EventHandler",
    "FaultProxy",
    "JanusConfig",
    "JanusNotInstalledError",
    "JanusServer",
    "JanusStartError",
    "JanusVersionError",
    "MosquittoBroker",
    "NanomsgAPI",
    "Ports",
    "RabbitMQBroker",
    "TlsFiles",
    "find_janus_binary",
    "mint_signed_token",
]
