//! # janus_proto — the sans-I/O protocol core of a Janus WebRTC gateway client
//!
//! ## The contract
//! - **No I/O, no clock, no threads, no global state, no `unsafe`.** The caller owns sockets, time
//!   and tasks. Bytes read from the network go in (`receive_data`, `receive_eof`); bytes to write
//!   come out (`data_to_send`); time comes in as an argument (`expire(now)`, deadlines); randomness
//!   comes in once as a seed (`os.urandom(16)` per connection) for a deterministic PRNG.
//! - **One crossing per network read.** `receive_data` consumes everything given and queues
//!   outputs; the caller drains them as a batch. The result never depends on how the byte stream
//!   was split into reads.
//! - **Expected failures are data.** A Janus `error` reply, a plugin `error_code`, an unknown
//!   `janus` type are fields of a [`Message`]; bytes that are not valid WebSocket/HTTP/JSON/Janus
//!   are a [`ProtocolError`], and so is local misuse ([`ProtocolError::is_misuse`]).
//! - **Waiters and targets are opaque.** Transactions are generic over the waiter `W` (the binding
//!   uses a Python Future) and routes over the target `H`; neither needs `Clone`.
//!
//! ## Layers
//! - [`ws`]: RFC 6455 client ([`WsClient`]): handshake, frames, masking, fragmentation, close.
//! - [`janus`]: [`janus::classify`] incoming JSON, [`janus::encode`] requests,
//!   [`Transactions`], [`Routes`], composed in [`JanusCore`] (what an HTTP transport wraps).
//! - [`connection`]: [`WsJanusConnection`] = [`WsClient`] + [`JanusCore`] + request framing
//!   ([`coalesce`]: several requests per frame only where the server accepts them).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buffer;
pub mod coalesce;
pub mod connection;
pub mod error;
pub mod http;
pub mod janus;
pub mod rng;
pub mod ws;

/// Bytes of one received WebSocket message / HTTP body, shared by the messages classified from it.
pub type Payload = std::sync::Arc<[u8]>;

pub use connection::WsJanusConnection;
pub use error::{HandshakeError, HttpError, ProtocolError};
pub use janus::core::EventTarget;
pub use janus::{
    classify, classify_each, Expect, JanusCore, JanusCoreConfig, Kind, Message, Output, OutputRef,
    RequestFields, RequestOptions, Resolution, Route, RouteStats, Routes, Transactions, TxId,
    TxIdGen, TxStats,
};
pub use janus::{watermark_step, EventStream, MAX_RECEIVE_LOW_WATERMARK};
pub use rng::Rng;
pub use ws::{WsClient, WsConfig, WsEvent, WsState, WsStats};
