"""Options are checked at construction (typed errors); no secret shows in reprs, errors, logs."""

from __future__ import annotations

import logging
import math
import socket
import ssl
from typing import Any

import pytest

from janus_fast import InvalidOptionError, InvalidURLError, JanusTransport, TransportError

DURATIONS = [
    "timeout",
    "connect_timeout",
    "retry_delay",
    "retry_delay_max",
    "keepalive_interval",
    "http_idle_timeout",
    "ping_interval",
    "ping_timeout",
]
BAD_DURATIONS = [math.nan, math.inf, -math.inf, -1, -0.001, True, "5"]


@pytest.mark.parametrize("url", ["ws://127.0.0.1:1/janus", "http://127.0.0.1:1/janus"])
@pytest.mark.parametrize("name", DURATIONS)
def test_every_duration_refuses_nan_inf_negative_and_non_numbers(name: str, url: str) -> None:
    for value in BAD_DURATIONS:
        with pytest.raises(InvalidOptionError, match=name):
            JanusTransport.create_transport(url, config={name: value})
    JanusTransport.create_transport(url, config={name: 2.5})  # a plain number is fine


def test_invalid_option_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="timeout"):
        JanusTransport.create_transport("ws://127.0.0.1:1", config={"timeout": math.nan})


@pytest.mark.parametrize("scheme", ["ws", "http"])
@pytest.mark.parametrize(
    "tls", [{"ssl": True}, {"ssl": ssl.create_default_context()}, {"ca_file": "/ca.pem"}]
)
def test_tls_settings_on_a_plain_url_are_refused(scheme: str, tls: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError, match=f"plain {scheme}://"):
        JanusTransport.create_transport(f"{scheme}://127.0.0.1:1/janus", config=tls)
    JanusTransport.create_transport(f"{scheme}s://127.0.0.1:1/janus", config=tls)
    JanusTransport.create_transport(f"{scheme}://127.0.0.1:1/janus", config={"ssl": False})


@pytest.mark.parametrize(
    "url",
    [
        "ws://admin:hunter2@127.0.0.1:8188/janus",
        "http://admin:hunter2@127.0.0.1:8088/janus",
        "ws://admin:hunter2@127.0.0.1:99999/janus",  # port out of range
        "http://admin:hunter2@127.0.0.1:port/janus",
        "ftp://admin:hunter2@127.0.0.1/janus",  # no transport for it
        "ws://[::1/janus?token=hunter2",  # unparsable
    ],
)
def test_credentials_in_the_url_never_show_in_the_error(url: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        JanusTransport.create_transport(url)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["ws", "http"])
async def test_a_token_in_the_query_never_shows_in_reprs_errors_or_logs(
    scheme: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{scheme}://127.0.0.1:{_closed_port()}/janus?token=hunter2&apisecret=hunter2"
    transport = JanusTransport.create_transport(
        url,
        config={
            "max_retries": 0,
            "connect_timeout": 2,
            "headers": {"Authorization": "Bearer hunter2", "X-Trace": "hunter2"},
        },
    )
    assert transport.base_url == url  # what custom transports connect with: as given
    assert "hunter2" not in repr(transport)
    assert "token=***" in repr(transport)
    options = repr(transport.options)
    assert "hunter2" not in options
    assert "Authorization" in options  # the names stay
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TransportError) as caught:
            await transport.connect()
            await transport.ping()  # HTTP connects lazily: the first request meets the port
        await transport.disconnect()
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in caplog.text
