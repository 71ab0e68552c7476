"""Every log record the library emits carries the structured id fields, and never a secret.

Rule: a static scan holds every logging call in ``python/janus_fast`` to ``extra=log_fields(...)``
(or a source's own ``_log_fields()``), so a new call without the fields fails here; the behaviour
tests read the records a real Janus makes the library emit (a handle's request, a transaction's
dropped message, a session's request, a session timed out) and check their ids and that no
record shows a secret in any field.
"""

from __future__ import annotations

import ast
import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import janus_fast.message_transaction as message_transaction
from janus_fast import JanusPlugin, JanusSession
from janus_fast.logfields import FIELDS, HANDLE_ID, SERVER, SESSION_ID, TRANSACTION, log_fields
from janus_fast.testing import JanusServer

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "janus_fast"
LEVELS = frozenset(("debug", "info", "warning", "warn", "error", "exception", "critical", "log"))
LOGGER_NAMES = frozenset(("logger", "log", "_logger", "_log", "logging"))


def logging_calls_without_fields(source: str) -> list[int]:
    """Return the lines of the logging calls in ``source`` not passing ``extra=...log_fields()``."""
    missing = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if node.func.attr not in LEVELS or not isinstance(target, ast.Name):
            continue
        if target.id not in LOGGER_NAMES:
            continue
        extra = next((k.value for k in node.keywords if k.arg == "extra"), None)
        builder = extra.func if isinstance(extra, ast.Call) else None
        name = getattr(builder, "id", None) or getattr(builder, "attr", None)
        if name not in ("log_fields", "_log_fields"):
            missing.append(node.lineno)
    return missing


def test_the_scan_finds_a_call_without_fields() -> None:
    source = (
        "logger.info('a', extra=log_fields())\n"
        "logger.warning('b')\n"
        "log.debug('c', extra={'x': 1})\n"
        "logging.error('d')\n"
        "self._log_fields()\n"
        "logger.exception('e', extra=self._log_fields())\n"
    )
    assert logging_calls_without_fields(source) == [2, 3, 4]


def test_every_library_logging_call_passes_the_fields() -> None:
    missing = []
    calls = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        missing += [
            f"{path.relative_to(PACKAGE)}:{n}" for n in logging_calls_without_fields(source)
        ]
        calls += source.count("extra=log_fields(") + source.count("extra=self._log_fields()")
    assert not missing, f"logging calls without extra=log_fields(...): {missing}"
    assert calls >= 70  # the scan really looked at the library's calls


def test_log_fields_has_all_four_and_redacts_the_server() -> None:
    assert log_fields() == dict.fromkeys(FIELDS)
    fields = log_fields(
        session_id=1,
        handle_id=2,
        transaction="t",
        server="wss://user:pw@janus.example:8989/janus?token=tok&apisecret=sec",
    )
    assert fields == {
        SESSION_ID: 1,
        HANDLE_ID: 2,
        TRANSACTION: "t",
        SERVER: "wss://***@janus.example:8989/janus?token=***&apisecret=***",
    }


