"""``python -m janus_fast.testing up|down|status``: a detached local Janus for manual work.

Rule: ``up`` records the pid, folder and URLs in a state file; ``down`` stops exactly that pid,
after checking its command line still names that folder (a reused pid is never signalled).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from janus_fast.testing.config import JanusConfig
from janus_fast.testing.server import JanusNotInstalledError, JanusServer, JanusStartError

STATE_FILE = Path(os.environ.get("JANUS_FAST_STATE", ".janus-dev.json"))


def _up(args: argparse.Namespace) -> int:
    if STATE_FILE.exists():
        print(f"already up (see {STATE_FILE}); run `make janus-down` first", file=sys.stderr)
        return 1
    config = JanusConfig(
        api_secret=args.api_secret,
        event_loops=args.event_loops,
        json=args.json,
        debug_level=args.debug_level,
        string_ids=args.string_ids,
        modules_dir=args.modules_dir,
        expect_version=args.expect_version,
    )
    try:
        server = JanusServer(config, binary=args.binary, detached=True).start()
    except (JanusStartError, JanusNotInstalledError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    state = {
        "pid": server.pid,
        "version": server.version,
        "binary": str(server.binary),
        "modules_dir": str(server.modules_dir),
        "folder": str(server.folder),
        "ws_url": server.ws_url,
        "http_url": server.http_url,
        "admin_ws_url": server.admin_ws_url,
        "admin_http_url": server.admin_http_url,
        "log": str(server.log_path),
    }
    STATE_FILE.write_text(json.dumps(state, indent=2))
    print(json.dumps(state, indent=2))
    print(f"admin_secret is in {server.folder}/janus.jcfg", file=sys.stderr)
    return 0


def _down(_args: argparse.Namespace) -> int:
    if not STATE_FILE.exists():
        print("nothing is up", file=sys.stderr)
        return 0
    state = json.loads(STATE_FILE.read_text())
    pid, folder = int(state["pid"]), state["folder"]
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmdline = ""
    if folder in cmdline:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
        print(f"stopped janus pid {pid}")
    else:
        print(f"pid {pid} is no longer our janus; nothing to stop")
    shutil.rmtree(folder, ignore_errors=True)
    STATE_FILE.unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m janus_fast.testing up|down``: start or stop a detached local Janus.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m janus_fast.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a detached local Janus")
    up.add_argument("--api-secret", default=None)
    up.add_argument("--event-loops", type=int, default=0)
    up.add_argument("--json", choices=("indented", "plain", "compact"), default="indented")
    up.add_argument("--debug-level", type=int, default=4)
    up.add_argument("--string-ids", action="store_true", help="string room/mountpoint ids")
    up.add_argument("--binary", default=None, help="janus executable (default: as the fixtures)")
    up.add_argument("--modules-dir", default=None, help="default: the binary's own lib/janus")
    up.add_argument("--expect-version", default=None, help="refuse to run another version")
    up.set_defaults(run=_up)
    down = commands.add_parser("down", help="stop the Janus started by `up`")
    down.set_defaults(run=_down)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
