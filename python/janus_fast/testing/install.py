"""What one Janus installation is: its binary's version and the modules folder that goes with it.

Rule: a binary is only ever run with the plugins, transports, event handlers and loggers of its
own install prefix (``<prefix>/bin/janus`` → ``<prefix>/lib/janus``, or the Debian multiarch
``<prefix>/lib/<triplet>/janus``), unless a folder is named explicitly. Nothing global (no
environment variable) picks modules for every binary, so a core of one version is never mixed
with modules of another.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

#: Sub-folders of a modules folder and the janus.jcfg setting each one fills.
MODULE_KINDS = {
    "plugins": "plugins_folder",
    "transports": "transports_folder",
    "events": "events_folder",
    "loggers": "loggers_folder",
}
_VERSION_LINE = re.compile(r"^Janus version:\s*(\d+)\s*\(([^)\s]+)\)", re.MULTILINE)
_VERSION_TIMEOUT = 10.0


class JanusInstallError(RuntimeError):
    """A janus binary's modules folder or version could not be determined."""


def modules_dir_candidates(binary: str | os.PathLike[str]) -> list[Path]:
    """Where the modules of ``binary`` may live, most likely first (symlinks resolved)."""
    prefix = Path(binary).resolve().parent.parent
    lib = prefix / "lib"
    multiarch = sorted(lib.glob("*-linux-*/janus")) if lib.is_dir() else []
    return [*multiarch, lib / "janus", prefix / "lib64" / "janus"]


def modules_dir_for(binary: str | os.PathLike[str]) -> Path:
    """Find the folder holding ``plugins/`` (and transports/, events/, loggers/) of ``binary``."""
    candidates = modules_dir_candidates(binary)
    for candidate in candidates:
        if (candidate / "plugins").is_dir() and (candidate / "transports").is_dir():
            return candidate
    tried = ", ".join(str(path) for path in candidates)
    raise JanusInstallError(
        f"no Janus modules folder (with plugins/ and transports/) belongs to {str(binary)!r}; "
        f"looked in {tried}. Name it with JanusConfig.modules_dir"
    )


def module_folders(modules_dir: Path) -> dict[str, str]:
    """Return the janus.jcfg ``*_folder`` settings for one modules folder."""
    return {setting: str(modules_dir / kind) for kind, setting in MODULE_KINDS.items()}


def parse_version_output(text: str) -> str:
    """Extract ``"1.1.2"`` from the ``janus --version`` text (``Janus version: 1102 (1.1.2)``)."""
    match = _VERSION_LINE.search(text)
    if match is None:
        raise JanusInstallError(f"no 'Janus version: N (x.y.z)' line in: {text[:200]!r}")
    return match.group(2)


def binary_version(binary: str | os.PathLike[str]) -> str:
    """Return the version string ``binary --version`` prints.

    Its exit status is not used: Janus 1.0.x and 1.1.x print "Unknown option --version" after
    it and exit 1, 1.4.1 exits 0.

    Args:
        binary: the janus executable.

    Returns:
        The version, e.g. ``1.1.2``.

    Raises:
        JanusInstallError: it cannot be run, or prints no version line.
    """
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JanusInstallError(f"could not run {str(binary)!r} --version: {exc}") from exc
    return parse_version_output(done.stdout.decode(errors="replace"))
