//! `JanusCore<W, H>`: transactions, routes and the request encoder composed — the whole Janus
//! client protocol for one transport (the binding wraps it for HTTP; the WebSocket connection
//! embeds it).
//!
//! Rule: requests in → bytes out (the waiter is inserted only if encoding succeeded); payloads in →
//! [`Output`] items out, in arrival order, queued until drained. Each message yields at most one
//! item: a completion (waiter moved out), a stream item, an event for a session/handle, an
//! unroutable message or a stray ack; an ack that only marks a plugin message as acked yields
//! nothing. The core never fails waiters by itself: on connection loss the caller drains them.

use super::message::{classify_each, Message};
use super::request::{encode_into, RequestFields, TxId, TxIdGen};
use super::routes::{Route, Routes};
use super::transactions::{min_reply_wire_bytes, Expect, Owed, Resolution, Transactions};
use crate::error::ProtocolError;
use crate::rng::Rng;
use crate::Payload;

/// Credentials and (for the WebSocket connection) request coalescing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JanusCoreConfig {
    /// `apisecret` added to requests sent `with_credentials`.
    pub apisecret: Option<String>,
    /// `token` added to requests sent `with_credentials`.
    pub token: Option<String>,
    /// WebSocket only: send requests queued between two `data_to_send` calls in one frame.
    pub coalesce: bool,
    /// WebSocket only: start a new frame when adding a request would exceed this many bytes.
    pub coalesce_max_bytes: usize,
}

impl Default for JanusCoreConfig {
    fn default() -> Self {
        Self {
            apisecret: None,
            token: None,
            coalesce: true,
            coalesce_max_bytes: 64 * 1024,
        }
    }
}

/// Per-request options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestOptions {
    /// Completion rule.
    pub expect: Expect,
    /// The session the request is in; it ends with it (see `drain_session`).
    pub session_id: Option<u64>,
    /// The handle the request is for; it ends with it too.
    pub handle_id: Option<u64>,
    /// Splice `session_id`/`handle_id` into the body (WebSocket). False: the caller carries them
    /// elsewhere (HTTP puts them in the path).
    pub ids_in_body: bool,
    /// Deadline on the caller's clock (`loop.time()`); NaN or `None`: none.
    pub deadline: Option<f64>,
    /// Add the configured `apisecret`/`token`.
    pub with_credentials: bool,
    /// An `ack` does not end what the server owes: an `event` (or `success`/`error`) follows.
    /// Implied for [`Expect::PluginMessage`]; set it for a plugin `message` sent as a stream.
    pub event_expected: bool,
}

impl RequestOptions {
    /// What the server owes for a request sent with these options.
    pub fn owed(&self) -> Owed {
        if self.event_expected || self.expect == Expect::PluginMessage {
            Owed::NonAckReply
        } else {
            Owed::FirstReply
        }
    }

    /// Options with no ids (any set later go in the body), no deadline and credentials on.
    pub fn new(expect: Expect) -> Self {
        Self {
            expect,
            session_id: None,
            handle_id: None,
            ids_in_body: true,
            deadline: None,
            with_credentials: true,
            event_expected: false,
        }
    }
}

/// Who an event is for (look the target up with [`Routes::handle`] / [`Routes::session`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTarget {
    /// A registered handle.
    Handle {
        /// Session id.
        session_id: u64,
        /// Handle id.
        handle_id: u64,
    },
    /// A registered session.
    Session {
        /// Session id.
        session_id: u64,
    },
}

/// Items produced by the core (and, for the WebSocket connection, connection events).
#[derive(Debug)]
pub enum Output<W> {
    /// WebSocket handshake done.
    Opened,
    /// A transaction completed; `message` is its final reply (check `kind`, `error`,
    /// `plugin_error`).
    Completion {
        /// Transaction id.
        id: u64,
        /// The waiter, moved out of the table.
        waiter: W,
        /// The reply.
        message: Message,
    },
    /// A message for a stream transaction (waiter still in the table: `stream_waiter(id)`).
    StreamItem {
        /// Transaction id.
        id: u64,
        /// The message.
        message: Message,
    },
    /// A message for a registered session or handle.
    Event {
        /// Who it is for.
        target: EventTarget,
        /// The message.
        message: Message,
    },
    /// A message nobody is registered for (counted).
    Unroutable {
        /// The message.
        message: Message,
    },
    /// An ack for an unknown transaction, e.g. after its event (counted).
    StrayAck {
        /// The message.
        message: Message,
    },
    /// A payload that could not be classified; the connection goes on.
    Malformed {
        /// What was wrong.
        error: ProtocolError,
    },
    /// WebSocket connection ended (see [`crate::ws::WsEvent::Closed`]).
    Closed {
        /// Close code, if any.
        code: Option<u16>,
        /// Close reason.
        reason: String,
        /// Whether the closing handshake completed.
        clean: bool,
    },
}

