"""Child-process chores shared by the harness's servers (Janus, Kamailio, baresip, brokers).

Rule: a process started here dies with the thread that started it (``die_with_parent`` as the
``preexec_fn``), is stopped through its own ``Popen`` (SIGTERM, then SIGKILL; never by name), and
its log is read back only as a bounded tail.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import subprocess
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Make the child get SIGKILL when the thread that started it ends (a ``preexec_fn``)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def terminate(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM ``process`` if it still runs, SIGKILL it after ``timeout`` s, and reap it."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def log_tail(path: Path, lines: int, missing: str = "(no log)") -> str:
    """Return the last ``lines`` lines of the log at ``path`` (``missing`` if it cannot be read)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return missing
