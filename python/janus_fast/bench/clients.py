"""The clients the benchmark knows, and the one place that builds their adapters.

Rule: adapters are imported lazily, so choosing one client never imports another (janus-client
pulls in aiortc and PyAV; the floor needs ``websockets``).
"""

from __future__ import annotations

from janus_fast.bench.adapter import Adapter

CLIENTS = ("fast", "fast-native", "janus-client", "floor")
LABELS = {
    "fast": "janus_fast (compat API)",
    "fast-native": "janus_fast (native API)",
    "janus-client": "janus-client 0.9.0",
    "floor": "floor (websockets/aiohttp+orjson)",
}
LOOPS = ("asyncio", "uvloop")
ENV_API_SECRET = "JANUS_FAST_BENCH_API_SECRET"
ENV_TOKEN = "JANUS_FAST_BENCH_TOKEN"
#: JSON object: transport (``unix``, ``mqtt``, ``amqp``, ``nanomsg``, ``pool1``, ``pool3``) → URL.
ENV_URLS = "JANUS_FAST_BENCH_URLS"


def make_adapter(client: str, transport: str, api_secret: str | None, token: str | None) -> Adapter:
    """Build the adapter of ``client`` for a workload's transport (imported lazily).

    Args:
        client: ``fast``, ``fast-native``, ``janus-client`` or ``floor``.
        transport: the workload's transport; ``pool1``/``pool3`` (W9) give janus_fast's
            ``JanusPool`` adapters (compat and native API), ``http`` the HTTP floor.
        api_secret: Janus's ``api_secret``, if any.
        token: a Janus token, if any.

    Returns:
        The adapter, not yet opened.

    Raises:
        ValueError: an unknown client.
    """
    if client == "fast" and transport.startswith("pool"):
        from janus_fast.bench.fast import FastPoolCompat

        return FastPoolCompat(api_secret, token)
    if client == "fast":
        from janus_fast.bench.fast import FastCompat

        return FastCompat(api_secret, token)
    if client == "fast-native" and transport.startswith("pool"):
        from janus_fast.bench.fast import FastPool

        return FastPool(api_secret, token)
    if client == "fast-native":
        from janus_fast.bench.fast import FastNative

        return FastNative(api_secret, token)
    if client == "janus-client":
        from janus_fast.bench.peer import PeerClient

        return PeerClient(api_secret, token)
    if client == "floor":
        from janus_fast.bench.floor import FloorHTTP, FloorWebSocket

        return (
            FloorHTTP(api_secret, token)
            if transport == "http"
            else FloorWebSocket(api_secret, token)
        )
    raise ValueError(f"unknown client {client!r}")
