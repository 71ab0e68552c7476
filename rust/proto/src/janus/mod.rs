//! The Janus layer: classify incoming JSON, encode requests, match replies to waiters, route
//! events to sessions and handles.
//!
//! Rule: this layer sees whole messages (payload bytes), never sockets or frames, so the same code
//! serves the WebSocket connection and the HTTP transport.

use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasherDefault, Hasher};

pub mod core;
pub mod event_stream;
mod fields;
pub mod message;
pub mod request;
pub mod routes;
pub mod transactions;

pub use self::core::{JanusCore, JanusCoreConfig, Output, OutputRef, RequestOptions};
pub use event_stream::EventStream;
pub use message::{classify, classify_each, Kind, Message};
pub use request::{encode, encode_into, RequestFields, TxId, TxIdGen};
pub use routes::{Route, RouteStats, Routes};
pub use transactions::{
    min_reply_wire_bytes, watermark_step, Expect, Owed, Resolution, Transactions, TxStats,
    MAX_RECEIVE_LOW_WATERMARK, MIN_REPLY_WIRE_BYTES,
};

/// Multiplicative hasher for integer ids (FxHash-style); ids are sequential or server-chosen.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0x517C_C1B7_2722_0A95;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used for u64 keys; a correct (if slower) fallback for anything else.
        let mut h = DefaultHasher::new();
        h.write(bytes);
        self.write_u64(h.finish());
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(K);
    }
}

/// `BuildHasher` for [`IdHasher`].
pub type IdBuildHasher = BuildHasherDefault<IdHasher>;
