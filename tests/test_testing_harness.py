"""The real-Janus harness itself: info, auth modes, side-by-side instances, clean stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from janus_fast.testing import (
    JanusConfig,
    JanusNotInstalledError,
    JanusServer,
    JanusVersionError,
    find_janus_binary,
    mint_signed_token,
)
from janus_fast.testing._ports import port_is_free
from janus_fast.testing.install import (
    JanusInstallError,
    binary_version,
    modules_dir_for,
    parse_version_output,
)

EXPECTED_PLUGINS = {
    "janus.plugin.echotest",
    "janus.plugin.videoroom",
    "janus.plugin.videocall",
    "janus.plugin.textroom",
    "janus.plugin.streaming",
    "janus.plugin.audiobridge",
}
EXPECTED_TRANSPORTS = {"janus.transport.http", "janus.transport.websockets"}


async def ws_request(url: str, body: dict[str, Any], *, admin: bool = False) -> dict[str, Any]:
    protocol = "janus-admin-protocol" if admin else "janus-protocol"
    async with websockets.connect(url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"transaction": "t1", **body}))
        reply: dict[str, Any] = json.loads(await ws.recv())
        return reply


async def http_post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"transaction": "t", **body}) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_info_over_http_lists_plugins_and_transports(janus_server: JanusServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{janus_server.http_url}/info") as r:
        assert r.status == 200
        info = await r.json(content_type=None)
    assert info["janus"] == "server_info"
    assert info["server-name"] == janus_server.server_name
    assert set(info["plugins"]) >= EXPECTED_PLUGINS
    assert set(info["transports"]) >= EXPECTED_TRANSPORTS


async def test_info_over_ws_lists_plugins_and_transports(janus_server: JanusServer) -> None:
    info = await ws_request(janus_server.ws_url, {"janus": "info"})
    assert info["janus"] == "server_info"
    assert info["transaction"] == "t1"
    assert info["server-name"] == janus_server.server_name
    assert set(info["plugins"]) >= EXPECTED_PLUGINS
    assert set(info["transports"]) >= EXPECTED_TRANSPORTS


async def test_admin_ws_and_http_need_the_admin_secret(janus_server: JanusServer) -> None:
    ok = await ws_request(
        janus_server.admin_ws_url,
        {"janus": "get_status", "admin_secret": janus_server.admin_secret},
        admin=True,
    )
    assert ok["janus"] == "success", ok
    denied = await ws_request(
        janus_server.admin_ws_url, {"janus": "get_status", "admin_secret": "wrong"}, admin=True
    )
    assert denied["janus"] == "error"
    assert denied["error"]["code"] == 403
    status, reply = await http_post(janus_server.admin_http_url, {"janus": "list_sessions"})
    assert status == 200
    assert reply["error"]["code"] == 403


def test_default_json_style_is_indented_and_compact_can_be_chosen(janus_factory: Any) -> None:
    compact = janus_factory(json="compact")
    raw = read_raw(f"{compact.http_url}/info")
    assert b"\n" not in raw.strip()
    assert raw.startswith(b'{"janus":"server_info"')
    indented = janus_factory()
    assert b'\n   "janus": "server_info"' in read_raw(f"{indented.http_url}/info")


def read_raw(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        data: bytes = response.read()
        return data


async def test_api_secret_mode_rejects_missing_and_wrong_secret(janus_factory: Any) -> None:
    janus = janus_factory(api_secret="s3cret-api")
    for body in ({"janus": "create"}, {"janus": "create", "apisecret": "nope"}):
        reply = await ws_request(janus.ws_url, body)
        assert reply["janus"] == "error", reply
        assert reply["error"]["code"] == 403
        status, reply = await http_post(janus.http_url, body)
        assert (status, reply["error"]["code"]) == (200, 403)
    reply = await ws_request(janus.ws_url, {"janus": "create", "apisecret": "s3cret-api"})
    assert reply["janus"] == "success"
    status, reply = await http_post(janus.http_url, {"janus": "create", "apisecret": "s3cret-api"})
    assert reply["janus"] == "success"
    info = await ws_request(janus.ws_url, {"janus": "info"})
    assert info["api_secret"] is True


async def test_stored_token_mode(janus_factory: Any) -> None:
    janus = janus_factory(token_auth=True, stored_tokens=("good-token",))
    for body in ({"janus": "create"}, {"janus": "create", "token": "bad-token"}):
        reply = await ws_request(janus.ws_url, body)
        assert reply["error"]["code"] == 403, reply
    reply = await ws_request(janus.ws_url, {"janus": "create", "token": "good-token"})
    assert reply["janus"] == "success"
    listed = janus.admin_request({"janus": "list_tokens"})
    assert [t["token"] for t in listed["data"]["tokens"]] == ["good-token"]


async def test_signed_token_mode_accepts_minted_and_rejects_expired(janus_factory: Any) -> None:
    secret = "hmac-key"
    janus = janus_factory(token_auth_secret=secret)
    good = mint_signed_token(secret, ["janus.plugin.echotest"])
    expired = mint_signed_token(secret, ["janus.plugin.echotest"], expiry=int(time.time()) - 60)
    wrong_key = mint_signed_token("other-key", ["janus.plugin.echotest"])
    for bad in (expired, wrong_key):
        reply = await ws_request(janus.ws_url, {"janus": "create", "token": bad})
        assert reply["error"]["code"] == 403, reply
    async with websockets.connect(janus.ws_url, subprotocols=["janus-protocol"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"janus": "create", "transaction": "a", "token": good}))
        created = json.loads(await ws.recv())
        assert created["janus"] == "success"
        session = created["data"]["id"]
        for plugin, expected in (
            ("janus.plugin.echotest", "success"),
            ("janus.plugin.videoroom", "error"),
        ):
            await ws.send(
                json.dumps(
                    {
                        "janus": "attach",
                        "plugin": plugin,
                        "session_id": session,
                        "transaction": "b",
                        "token": good,
                    }
                )
            )
            reply = json.loads(await ws.recv())
            assert reply["janus"] == expected, reply
            if expected == "error":
                assert reply["error"]["code"] == 405


async def test_session_timeout_and_event_loops_modes(janus_factory: Any) -> None:
    janus = janus_factory(session_timeout=7, reclaim_session_timeout=3, event_loops=2)
    info = await ws_request(janus.ws_url, {"janus": "info"})
    assert info["session-timeout"] == 7
    assert info["reclaim-session-timeout"] == 3
    assert info["static-event-loops"] == 2


def test_plugins_can_be_chosen(janus_factory: Any) -> None:
    janus = janus_factory(plugins=("echotest",))
    assert set(janus.info()["plugins"]) == {"janus.plugin.echotest"}


def test_two_instances_side_by_side_and_stop_frees_everything() -> None:
    with JanusServer() as first, JanusServer() as second:
        assert first.pid != second.pid
        assert set(first.ports.all()).isdisjoint(second.ports.all())  # type: ignore[union-attr]
        assert first.info()["server-name"] == first.server_name
        assert second.info()["server-name"] == second.server_name
        pids, ports = (first.pid, second.pid), (*first.ports.all(), *second.ports.all())  # type: ignore[union-attr]
        folders = (first.folder, second.folder)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert all(port_is_free(port) for port in ports)
    assert not any(folder.exists() for folder in folders)


def test_stop_after_sigkill_and_restart_on_same_ports() -> None:
    with JanusServer() as janus:
        ports = janus.ports
        janus.kill(signal.SIGKILL)
        assert not janus.running
        janus.restart()
        assert janus.ports == ports
        assert janus.info()["server-name"] == janus.server_name


def test_no_process_left_when_the_owner_dies(tmp_path: Any) -> None:
    script = (
        "import os, sys\n"
        "from janus_fast.testing import JanusServer\n"
        "j = JanusServer().start()\n"
        "print(j.pid, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("janus outlived the process that started it")


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("JANUS_BINARY", str(tmp_path / "no-such-janus"))
    with pytest.raises(JanusNotInstalledError, match="apt-get install -y janus"):
        find_janus_binary()


def test_secrets_are_not_in_reprs() -> None:
    config = JanusConfig(api_secret="top-secret-1", token_auth_secret="top-secret-2")
    assert "top-secret" not in repr(config)


def test_pytest_plugin_is_registered_and_fixture_fails_without_binary(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_uses_fixture(janus_server):
            assert janus_server.info()["server-name"] == janus_server.server_name
            assert janus_server.pid > 0
            assert janus_server.admin_secret
            for url in (janus_server.ws_url, janus_server.http_url,
                        janus_server.admin_ws_url, janus_server.admin_http_url):
                assert "127.0.0.1" in url
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest_subprocess("--janus-binary", "/nonexistent/janus")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*apt-get install -y janus*"])


async def plugin_requests(
    url: str, plugin: str, bodies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Create a session, attach ``plugin`` and send each body; return the plugin data replies."""
    async with websockets.connect(url, subprotocols=["janus-protocol"]) as ws:  # type: ignore[list-item]

        async def call(request: dict[str, Any]) -> dict[str, Any]:
            await ws.send(json.dumps({"transaction": "t", **request}))
            reply: dict[str, Any] = json.loads(await ws.recv())
            assert reply["janus"] == "success", reply
            return reply

        session = (await call({"janus": "create"}))["data"]["id"]
        handle = (await call({"janus": "attach", "plugin": plugin, "session_id": session}))["data"][
            "id"
        ]
        results = []
        for body in bodies:
            reply = await call(
                {"janus": "message", "session_id": session, "handle_id": handle, "body": body}
            )
            results.append(reply["plugindata"]["data"])
        return results


