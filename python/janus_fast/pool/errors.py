"""Errors of the pool.

Rule: each is a ``JanusFastError`` and says which servers were tried and why they failed, never a
secret.
"""

from __future__ import annotations

from janus_fast.errors import JanusFastError, SessionLostError, TransportError


class NoServerAvailableError(TransportError):
    """No eligible server could take the session (all down, draining, refusing or failing)."""


class ServerDownError(SessionLostError):
    """The pool declared the session's server down: the session is lost.

    Every call that was waiting in it (or is made on it later) fails with this error. A
    ``SessionLostError``, so code that handles a lost session handles this one too.
    """


class UnknownServerError(JanusFastError, KeyError):
    """The pool has no server of that name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown server"


__all__ = ["NoServerAvailableError", "ServerDownError", "UnknownServerError"]
