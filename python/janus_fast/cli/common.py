"""What every ``janus-fast`` command shares: exit codes, the one-line error, option helpers.

Rule: a command reports failure by raising ``CliError`` (or letting a library error through);
``classify`` turns either into one line and an exit code (2: bad usage or URL, 3: authentication
refused, 1: anything else). Credentials are read from options or the environment and never
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any, NoReturn, Protocol

from janus_fast.transport import JanusTransport

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3


class CliError(Exception):
    """A failure the user gets as one line (with an exit code).

    Args:
        message: the line shown.
        code: the process exit code (1: error, 2: usage, 3: authentication).
    """

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are ``CliError``s (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Raise the usage error instead of printing it and exiting.

        Args:
            message: argparse's text.

        Raises:
            CliError: always, with exit code 2 and a pointer to ``--help``.
        """
        raise CliError(f"{message} (see `{self.prog} --help`)", EXIT_USAGE)


class Commands(Protocol):
    """The subcommand registry a command module adds its parsers to (argparse's subparsers)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """Add the parser of subcommand ``name`` (``kwargs`` as argparse takes them)."""
        ...


def one_line(text: str) -> str:
    """Return ``text`` on one line, its whitespace runs collapsed to single spaces."""
    return " ".join(str(text).split())


def transport_config(timeout: float) -> dict[str, Any]:
    """Transport options of a one-shot command: every wait bounded by ``timeout``, no retries."""
    return {"timeout": timeout, "connect_timeout": timeout, "max_retries": 0, "reconnect": False}


def classify(exc: BaseException) -> CliError:
    """Map a library error to a one-line ``CliError`` (with an exit code).

    Args:
        exc: the error a command raised.

    Returns:
        ``exc`` itself if it is a ``CliError``; a usage error for a bad URL; an authentication
        error (exit 3) for a refused secret or token; otherwise a plain error (exit 1).
    """
    from janus_fast import AuthError, InvalidURLError, JanusError, RequestTimeoutError

    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, InvalidURLError):
        return CliError(f"bad URL: {one_line(str(exc))}", EXIT_USAGE)
    if isinstance(exc, AuthError):
        return CliError(f"authentication refused: {one_line(str(exc))}", EXIT_AUTH)
    if isinstance(exc, JanusError) and getattr(exc, "code", None) == 403:
        return CliError(f"authentication refused: {one_line(str(exc))}", EXIT_AUTH)
    if isinstance(exc, RequestTimeoutError | TimeoutError | asyncio.TimeoutError):
        return CliError("timed out waiting for Janus", EXIT_ERROR)
    text = one_line(str(exc)) or type(exc).__name__
    return CliError(text, EXIT_ERROR)


async def open_transport(url: str, args: argparse.Namespace) -> JanusTransport:
    """Open a connected transport to the Janus API at ``url``.

    Args:
        url: the Janus API URL.
        args: the parsed options (``timeout``, ``api_secret``, ``token``).

    Returns:
        The connected transport (the caller disconnects it).
    """
    transport = JanusTransport.create_transport(
        url, api_secret=args.api_secret, token=args.token, config=transport_config(args.timeout)
    )
    await transport.connect()
    return transport


def add_secret_options(sub: argparse.ArgumentParser) -> None:
    """Add ``--api-secret`` and ``--token`` (defaults from the environment) to ``sub``."""
    sub.add_argument(
        "--api-secret",
        default=os.environ.get("JANUS_API_SECRET"),
        help="Janus api_secret (default: $JANUS_API_SECRET)",
    )
    sub.add_argument(
        "--token", default=os.environ.get("JANUS_TOKEN"), help="Janus token (default: $JANUS_TOKEN)"
    )


def add_timeout_option(sub: argparse.ArgumentParser) -> None:
    """Add ``--timeout`` (seconds, default 10) to ``sub``."""
    sub.add_argument("--timeout", type=float, default=10.0, help="seconds (default 10)")