/// An [`Output`] with the waiter/target references resolved (see
/// [`JanusCore::drain_output_with`]).
#[derive(Debug)]
pub enum OutputRef<'a, W, H> {
    /// WebSocket handshake done.
    Opened,
    /// A transaction completed.
    Completion {
        /// Transaction id.
        id: u64,
        /// The waiter, moved out of the table.
        waiter: W,
        /// The reply.
        message: Message,
    },
    /// A message for a stream transaction.
    StreamItem {
        /// Transaction id.
        id: u64,
        /// The stream's waiter (still registered).
        waiter: &'a W,
        /// The message.
        message: Message,
    },
    /// A message for a registered session or handle.
    Event {
        /// The registered target.
        target: &'a H,
        /// Session id.
        session_id: u64,
        /// Handle id, when routed to a handle.
        handle_id: Option<u64>,
        /// The message.
        message: Message,
    },
    /// Nobody registered (any more).
    Unroutable {
        /// The message.
        message: Message,
    },
    /// An ack for an unknown transaction.
    StrayAck {
        /// The message.
        message: Message,
    },
    /// A payload that could not be classified.
    Malformed {
        /// What was wrong.
        error: ProtocolError,
    },
    /// WebSocket connection ended.
    Closed {
        /// Close code, if any.
        code: Option<u16>,
        /// Close reason.
        reason: String,
        /// Whether the closing handshake completed.
        clean: bool,
    },
}

/// The Janus client protocol for one transport.
#[derive(Debug)]
pub struct JanusCore<W, H> {
    tx: Transactions<W>,
    routes: Routes<H>,
    apisecret: Option<String>,
    token: Option<String>,
    out: Vec<Output<W>>,
    malformed: u64,
    /// Wire bytes of every message routed as an event so far (see [`JanusCore::event_bytes`]).
    event_bytes: u64,
}

impl<W, H> JanusCore<W, H> {
    /// New core; `seed` (16+ random bytes) picks the transaction-id prefix.
    pub fn new(config: &JanusCoreConfig, seed: &[u8]) -> Self {
        Self::with_rng(config, &mut Rng::new(seed))
    }

    /// New core drawing from a caller-owned generator.
    pub fn with_rng(config: &JanusCoreConfig, rng: &mut Rng) -> Self {
        Self {
            tx: Transactions::new(TxIdGen::new(rng)),
            routes: Routes::new(),
            apisecret: config.apisecret.clone(),
            token: config.token.clone(),
            out: Vec::new(),
            malformed: 0,
            event_bytes: 0,
        }
    }

    /// Replace the credentials used by later requests.
    pub fn set_credentials(&mut self, apisecret: Option<String>, token: Option<String>) {
        self.apisecret = apisecret;
        self.token = token;
    }

    /// Append a request to `out` and register `waiter` under a new transaction id.
    /// On error nothing is written or registered (and `waiter` is dropped).
    pub fn encode_request(
        &mut self,
        out: &mut Vec<u8>,
        body: &[u8],
        waiter: W,
        opts: &RequestOptions,
    ) -> Result<(u64, TxId), ProtocolError> {
        let id = self.tx.reserve_id();
        let txid = self.tx.format_id(id);
        let creds = opts.with_credentials;
        let fields = RequestFields {
            transaction: txid.as_str(),
            session_id: opts.session_id.filter(|_| opts.ids_in_body),
            handle_id: opts.handle_id.filter(|_| opts.ids_in_body),
            apisecret: self.apisecret.as_deref().filter(|_| creds),
            token: self.token.as_deref().filter(|_| creds),
        };
        encode_into(out, body, &fields)?;
        self.tx.insert_with_id(
            id,
            waiter,
            opts.expect,
            opts.deadline,
            opts.owed(),
            min_reply_wire_bytes(txid.as_str().len(), opts.session_id),
            (opts.session_id, opts.handle_id),
        );
        Ok((id, txid))
    }

