"""wss:// and https:// against a Janus serving a certificate from a CA generated in the test."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from janus_fast import JanusSession, JanusTransport, TransportError
from janus_fast.testing import JanusConfig, JanusServer, TlsFiles


@pytest.fixture(scope="module")
def tls_janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JanusServer, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")  # DNS name only: 127.0.0.1 does not match
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    files = TlsFiles(str(folder / "cert.pem"), str(folder / "key.pem"))
    with JanusServer(JanusConfig(tls=files)) as janus:
        yield janus, folder / "ca.pem"


def urls(janus: JanusServer) -> list[str]:
    return [janus.wss_url, janus.https_url]


async def test_verified_tls_on_both_transports(tls_janus: tuple[JanusServer, Path]) -> None:
    janus, ca_file = tls_janus
    for url in urls(janus):
        async with JanusSession(base_url=url, ca_file=str(ca_file), max_retries=0) as session:
            assert (await session.transport.ping())["janus"] == "pong"
            await session.create()
            assert session.created


async def test_a_custom_ssl_context_is_used(tls_janus: tuple[JanusServer, Path]) -> None:
    janus, ca_file = tls_janus
    context = ssl.create_default_context(cafile=str(ca_file))
    for url in urls(janus):
        transport = JanusTransport.create_transport(url, config={"ssl": context})
        await transport.connect()
        assert (await transport.info())["server-name"] == janus.server_name
        await transport.disconnect()


async def test_an_unknown_ca_fails_with_a_clear_error(tls_janus: tuple[JanusServer, Path]) -> None:
    janus, _ = tls_janus
    other_ca = trustme.CA()
    context = ssl.create_default_context()
    other_ca.configure_trust(context)
    for url in urls(janus):
        transport = JanusTransport.create_transport(url, config={"ssl": context, "max_retries": 0})
        with pytest.raises(TransportError, match=r"(?i)certificate verify failed"):
            await transport.connect()
            await transport.ping()
        await transport.disconnect()


async def test_the_hostname_is_checked(tls_janus: tuple[JanusServer, Path]) -> None:
    janus, ca_file = tls_janus
    for url in urls(janus):
        by_ip = url.replace("localhost", "127.0.0.1")
        transport = JanusTransport.create_transport(
            by_ip, config={"ca_file": str(ca_file), "max_retries": 0}
        )
        with pytest.raises(TransportError, match=r"(?i)mismatch|doesn't match|not valid for"):
            await transport.connect()
            await transport.ping()
        await transport.disconnect()


async def test_receive_batching_over_tls(tls_janus: tuple[JanusServer, Path]) -> None:
    janus, ca_file = tls_janus
    config = {"ca_file": str(ca_file), "max_retries": 0, "ping_interval": None}
    transport = JanusTransport.create_transport(janus.wss_url, config=config)
    await transport.connect()
    try:
        for _ in range(5):
            replies = await asyncio.gather(*(transport.ping() for _ in range(256)))
            assert [reply["janus"] for reply in replies] == ["pong"] * 256
        assert transport.receive_batching_stats["raised"] > 0  # type: ignore[attr-defined]
    finally:
        await transport.disconnect()
