"""Authentication: an api_secret, and HMAC-signed tokens that allow some plugins only.

It starts its own Janus with ``api_secret`` and ``token_auth_secret`` set.

Run: python docs/examples/auth.py   (needs the `janus` binary)
"""

import asyncio

from janus_fast import (
    JanusEchoTestPlugin,
    JanusSession,
    JanusVideoRoomPlugin,
    UnauthorizedError,
    UnauthorizedPluginError,
)
from janus_fast.testing import JanusConfig, JanusServer, mint_signed_token


async def main() -> None:
    config = JanusConfig(api_secret="api-s3cret", token_auth_secret="hmac-s3cret")
    async with JanusServer(config) as janus:
        token = mint_signed_token("hmac-s3cret", ["janus.plugin.echotest"], ttl=60)
        async with JanusSession(janus.ws_url, api_secret="api-s3cret", token=token) as session:
            echo = JanusEchoTestPlugin()
            await echo.attach(session)  # allowed by the token
            try:
                await JanusVideoRoomPlugin().attach(session)  # not in the token's plugins
            except UnauthorizedPluginError as exc:
                print("videoroom refused:", exc.code)

        # Janus accepts a request whose api_secret OR token is valid: here neither is.
        async with JanusSession(janus.http_url, api_secret="bad-s3cret-42") as session:
            try:
                await session.create()
            except UnauthorizedError as exc:  # the secret itself is never in the text
                print("refused:", exc.code, "secret shown:", "bad-s3cret-42" in str(exc))


if __name__ == "__main__":
    asyncio.run(main())