    /// Classify a received payload and queue the resulting outputs. On an error, the messages
    /// before the faulty one are already queued; nothing is queued for the error itself.
    pub fn receive_message(&mut self, payload: Payload) -> Result<usize, ProtocolError> {
        let (tx, routes, out) = (&mut self.tx, &mut self.routes, &mut self.out);
        let events = &mut self.event_bytes;
        classify_each(&payload, |m| Self::dispatch(tx, routes, out, events, m))
    }

    /// Like [`JanusCore::receive_message`], but a classification error becomes an
    /// [`Output::Malformed`] item instead of an `Err`.
    pub fn receive_message_lenient(&mut self, payload: Payload) {
        if let Err(error) = self.receive_message(payload) {
            self.malformed += 1;
            self.out.push(Output::Malformed { error });
        }
    }

    /// Like [`JanusCore::receive_message_lenient`], but `taken` sees each message first (with the
    /// transaction-id generator) and keeps it from being dispatched by returning `true` (the
    /// WebSocket connection takes its own `info` probe's reply and coalescing rejections).
    pub fn receive_message_lenient_with<F>(&mut self, payload: Payload, mut taken: F)
    where
        F: FnMut(&Message, &TxIdGen) -> bool,
    {
        let (tx, routes, out) = (&mut self.tx, &mut self.routes, &mut self.out);
        let events = &mut self.event_bytes;
        let r = classify_each(&payload, |m| {
            if !taken(&m, tx.ids()) {
                Self::dispatch(tx, routes, out, events, m);
            }
        });
        if let Err(error) = r {
            self.malformed += 1;
            self.out.push(Output::Malformed { error });
        }
    }

    /// Allocate a transaction id that no waiter will use (for requests the caller answers
    /// itself, e.g. the WebSocket connection's `info` probe).
    pub fn reserve_transaction(&mut self) -> TxId {
        let id = self.tx.reserve_id();
        self.tx.format_id(id)
    }

    fn dispatch(
        tx: &mut Transactions<W>,
        routes: &mut Routes<H>,
        out: &mut Vec<Output<W>>,
        event_bytes: &mut u64,
        m: Message,
    ) {
        let item = match tx.resolve(&m) {
            Resolution::Complete(id, waiter) => Output::Completion {
                id,
                waiter,
                message: m,
            },
            Resolution::StreamItem(id) => Output::StreamItem { id, message: m },
            Resolution::Pending => return,
            Resolution::StrayAck => Output::StrayAck { message: m },
            Resolution::NoTransaction | Resolution::Unknown | Resolution::Unmatched => {
                let route = routes.route(&m);
                if !matches!(route, Route::Unroutable) {
                    *event_bytes += m.bytes().len() as u64;
                }
                match route {
                    Route::Handle {
                        session_id,
                        handle_id,
                        ..
                    } => Output::Event {
                        target: EventTarget::Handle {
                            session_id,
                            handle_id,
                        },
                        message: m,
                    },
                    Route::Session { session_id, .. } => Output::Event {
                        target: EventTarget::Session { session_id },
                        message: m,
                    },
                    Route::Unroutable => Output::Unroutable { message: m },
                }
            }
        };
        out.push(item);
    }

    /// Queue an item (used by the WebSocket connection for Opened/Closed/Malformed).
    pub fn push_output(&mut self, item: Output<W>) {
        if matches!(item, Output::Malformed { .. }) {
            self.malformed += 1;
        }
        self.out.push(item);
    }

    /// Take every queued output.
    pub fn drain_output(&mut self) -> Vec<Output<W>> {
        std::mem::take(&mut self.out)
    }

    /// Move every queued output to the end of `dst` (keeps both buffers' capacity).
    pub fn drain_output_into(&mut self, dst: &mut Vec<Output<W>>) {
        dst.append(&mut self.out);
    }

