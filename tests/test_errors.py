"""The one factory of combined error classes (Janus-free): isinstance rules, pickling round trips
of every combined class, a bounded cache, janus-client's class names and texts."""

from __future__ import annotations

import asyncio
import copy
import pickle
from typing import Any

import pytest

from janus_fast import errors
from janus_fast.admin import AdminError, admin_error
from janus_fast.errors import (
    JANUS_ERROR_CLASSES,
    ConnectionClosedError,
    InvalidMessageError,
    JanusError,
    JanusFastError,
    PluginAttachFail,
    PluginError,
    PluginNotFoundError,
    RequestTimeoutError,
    SessionNotFoundError,
    TransportError,
    UnauthorizedError,
    UnknownJanusError,
    attach_error,
    combined_class,
    connect_error,
    create_session_error,
    janus_error,
    janus_error_class,
)
from janus_fast.plugins import EchoTestError, TextRoomError, VideoCallError, VideoRoomError
from janus_fast.plugins._requests import core_error

CODES = [*sorted(JANUS_ERROR_CLASSES), 0, 999, 123456]
PLUGIN_ERRORS = [VideoRoomError, VideoCallError, TextRoomError, EchoTestError]


def round_trip(error: BaseException) -> Any:
    return pickle.loads(pickle.dumps(error))


def assert_same(error: BaseException, again: BaseException) -> None:
    assert type(again).__mro__[1:] == type(error).__mro__[1:]
    assert type(again).__name__ == type(error).__name__
    assert str(again) == str(error) and again.args == error.args
    assert again.__dict__ == error.__dict__


@pytest.mark.parametrize("code", CODES)
def test_attach_errors_pickle_and_keep_both_classes(code: int) -> None:
    error = attach_error(code, "reason 'quoted'")
    assert isinstance(error, PluginAttachFail) and isinstance(error, janus_error_class(code))
    assert type(error).__name__ == "PluginAttachFail"
    assert str(error) == f"Fail to attach plugin: {{'code': {code}, 'reason': \"reason 'quoted'\"}}"
    assert (error.code, error.reason) == (code, "reason 'quoted'")
    again = round_trip(error)
    assert_same(error, again)
    assert isinstance(again, PluginAttachFail) and isinstance(again, janus_error_class(code))
    assert_same(error, copy.deepcopy(error))


@pytest.mark.parametrize("code", CODES)
def test_admin_errors_pickle_and_keep_both_classes(code: int) -> None:
    error = admin_error(code, "nope")
    assert isinstance(error, AdminError) and isinstance(error, janus_error_class(code))
    assert isinstance(error, KeyError)  # janus-client's typed admin methods raised KeyError
    assert type(error).__name__ == "AdminError"
    assert str(error) == f"Janus error {code}: nope"  # not KeyError's quoted text
    again = round_trip(error)
    assert_same(error, again)
    assert isinstance(again, AdminError) and isinstance(again, janus_error_class(code))


@pytest.mark.parametrize("plugin_error", PLUGIN_ERRORS)
@pytest.mark.parametrize("code", CODES)
def test_plugin_core_errors_pickle_and_keep_both_classes(
    plugin_error: type[Any], code: int
) -> None:
    error = core_error(plugin_error, code, "gone")
    assert isinstance(error, plugin_error) and isinstance(error, PluginError)
    assert isinstance(error, janus_error_class(code)) and isinstance(error, JanusError)
    assert type(error).__name__ == plugin_error.__name__
    assert str(error) == f"{plugin_error.label} error {code}: gone"  # janus-client's text
    again = round_trip(error)
    assert_same(error, again)
    assert isinstance(again, plugin_error) and isinstance(again, janus_error_class(code))
    assert (again.code, again.reason, again.error_code) == (code, "gone", code)


