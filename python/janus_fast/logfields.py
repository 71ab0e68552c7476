"""Structured fields on the log records the library emits.

Rule: every logging call in ``janus_fast`` passes ``extra=log_fields(...)`` with the ids it knows,
so every record carries the same four attributes (``janus_session_id``, ``janus_handle_id``,
``janus_transaction``, ``janus_server``), None where one does not apply; a format string such as
``%(janus_session_id)s`` therefore never fails on a library record. ``janus_server`` is a base URL
as ``janus_fast.redact.redact_url`` shows it: never credentials, tokens or query values. A call on
a per-message path builds the dict only when its level is enabled (``logger.isEnabledFor``).
"""

from __future__ import annotations

from janus_fast.redact import redact_url

#: The Janus session id the record is about (int, or None).
SESSION_ID = "janus_session_id"
#: The Janus handle id the record is about (int, or None).
HANDLE_ID = "janus_handle_id"
#: The transaction id of the request the record is about (str, or None).
TRANSACTION = "janus_transaction"
#: The redacted base URL of the Janus server the record is about (str, or None).
SERVER = "janus_server"
#: All four names, in this order.
FIELDS = (SESSION_ID, HANDLE_ID, TRANSACTION, SERVER)


def log_fields(
    *,
    session_id: int | None = None,
    handle_id: int | None = None,
    transaction: str | None = None,
    server: str | None = None,
) -> dict[str, object]:
    """Build the ``extra`` dict of one logging call: always all four fields.

    Args:
        session_id: the Janus session id, if the record is about one.
        handle_id: the Janus handle id, if the record is about one.
        transaction: the request's transaction id, if the record is about one.
        server: the server's base URL; it is redacted here (credentials and query values go).

    Returns:
        ``{SESSION_ID: ..., HANDLE_ID: ..., TRANSACTION: ..., SERVER: ...}``.
    """
    return {
        SESSION_ID: session_id,
        HANDLE_ID: handle_id,
        TRANSACTION: transaction,
        SERVER: None if server is None else redact_url(server),
    }


__all__ = ["FIELDS", "HANDLE_ID", "SERVER", "SESSION_ID", "TRANSACTION", "log_fields"]