class _Records(logging.Handler):
    """Keep every record of the ``janus_fast`` loggers, formatted with the four fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(
            logging.Formatter(
                "%(name)s %(message)s session=%(janus_session_id)s handle=%(janus_handle_id)s "
                "transaction=%(janus_transaction)s server=%(janus_server)s"
            )
        )

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # a missing field would raise here
        self.records.append(record)

    def about(self, text: str) -> logging.LogRecord | None:
        return next((r for r in self.records if text in r.getMessage()), None)

    async def wait_for(self, text: str, seconds: float) -> logging.LogRecord:
        for _ in range(int(seconds * 20)):
            record = self.about(text)
            if record is not None:
                return record
            await asyncio.sleep(0.05)
        raise AssertionError(f"no record about {text!r} in {self.lines}")


@pytest.fixture
def records() -> Iterator[_Records]:
    handler = _Records()
    library = logging.getLogger("janus_fast")
    level = library.level
    library.setLevel(logging.DEBUG)
    library.addHandler(handler)
    try:
        yield handler
    finally:
        library.removeHandler(handler)
        library.setLevel(level)


class EchoTest(JanusPlugin):
    name = "janus.plugin.echotest"


API_SECRET = "apisecret-4f1c9e"
TOKEN = "token-8d2b7a"


async def test_records_carry_ids_and_no_secret(
    janus_factory: Any, transport_kind: str, records: _Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    janus: JanusServer = janus_factory(
        api_secret=API_SECRET, token_auth=True, stored_tokens=(TOKEN,)
    )
    url = janus.ws_url if transport_kind == "ws" else janus.http_url
    shown = url  # credentials in a URL are refused (InvalidURLError); redaction: the unit test
    session = JanusSession(base_url=url, api_secret=API_SECRET, token=TOKEN)
    async with session:
        await session.create()
        plugin = EchoTest()
        await plugin.attach(session)

        # A handle-level record: the caller-set handle_id is ignored with a warning.
        transaction = await plugin.send({"janus": "message", "handle_id": 1, "body": {}})
        await transaction.done()
        record = records.about("ignoring caller-set handle_id")
        assert record is not None
        assert record.name == "janus_fast.plugin"
        assert getattr(record, SESSION_ID) == session.id
        assert getattr(record, HANDLE_ID) == plugin.id
        assert getattr(record, TRANSACTION) is None
        assert getattr(record, SERVER) == shown

        # A request-level record: the transaction's stream drops a message at its bound (0
        # here, so the event after the ack is dropped at once and logged with its transaction).
        monkeypatch.setattr(message_transaction, "MAX_KEPT_MESSAGES", 0)
        transaction = await plugin.send({"janus": "message", "body": {"audio": True}})
        record = await records.wait_for("messages kept already", 5)
        monkeypatch.undo()
        await transaction.done()
        assert record.name == "janus_fast.message_transaction"
        assert getattr(record, TRANSACTION) == transaction.id
        assert isinstance(transaction.id, str) and transaction.id
        assert getattr(record, SESSION_ID) == session.id
        assert getattr(record, HANDLE_ID) == plugin.id

        # A session-level record: the caller-set session_id is ignored with a warning.
        await session.send({"janus": "keepalive", "session_id": 1})
        record = records.about("ignoring caller-set session_id")
        assert record is not None
        assert record.name == "janus_fast.session"
        assert getattr(record, SESSION_ID) == session.id
        assert getattr(record, HANDLE_ID) is None
        assert getattr(record, SERVER) == shown

    assert_no_secret(records, (API_SECRET, TOKEN, janus.config.admin_secret))


async def test_session_lost_record(janus_factory: Any, records: _Records) -> None:
    janus: JanusServer = janus_factory(api_secret=API_SECRET, session_timeout=1)
    # No keepalive: Janus times the session out and the session logs its loss.
    session = JanusSession(base_url=janus.ws_url, api_secret=API_SECRET, keepalive_interval=3600)
    async with session:
        await session.create()
        plugin = EchoTest()
        await plugin.attach(session)
        session_id = session.id
        record = await records.wait_for(f"session {session_id} lost", 10)
    assert record.name == "janus_fast.session"
    assert getattr(record, SESSION_ID) == session_id
    assert getattr(record, HANDLE_ID) is None
    assert getattr(record, TRANSACTION) is None
    assert getattr(record, SERVER) == janus.ws_url
    assert_no_secret(records, (API_SECRET, janus.config.admin_secret))


def assert_no_secret(records: _Records, secrets: tuple[str, ...]) -> None:
    """Check every kept record has the four fields and shows none of ``secrets`` anywhere."""
    assert records.records
    for record, line in zip(records.records, records.lines, strict=True):
        for field in FIELDS:
            assert hasattr(record, field), (field, line)
        shown_text = " ".join(
            (line, record.getMessage(), *(str(getattr(record, f)) for f in FIELDS))
        )
        for secret in secrets:
            assert secret not in shown_text, line
