"""A failed connect, shown as janus-client 0.9.0 showed it (class and text), still typed.

Rule: the error is always a ``TransportError`` and an instance of the socket error's class
(``ConnectionRefusedError`` …). WebSocket: the socket error's text, as janus-client let
``websockets.connect``'s error through. HTTP: aiohttp's text (``Cannot connect to host
{host}:{port} ssl:default [{strerror}]``), and aiohttp's ``ClientConnectorError`` class too when
the program has imported aiohttp (a program that catches it has); aiohttp is never imported here.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from janus_fast.errors import TransportError, combined_class


def websocket_connect_error(error: OSError) -> TransportError:
    """Make the error of a refused WebSocket connect: the socket's class and text.

    Args:
        error: the socket error (``ConnectionRefusedError``, ``ssl.SSLError`` …).

    Returns:
        A ``TransportError`` that is also ``type(error)``, with ``error``'s args and text.
    """
    cls = combined_class(TransportError, type(error))
    result = cls.__new__(cls, *error.args)
    result.__init__(*error.args)  # type: ignore[misc]
    return result


def http_connect_error(error: OSError, host: str, port: int) -> TransportError:
    """Make the error of a failed HTTP connect: aiohttp's text (and class, when loaded).

    Args:
        error: the socket error.
        host: the host connected to.
        port: the port connected to.

    Returns:
        A ``TransportError`` that is also ``type(error)`` and, when the program imported
        aiohttp, ``aiohttp.ClientConnectorError`` (with its ``host``, ``port``, ``ssl`` and
        ``os_error``).
    """
    aiohttp = sys.modules.get("aiohttp")
    connector_error = getattr(aiohttp, "ClientConnectorError", None)
    if isinstance(connector_error, type) and issubclass(connector_error, OSError):
        try:
            return _as_aiohttp(connector_error, error, host, port)
        except Exception:  # an aiohttp whose class cannot be built this way: the text alone
            pass
    reason = error.strerror or str(error)
    text = f"Cannot connect to host {host}:{port} ssl:default [{reason}]"
    cls = combined_class(TransportError, type(error))
    result = cls.__new__(cls, text)
    result.__init__(text)  # type: ignore[misc]
    return result


def _as_aiohttp(
    connector_error: type[OSError], error: OSError, host: str, port: int
) -> TransportError:
    """An instance of aiohttp's ``ClientConnectorError`` that is also ``TransportError``."""
    cls = combined_class(connector_error, TransportError, type(error))
    key = SimpleNamespace(host=host, port=port, ssl=True, is_ssl=False)
    result = cls.__new__(cls, error.errno, error.strerror)
    result.__init__(key, error)  # type: ignore[misc]
    assert isinstance(result, TransportError)
    str(result)  # aiohttp's __str__ reads the key: fail here, not in the caller's handler
    return result
