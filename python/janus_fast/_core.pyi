"""Type stubs for the Rust extension ``janus_fast._core``."""

__version__: str
