"""``ServerSpec``: what the pool is told about one Janus server, and its view for placement.

Rule: a spec is immutable and checked at construction (``InvalidOptionError``). Its ``name`` is
the server's identity for placement: two processes given the same names place keys the same way.
The default name is the URL as ``redact_url`` shows it, so no secret ever becomes a name; the
secrets (``api_secret``, ``token``, ``admin_secret``) appear in no repr.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from janus_fast._compat import StrEnum
from janus_fast.errors import InvalidOptionError
from janus_fast.redact import redact_url


class ServerState(StrEnum):
    """Health of one server as the pool last measured it."""

    #: Not probed yet.
    UNKNOWN = "unknown"
    #: ``info`` answered in time (and the Admin API, where one is given).
    UP = "up"
    #: Answers, but slowly, or its Admin API failed, or one probe in a row failed.
    DEGRADED = "degraded"
    #: ``down_after`` probes in a row failed: its sessions and keys are reported lost.
    DOWN = "down"


@dataclasses.dataclass(frozen=True, repr=False)
class ServerSpec:
    """One Janus server: its URL, optional Admin API, weight and labels.

    The repr redacts URLs and never shows secrets or options.

    Attributes:
        url: the Janus API URL (the server's shared connection).
        admin_url: the Admin API URL (session counts, drain, reconcile); needs ``admin_secret``.
        admin_secret: the Admin API secret.
        api_secret: Janus's ``api_secret``, if it requires one.
        token: a Janus token, if it requires one.
        weight: placement weight (> 0): a server of weight 2 gets about twice the keys and
            sessions.
        labels: free-form labels (``{"region": "eu"}``) that ``session(labels=...)`` can require.
        name: the identity used for placement (default: the redacted URL).
        options: transport options for this server's shared connection.

    Raises:
        InvalidOptionError: no URL, a weight that is not a finite number > 0, or an
            ``admin_url`` without ``admin_secret`` (on construction).
    """

    url: str
    admin_url: str | None = None
    admin_secret: str | None = dataclasses.field(default=None, repr=False)
    api_secret: str | None = dataclasses.field(default=None, repr=False)
    token: str | None = dataclasses.field(default=None, repr=False)
    #: Placement weight (> 0): a server of weight 2 gets about twice the keys and sessions.
    weight: float = 1.0
    #: Free-form labels (``{"region": "eu"}``) that ``session(labels=...)`` can require.
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: The identity used for placement (default: the redacted URL).
    name: str = ""
    #: Transport options (``timeout``, ``max_retries`` ...) for this server's shared connection.
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url:
            raise InvalidOptionError("a pool server needs a non-empty url")
        weight = self.weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight <= 0
        ):
            raise InvalidOptionError(f"weight must be a finite number > 0, not {weight!r}")
        if self.admin_url is not None and not self.admin_secret:
            raise InvalidOptionError("admin_url needs admin_secret (the Admin API requires it)")
        if not self.name:
            object.__setattr__(self, "name", redact_url(self.url))
        object.__setattr__(self, "labels", dict(self.labels))
        object.__setattr__(self, "options", dict(self.options))

    def __repr__(self) -> str:  # URLs redacted, secrets and options never shown
        admin = redact_url(self.admin_url) if self.admin_url is not None else None
        return (
            f"ServerSpec(name={self.name!r}, url={redact_url(self.url)!r}, admin_url={admin!r}, "
            f"weight={self.weight!r}, labels={dict(self.labels)!r})"
        )

    @classmethod
    def of(cls, server: ServerSpec | str | Mapping[str, Any]) -> ServerSpec:
        """Build a spec from a spec, a bare URL, or a mapping of the fields."""
        if isinstance(server, ServerSpec):
            return server
        if isinstance(server, str):
            return cls(server)
        if isinstance(server, Mapping):
            try:
                return cls(**dict(server))
            except TypeError as exc:
                raise InvalidOptionError(f"bad pool server fields: {exc}") from None
        raise InvalidOptionError(
            f"a pool server is a URL, a mapping or a ServerSpec, not {server!r}"
        )


@dataclasses.dataclass(frozen=True)
class ServerView:
    """What a placement policy sees of one server at placement time."""

    name: str
    weight: float
    labels: Mapping[str, str]
    state: ServerState
    #: Sessions on the server (the Admin API's count where known, else this pool's own) plus
    #: the sessions this pool placed there since the last probe.
    load: int


__all__ = ["ServerSpec", "ServerState", "ServerView"]
