"""TLS: wss:// and https:// verified against your CA (here a test CA made with ``trustme``).

It starts its own Janus serving a certificate for ``localhost``.

Run: python docs/examples/tls.py   (needs the `janus` binary and ``pip install trustme``)
"""

import asyncio
import ssl
import tempfile
from pathlib import Path

import trustme

from janus_fast import JanusSession, JanusTransport, TransportError
from janus_fast.testing import JanusConfig, JanusServer, TlsFiles


async def main(folder: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    tls = TlsFiles(str(folder / "cert.pem"), str(folder / "key.pem"))

    async with JanusServer(JanusConfig(tls=tls)) as janus:
        # ca_file: verify the server with this CA bundle (host name checked).
        async with JanusSession(janus.wss_url, ca_file=str(folder / "ca.pem")) as session:
            await session.create()
            print("wss session", session.id)

        # ssl: your own SSLContext (client certificates, pinning ...).
        context = ssl.create_default_context(cafile=str(folder / "ca.pem"))
        async with JanusSession(janus.https_url, ssl=context) as session:
            await session.create()
            print("https session", session.id)

        # The default context does not know this CA: a clear TransportError.
        transport = JanusTransport.create_transport(janus.wss_url, config={"max_retries": 0})
        try:
            await transport.connect()
        except TransportError as exc:
            print("refused:", "certificate verify failed" in str(exc))
        await transport.disconnect()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder)))
