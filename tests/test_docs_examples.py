"""The documentation's code runs, and its plugin pages list every public method.

Rule: every example under docs/examples/ runs as a user would run it (its own process, the URL as
its argument) against the real Janus of the ``janus_server`` fixture, over WebSocket and HTTP; the
README's Python blocks are copies of parts of those examples; each plugin page names every public
method and property of its client class.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import janus_fast
from janus_fast.plugin import JanusPlugin

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"

#: example -> (what it is given, a line its output must contain)
RUNS: dict[str, tuple[str, str]] = {
    "quickstart_compat.py": ("janus", "reply: {'echotest': 'event', 'result': 'ok'}"),
    "quickstart_native.py": ("janus", "VideoRoom said 426"),
    "connect.py": ("janus", "Janus WebRTC Server"),
    "events.py": ("janus", "'joining': {"),
    "errors.py": ("janus", "timed out: "),
    "logging_json.py": ("janus", '"logger": "janus_fast.plugin", "level": "WARNING"'),
    "with_uvloop.py": ("janus", "'result': 'ok'"),
    "timeouts.py": ("janus", "timed out after 2.0 s"),
    "shared_transport.py": ("janus", "10 sessions on one transport"),
    "admin.py": ("admin", "refused: 403"),
    "testing_harness.py": ("none", "session "),
    "auth.py": ("none", "refused: 403 secret shown: False"),
    "tls.py": ("none", "refused: True"),
    "reconnect.py": ("none", "connection events: ['disconnected', 'reconnecting', 'reconnected']"),
    "orchestrator.py": ("none", "adopted 6 rooms after the restart"),
}


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
        cwd=ROOT,
        env=env,
    )


def test_every_example_is_run() -> None:
    files = {p.name for p in EXAMPLES.glob("*.py")} - {"test_with_fixtures.py"}
    assert files == set(RUNS)


#: (example, transport): twice each, but once for an example that starts its own Janus
CASES = [
    (name, transport)
    for name in sorted(RUNS)
    for transport in (("ws", "http") if RUNS[name][0] != "none" else ("own",))
]


@pytest.mark.parametrize(("name", "transport"), CASES)
def test_example_runs(janus_server: Any, name: str, transport: str) -> None:
    given, expected = RUNS[name]
    env = dict(os.environ)
    args = [str(EXAMPLES / name)]
    if given == "janus":
        args.append(janus_server.ws_url if transport == "ws" else janus_server.http_url)
    elif given == "admin":
        args.append(janus_server.admin_ws_url if transport == "ws" else janus_server.admin_http_url)
        env["JANUS_ADMIN_SECRET"] = janus_server.config.admin_secret
    done = _run(args, env)
    assert done.returncode == 0, done.stderr[-4000:]
    assert expected in done.stdout, done.stdout


def test_pytest_fixture_example() -> None:
    done = _run(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "test_with_fixtures.py")]
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "2 passed" in done.stdout


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_examples_are_the_run_examples() -> None:
    blocks = _python_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 2
    sources = {p.name: p.read_text() for p in EXAMPLES.glob("*.py")}
    for block in blocks:
        assert any(block in source for source in sources.values()), block


#: client class name -> its page under docs/plugins/
#: pages written with the examples (the others' Python blocks are theirs to check)
EXAMPLE_PAGES = [
    "getting-started.md",
    "migration.md",
    "testing.md",
    "admin-cli.md",
    *(f"guide/{page.name}" for page in sorted((ROOT / "docs" / "guide").glob("*.md"))),
]


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_page_code_is_a_run_example(page: str) -> None:
    """Each Python block of these pages includes an example file, or is a copy of a part of one."""
    text = (ROOT / "docs" / page).read_text()
    sources = [p.read_text() for p in EXAMPLES.glob("*.py")]
    for block in _python_blocks(text):
        included = re.fullmatch(r'--8<-- "docs/examples/([\w.]+)"\n', block)
        if included:
            assert (EXAMPLES / included.group(1)).is_file(), block
        else:
            assert any(block in source for source in sources), f"{page}: {block}"


PLUGIN_PAGES = {
    "JanusEchoTestPlugin": "echotest.md",
    "JanusVideoRoomPlugin": "videoroom.md",
    "JanusVideoCallPlugin": "videocall.md",
    "JanusTextRoomPlugin": "textroom.md",
    "JanusStreamingPlugin": "streaming.md",
    "JanusAudioBridgePlugin": "audiobridge.md",
    "JanusRecordPlayPlugin": "recordplay.md",
    "JanusNoSipPlugin": "nosip.md",
    "JanusSipPlugin": "sip.md",
}
#: the clients janus_fast exports (every one must have a page)
CLIENTS = [
    getattr(janus_fast, name)
    for name in janus_fast.__all__
    if name.startswith("Janus") and name.endswith("Plugin") and name != "JanusPlugin"
]


def _public_members(cls: type) -> list[str]:
    """The public methods and properties a plugin client adds to ``JanusPlugin``."""
    base = set(dir(JanusPlugin))
    names = []
    for name in dir(cls):
        if name.startswith("_") or name in base:
            continue
        member = inspect.getattr_static(cls, name)
        if isinstance(member, property) or inspect.isfunction(member):
            names.append(name)
    return names


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda cls: cls.__name__)
def test_plugin_page_lists_every_public_method(cls: type) -> None:
    assert cls.__name__ in PLUGIN_PAGES, f"{cls.__name__} has no page under docs/plugins/"
    page_name = PLUGIN_PAGES[cls.__name__]
    page = (ROOT / "docs" / "plugins" / page_name).read_text()
    missing = [name for name in _public_members(cls) if f"`{name}" not in page]
    assert not missing, f"docs/plugins/{page_name} does not mention {missing}"
    nav = (ROOT / "mkdocs.yml").read_text()
    assert f"plugins/{page_name}" in nav, f"docs/plugins/{page_name} is not in mkdocs.yml's nav"


def test_admin_page_lists_every_public_method() -> None:
    page = (ROOT / "docs" / "admin-cli.md").read_text()
    cls = janus_fast.JanusAdminMonitorClient
    names = [n for n in dir(cls) if not n.startswith("_")]
    missing = [name for name in names if f"`{name}" not in page]
    assert not missing, f"docs/admin-cli.md does not mention {missing}"


def test_pages_name_no_machine_path_or_outside_document() -> None:
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "CONTRIBUTING.md"]
    pages += sorted((ROOT / "docs").rglob("*.md")) + sorted(EXAMPLES.glob("*.py"))
    for page in pages:
        text = page.read_text()
        for pattern in (r"/work/", r"/home/", r"/root/", r"\.\./shared", r"(?<![\w/&])#\d+\b"):
            assert not re.search(pattern, text), f"{page.relative_to(ROOT)}: {pattern}"
