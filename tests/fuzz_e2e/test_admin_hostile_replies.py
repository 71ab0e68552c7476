"""The Admin client on replies of the right type but the wrong shape inside: a typed AdminError.

Rule: what the end-to-end fuzzer found, pinned as regressions — a ``success`` whose list of ids
holds a non-integer, whose setting is not an integer, or whose object is not an object, fails the
call with ``AdminError`` (not ``TypeError``/``ValueError`` from a cast), on WebSocket and HTTP.
A scripted Janus (``_fuzz_server``): a real one never sends these replies.
"""

from __future__ import annotations

from typing import Any

import pytest
from _fuzz_server import HttpScriptedJanus, Plan, Reply, ScriptedJanus, WsScriptedJanus, normal_plan

from janus_fast.admin import AdminError, JanusAdminMonitorClient

OPTIONS = {"timeout": 2.0, "max_retries": 0, "ping_interval": None}


def replacing(field: str, value: Any) -> Any:
    def mutate(replies: list[Reply]) -> Plan:
        replies[0].message[field] = value
        return normal_plan(replies)

    return mutate


CASES = [
    ("list_sessions", "sessions", [1, None], lambda a: a.list_sessions()),
    ("list_sessions", "sessions", [1, "2"], lambda a: a.list_sessions()),
    ("list_sessions", "sessions", [True], lambda a: a.list_sessions()),
    ("list_handles", "handles", [1.5], lambda a: a.list_handles(1)),
    ("set_session_timeout", "timeout", None, lambda a: a.set_session_timeout(60)),
    ("set_session_timeout", "timeout", "60", lambda a: a.set_session_timeout(60)),
    ("set_log_level", "level", [], lambda a: a.set_log_level(4)),
    ("set_log_level", "level", True, lambda a: a.set_log_level(4)),
    ("get_status", "status", [], lambda a: a.get_settings()),
    ("handle_info", "info", "x", lambda a: a.handle_info(1, 2)),
]


@pytest.mark.parametrize("kind", ["ws", "http"])
@pytest.mark.parametrize(
    ("request_kind", "field", "value", "call"), CASES, ids=[f"{c[0]}-{c[2]!r}" for c in CASES]
)
async def test_a_malformed_admin_reply_is_a_typed_admin_error(
    kind: str, request_kind: str, field: str, value: Any, call: Any
) -> None:
    server: ScriptedJanus = await (
        WsScriptedJanus() if kind == "ws" else HttpScriptedJanus()
    ).start()
    admin = JanusAdminMonitorClient(server.url, "secret", **OPTIONS)
    try:
        if request_kind in ("list_handles", "handle_info"):  # Janus knows session 1, handle 2
            server.brain.sessions[1] = {2}
        server.arm(request_kind, replacing(field, value))
        with pytest.raises(AdminError, match=f"{field!r}"):
            await call(admin)
        assert server.applied == 1
        assert (await admin.ping())["janus"] == "pong"  # the connection goes on
        assert admin.transport.stats()["pending"] == 0
    finally:
        await admin.disconnect()
        await server.close()