    /// Number of queued outputs.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Hand every queued output to `f` with stream waiters and event targets looked up (the
    /// thinnest binding: one closure call per item, no second lookup on the Python side). A stream
    /// cancelled meanwhile is routed like an event; a target removed meanwhile is re-routed by the
    /// usual rules. If `f` fails, the items after the failing one stay queued.
    pub fn drain_output_with<E, F>(&mut self, mut f: F) -> Result<(), E>
    where
        F: FnMut(OutputRef<'_, W, H>) -> Result<(), E>,
    {
        let mut items = std::mem::take(&mut self.out);
        let mut iter = items.drain(..);
        let mut result = Ok(());
        for item in iter.by_ref() {
            let r = match item {
                Output::Opened => f(OutputRef::Opened),
                Output::Completion {
                    id,
                    waiter,
                    message,
                } => f(OutputRef::Completion {
                    id,
                    waiter,
                    message,
                }),
                Output::StreamItem { id, message } => match self.tx.get(id) {
                    Some(waiter) => f(OutputRef::StreamItem {
                        id,
                        waiter,
                        message,
                    }),
                    None => f(self.resolve_event(message)),
                },
                Output::Event { message, .. } => f(self.resolve_event(message)),
                Output::Unroutable { message } => f(OutputRef::Unroutable { message }),
                Output::StrayAck { message } => f(OutputRef::StrayAck { message }),
                Output::Malformed { error } => f(OutputRef::Malformed { error }),
                Output::Closed {
                    code,
                    reason,
                    clean,
                } => f(OutputRef::Closed {
                    code,
                    reason,
                    clean,
                }),
            };
            if r.is_err() {
                result = r;
                break;
            }
        }
        let rest: Vec<Output<W>> = iter.collect();
        if rest.is_empty() {
            self.out = items;
        } else {
            self.out = rest;
        }
        result
    }

    fn resolve_event(&self, message: Message) -> OutputRef<'_, W, H> {
        match self.routes.lookup(message.session_id, message.sender) {
            Route::Handle {
                session_id,
                handle_id,
                target,
            } => OutputRef::Event {
                target,
                session_id,
                handle_id: Some(handle_id),
                message,
            },
            Route::Session { session_id, target } => OutputRef::Event {
                target,
                session_id,
                handle_id: None,
                message,
            },
            Route::Unroutable => OutputRef::Unroutable { message },
        }
    }

    /// The transaction table.
    pub fn transactions(&self) -> &Transactions<W> {
        &self.tx
    }

    /// The transaction table, mutably (insert/cancel/expire/drain).
    pub fn transactions_mut(&mut self) -> &mut Transactions<W> {
        &mut self.tx
    }

    /// The routing table.
    pub fn routes(&self) -> &Routes<H> {
        &self.routes
    }

    /// The routing table, mutably (add/remove sessions and handles).
    pub fn routes_mut(&mut self) -> &mut Routes<H> {
        &mut self.routes
    }

    /// Cancel a transaction by its wire string (ends a stream too).
    pub fn cancel(&mut self, transaction: &str) -> Option<W> {
        self.tx.cancel_str(transaction)
    }

    /// Waiters whose deadline is `<= now`, removed (streams stay; see
    /// [`Transactions::take_expired_streams`]).
    pub fn expire(&mut self, now: f64) -> Vec<W> {
        self.tx.expire(now)
    }

    /// Give the stream `transaction` a deadline, replacing its previous one (see
    /// [`Transactions::set_stream_deadline`]); false when it is not a pending stream.
    pub fn set_stream_deadline(&mut self, transaction: &str, deadline: Option<f64>) -> bool {
        match self.tx.parse_id(transaction) {
            Some(id) => self.tx.set_stream_deadline(id, deadline),
            None => false,
        }
    }

    /// Earliest pending deadline.
    pub fn next_deadline(&self) -> Option<f64> {
        self.tx.next_deadline()
    }

    /// Every pending waiter, removed (call on connection loss and fail them).
    pub fn drain_waiters(&mut self) -> Vec<W> {
        self.tx.drain()
    }

    /// Waiters of the requests sent in `session_id` (only those for `handle_id` when given),
    /// removed: the session or handle ended.
    pub fn drain_session(&mut self, session_id: u64, handle_id: Option<u64>) -> Vec<W> {
        self.tx.drain_session(session_id, handle_id)
    }

    /// Payloads that could not be classified (lenient receive / WebSocket).
    pub fn malformed_count(&self) -> u64 {
        self.malformed
    }

    /// Wire bytes (each message's own JSON object) of every message routed as an event to a
    /// session or handle so far: a monotonic count a reader compares between reads to see how
    /// densely events arrive (the WebSocket transport's receive batching does).
    pub fn event_bytes(&self) -> u64 {
        self.event_bytes
    }
}
