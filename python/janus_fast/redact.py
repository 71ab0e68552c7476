"""What of a URL may be shown.

Rule: a URL appears in errors, reprs and logs only as ``redact_url`` returns it: user info and
every query value (``?token=...``, ``?apisecret=...``) replaced by ``***``, names kept, no
fragment. A URL that cannot be parsed is not shown at all.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """Make ``url`` fit to show: no user info, no query values (names kept), no fragment.

    Args:
        url: any URL, maybe with credentials.

    Returns:
        The redacted URL (``<malformed URL>`` if it cannot be parsed).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}=***" if sep else name
        for name, sep, _ in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