async def test_string_ids_mode_takes_string_room_ids(janus_factory: Any) -> None:
    janus = janus_factory(string_ids=True)
    created, exists, numeric = await plugin_requests(
        janus.ws_url,
        "janus.plugin.videoroom",
        [
            {"request": "create", "room": "abc"},
            {"request": "exists", "room": "1234"},
            {"request": "create", "room": 4321},
        ],
    )
    assert created == {"videoroom": "created", "room": "abc", "permanent": False}
    assert exists == {"videoroom": "success", "room": "1234", "exists": True}
    assert numeric["videoroom"] == "event" and "error_code" in numeric, numeric
    for plugin, kind in (
        ("janus.plugin.textroom", "textroom"),
        ("janus.plugin.audiobridge", "audiobridge"),
    ):
        (listed,) = await plugin_requests(janus.ws_url, plugin, [{"request": "list"}])
        assert [room["room"] for room in listed["list"]] == ["1234"], (kind, listed)
    (mountpoints,) = await plugin_requests(
        janus.ws_url, "janus.plugin.streaming", [{"request": "list"}]
    )
    assert [mp["id"] for mp in mountpoints["list"]] == ["1"]


async def test_numeric_ids_by_default(janus_factory: Any) -> None:
    janus = janus_factory(plugins=("videoroom",))
    (refused,) = await plugin_requests(
        janus.ws_url, "janus.plugin.videoroom", [{"request": "create", "room": "abc"}]
    )
    assert refused["videoroom"] == "event" and "error_code" in refused, refused