def test_one_fallback_rule_for_unknown_codes() -> None:
    # A code outside the table is JanusError in all three places: no class per code.
    assert janus_error_class(123456) is JanusError
    assert type(janus_error(123456, "x")) is JanusError
    assert type(attach_error(123456, "x")) is PluginAttachFail
    assert type(admin_error(123456, "x")).__bases__ == (AdminError, KeyError)
    plugin = core_error(VideoRoomError, 123456, "x")
    assert type(plugin).__bases__ == (VideoRoomError, JanusError)
    assert not isinstance(attach_error(123456, "x"), UnknownJanusError)


def test_the_cache_stays_bounded_under_ten_thousand_distinct_codes() -> None:
    before = errors.combined_cache_size()
    for code in range(10_000, 20_000):
        assert attach_error(code, "x").code == code
        assert admin_error(code, "x").code == code
        assert core_error(VideoRoomError, code, "x").code == code
    # All unknown codes share their fallback: at most two new classes (admin's and plugin's).
    assert errors.combined_cache_size() <= before + 2
    assert errors.combined_cache_size() <= errors.COMBINED_CACHE_SIZE


def test_the_cache_is_bounded_and_evicted_classes_still_unpickle() -> None:
    made = [type(f"Extra{i}", (Exception,), {"__module__": __name__}) for i in range(300)]
    globals().update({cls.__name__: cls for cls in made})  # importable for pickle
    try:
        first = combined_class(JanusError, made[0])("x", "y")
        pickled = pickle.dumps(first)
        for cls in made[1:]:
            combined_class(JanusError, cls)
        assert errors.combined_cache_size() == errors.COMBINED_CACHE_SIZE
        again = pickle.loads(pickled)  # its class left the cache: rebuilt by the factory
        assert isinstance(again, JanusError) and isinstance(again, made[0])
        assert str(again) == str(first)
    finally:
        for cls in made:
            globals().pop(cls.__name__, None)


def test_combined_class_drops_redundant_bases_and_is_cached() -> None:
    assert combined_class(PluginAttachFail, JanusError) is PluginAttachFail
    assert combined_class(JanusError, SessionNotFoundError) is SessionNotFoundError
    one = combined_class(PluginAttachFail, PluginNotFoundError)
    assert combined_class(PluginAttachFail, PluginNotFoundError) is one
    assert combined_class(one, JanusError) is one  # a combined base is unpacked
    assert one.__bases__ == (PluginAttachFail, PluginNotFoundError)


def test_builtin_classes_of_janus_client_are_kept() -> None:
    timeout = RequestTimeoutError("no reply before the deadline")
    assert isinstance(timeout, asyncio.TimeoutError) and isinstance(timeout, TimeoutError)
    assert str(timeout) == "" and timeout.detail == "no reply before the deadline"
    assert "deadline" in repr(timeout)
    assert_same(timeout, round_trip(timeout))

    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")
    wrapped = TransportError("cannot connect")
    wrapped.__cause__ = refused
    error = connect_error(wrapped)
    assert isinstance(error, ConnectionRefusedError) and isinstance(error, TransportError)
    assert str(error) == str(refused) and error.errno == 111
    assert_same(error, round_trip(error))
    assert connect_error(TransportError("no cause")).args == ("no cause",)

    missing = errors.missing_janus_field()
    assert isinstance(missing, InvalidMessageError) and isinstance(missing, ValueError)
    assert str(missing) == 'Must set "janus" field'


def test_create_session_error_keeps_the_typed_class_and_pickles() -> None:
    error = create_session_error(janus_error(403, "Unauthorized request"))
    assert type(error) is UnauthorizedError
    assert str(error) == "Create session fail: {'code': 403, 'reason': 'Unauthorized request'}"
    assert_same(error, round_trip(error))


def test_every_plain_error_pickles() -> None:
    samples: list[BaseException] = [
        JanusFastError("x"),
        ConnectionClosedError(1006, "gone"),
        PluginError("janus.plugin.x", 1, "bad"),
        VideoRoomError(426, "No such room"),
        PluginAttachFail({"error": {"code": 460, "reason": "No such plugin"}}),
        *(janus_error(code, "r") for code in JANUS_ERROR_CLASSES),
    ]
    for error in samples:
        assert_same(error, round_trip(error))
