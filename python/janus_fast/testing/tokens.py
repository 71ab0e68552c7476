"""Signed Janus tokens (``token_auth_secret``): the one place that knows their format.

A signed token is ``"<expiry>,<realm>,<plugin>[,<plugin>...]:" + base64(HMAC-SHA1(secret, data))``
where ``data`` is the part before the colon. Janus rejects expired tokens and wrong keys with 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable


def mint_signed_token(
    secret: str,
    plugins: Iterable[str],
    *,
    ttl: float = 3600.0,
    expiry: int | None = None,
    realm: str = "janus",
) -> str:
    """Return a token Janus accepts when configured with ``token_auth_secret = secret``.

    ``plugins`` are full package names (``"janus.plugin.echotest"``). ``expiry`` is a unix time;
    when omitted it is now + ``ttl`` seconds. A past ``expiry`` mints an expired token (for tests).
    """
    expires_at = int(time.time() + ttl) if expiry is None else int(expiry)
    data = ",".join([str(expires_at), realm, *plugins])
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(digest).decode()}"