# -- which Janus runs: modules of the binary's own prefix, and the version it says it is -------


@pytest.fixture
def real_binary(pytestconfig: pytest.Config) -> Path:
    return find_janus_binary(pytestconfig.getoption("--janus-binary"))


def loaded_janus_modules(pid: int) -> set[Path]:
    """The libjanus_* files the process has mapped (plugins and transports)."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {Path(line.split()[-1]) for line in maps if "/libjanus_" in line}


def write_wrapper(path: Path, real: Path, version_line: str | None) -> Path:
    """A ``janus`` script that runs ``real``, but answers ``--version`` with ``version_line``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lie = "" if version_line is None else f'echo "{version_line}"; '
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = "--version" ]; then {lie}exit 1; fi\nexec "{real}" "$@"\n'
    )
    path.chmod(0o755)
    return path


def test_modules_come_from_the_binarys_own_prefix(
    real_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second install: the same core copied under another prefix, with only the echotest
    # plugin. Running it must load that prefix's modules, never the system's.
    system_modules = modules_dir_for(real_binary)
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    binary = prefix / "bin" / "janus"
    shutil.copy(real_binary, binary)
    modules = prefix / "lib" / "janus"
    for kind, name in (
        ("plugins", "libjanus_echotest.so"),
        ("transports", "libjanus_http.so"),
        ("transports", "libjanus_websockets.so"),
    ):
        (modules / kind).mkdir(parents=True, exist_ok=True)
        shutil.copy(system_modules / kind / name, modules / kind / name)
    monkeypatch.setenv("JANUS_LIB_DIR", str(system_modules))  # no longer consulted
    with JanusServer(JanusConfig(plugins=("echotest", "videoroom")), binary=binary) as janus:
        assert janus.modules_dir == modules
        assert set(janus.info()["plugins"]) == {"janus.plugin.echotest"}
        loaded = loaded_janus_modules(janus.pid)
        assert {path.name for path in loaded} == {
            "libjanus_echotest.so",
            "libjanus_http.so",
            "libjanus_websockets.so",
        }
        assert all(path.is_relative_to(modules) for path in loaded), loaded
        assert janus.version == binary_version(real_binary)


def test_modules_folder_derivation_layouts(tmp_path: Path) -> None:
    def install(prefix: Path, modules: str) -> Path:
        for kind in ("plugins", "transports"):
            (prefix / modules / kind).mkdir(parents=True)
        (prefix / "bin").mkdir(parents=True)
        (prefix / "bin" / "janus").touch()
        return prefix / "bin" / "janus"

    source_build = install(tmp_path / "a", "lib/janus")
    assert modules_dir_for(source_build) == tmp_path / "a" / "lib" / "janus"
    debian = install(tmp_path / "b", "lib/x86_64-linux-gnu/janus")
    assert modules_dir_for(debian) == tmp_path / "b" / "lib" / "x86_64-linux-gnu" / "janus"
    linked = tmp_path / "elsewhere" / "janus"
    linked.parent.mkdir()
    linked.symlink_to(source_build)
    assert modules_dir_for(linked) == tmp_path / "a" / "lib" / "janus"
    bare = tmp_path / "c" / "bin" / "janus"
    bare.parent.mkdir(parents=True)
    bare.touch()
    with pytest.raises(JanusInstallError, match=r"JanusConfig\.modules_dir"):
        modules_dir_for(bare)


def test_binary_without_modules_fails_with_a_typed_error(real_binary: Path, tmp_path: Path) -> None:
    wrapper = write_wrapper(tmp_path / "bin" / "janus", real_binary, None)
    with pytest.raises(JanusNotInstalledError, match=r"JanusConfig\.modules_dir"):
        JanusServer(binary=wrapper)


def test_version_output_parsing() -> None:
    text = "Janus version: 1004 (1.0.4)\nJanus commit: x\nCompiled on:  y\n"
    assert parse_version_output(text) == "1.0.4"
    with pytest.raises(JanusInstallError, match="Janus version"):
        parse_version_output("janus 1.0.4\n")


def test_a_binary_that_lies_about_its_version_fails_start(
    real_binary: Path, tmp_path: Path
) -> None:
    wrapper = write_wrapper(tmp_path / "bin" / "janus", real_binary, "Janus version: 1099 (1.0.99)")
    config = JanusConfig(modules_dir=str(modules_dir_for(real_binary)))
    server = JanusServer(config, binary=wrapper)
    with pytest.raises(JanusVersionError, match=r"1\.0\.99") as caught:
        server.start()
    real_version = binary_version(real_binary)
    assert (caught.value.running, caught.value.expected) == (real_version, "1.0.99")
    assert not server.running
    assert server.ports is not None and all(port_is_free(p) for p in server.ports.all())
    # The same wrapper telling the truth starts (the explicit modules folder is used).
    honest = write_wrapper(
        tmp_path / "honest" / "janus", real_binary, f"Janus version: 1 ({real_version})"
    )
    with JanusServer(config, binary=honest) as janus:
        assert janus.version == real_version
        assert all(
            path.is_relative_to(config.modules_dir or "")
            for path in loaded_janus_modules(janus.pid)
        )


def test_a_binary_without_a_version_fails_start(real_binary: Path, tmp_path: Path) -> None:
    wrapper = write_wrapper(tmp_path / "bin" / "janus", real_binary, "no version here")
    config = JanusConfig(modules_dir=str(modules_dir_for(real_binary)))
    server = JanusServer(config, binary=wrapper)
    with pytest.raises(JanusVersionError, match="Janus version"):
        server.start()
    assert not server.running and server.ports is None


async def test_expect_version_must_match_the_servers(real_binary: Path) -> None:
    real_version = binary_version(real_binary)
    server = JanusServer(JanusConfig(expect_version="0.0.1"), binary=real_binary)
    with pytest.raises(JanusVersionError, match="expect_version") as caught:
        await server.astart()
    assert (caught.value.running, caught.value.expected) == (real_version, "0.0.1")
    assert not server.running
    async with JanusServer(JanusConfig(expect_version=real_version), binary=real_binary) as ok:
        assert ok.version == real_version == ok.info()["version_string"]


def test_fixtures_take_an_expected_version_and_another_binary(
    pytester: pytest.Pytester, real_binary: Path
) -> None:
    real_version = binary_version(real_binary)
    pytester.makepyfile(
        f"""
        def test_server(janus_server):
            assert janus_server.version == {real_version!r}

        def test_factory_with_binary(janus_factory):
            janus = janus_factory(binary={str(real_binary)!r}, plugins=("echotest",))
            assert janus.version == {real_version!r}
            assert set(janus.info()["plugins"]) == {{"janus.plugin.echotest"}}
        """
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--janus-binary",
        str(real_binary),
        "--janus-expect-version",
        real_version,
    )
    result.assert_outcomes(passed=2)
    # Another expected version: the shared server fails with the typed error; a factory given
    # its own binary is not held to the option.
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--janus-binary",
        str(real_binary),
        "--janus-expect-version",
        "0.0.1",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*JanusVersionError*0.0.1*"])
