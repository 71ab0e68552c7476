"""janus_fast: a fast, dependable asyncio client for the Janus WebRTC gateway.

Rule: this module only re-exports the public API; importing it has no side effects (no logging
configuration, no event-loop policy, no aiortc/PyAV import).
"""

from janus_fast._core import __version__

__all__ = ["__version__"]
