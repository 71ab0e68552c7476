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
    """A validated Janus URL: its scheme, host, port (the default filled in) and path.

    Attributes:
        scheme: ``ws``, ``wss``, ``http`` or ``https`` (one of those the caller accepts).
        host: The host name or IP address (an IPv6 address without brackets).
        port: The port, the scheme's default when the URL names none.
        path: The path (``/`` when empty), with the query string when there is one.
    """

    scheme: str
    host: str
    port: int
    path: str

    @property
    def secure(self) -> bool:
        """Whether the scheme uses TLS (``wss``, ``https``)."""
        return self.scheme in ("wss", "https")

    @property
    def host_header(self) -> str:
        """The ``Host`` header value: the host (IPv6 in brackets), with a non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def parse_url(url: str, schemes: tuple[str, ...]) -> ParsedURL:
    """Parse and validate a Janus URL.

    Args:
        url: The URL as the user gave it.
        schemes: The schemes the caller accepts (``("ws", "wss")`` …).

    Returns:
        The URL's parts.

    Raises:
        InvalidURLError: Bad syntax or port, a scheme not in ``schemes``, no host, or
            credentials in the URL; the message shows the URL only redacted.
    """
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
