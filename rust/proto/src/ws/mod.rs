//! WebSocket client codec (RFC 6455), sans I/O.
//!
//! Rule: bytes in, events out; frames to send are queued as bytes. Nothing here knows about Janus.

pub mod client;
pub mod frame;
pub mod handshake;

pub use client::{WsClient, WsConfig, WsEvent, WsState, WsStats};
pub use frame::{close_code, FrameHeader, Opcode};
