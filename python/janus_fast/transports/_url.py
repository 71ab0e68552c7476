"""Parse and validate Janus URLs once, with clear errors (``InvalidURLError``).

Rule: a URL is shown in errors only through ``redact_url`` (no user info, no query values);
credentials in the URL are refused.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from janus_fast.errors import InvalidURLError
from janus_fast.redact import redact_url

_DEFAULT_PORTS = {"ws": 80, "wss": 443, "http": 80, "https": 443}


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedURL:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def secure(self) -> bool:
        return self.scheme in ("wss", "https")

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def parse_url(url: str, schemes: tuple[str, ...]) -> ParsedURL:
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        reason = "port out of range or not a number" if "port" in str(exc).lower() else "bad syntax"
        raise InvalidURLError(f"malformed URL {shown!r}: {reason}") from None
    if parts.scheme not in schemes:
        raise InvalidURLError(f"URL {shown!r} must use one of {', '.join(schemes)}")
    if not parts.hostname:
        raise InvalidURLError(f"URL {shown!r} has no host")
    if parts.username or parts.password:
        raise InvalidURLError("credentials in the URL are not supported; use api_secret/token")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return ParsedURL(parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme], path)
