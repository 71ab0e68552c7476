//! `WsJanusConnection<W, H>`: a [`WsClient`] and a [`JanusCore`] composed — bytes in → outputs
//! out, requests in → bytes out, for one Janus WebSocket.
//!
//! Rule: WebSocket-level errors are fatal (the error is returned once, a close frame is queued and
//! `Closed` is reported), while a Janus payload that cannot be classified only yields an
//! [`Output::Malformed`] item and the connection goes on. Requests are accepted only while OPEN;
//! while coalescing, the requests queued between two `data_to_send` calls travel as concatenated
//! objects `{..}{..}` in as few text frames as the byte cap allows — only once the server said it
//! is Janus >= 1.1.2 on this socket, with a safety net for frames rejected anyway (see
//! [`crate::coalesce`]). Closing or losing the connection does not fail pending transactions: the
//! caller drains them with [`JanusCore::drain_waiters`] and fails them itself.

use crate::coalesce::Framer;
use crate::error::ProtocolError;
use crate::janus::core::{JanusCore, JanusCoreConfig, Output, OutputRef, RequestOptions};
use crate::janus::request::TxId;
use crate::rng::Rng;
use crate::ws::{WsClient, WsConfig, WsEvent, WsState};

/// One Janus WebSocket connection (sans I/O).
#[derive(Debug)]
pub struct WsJanusConnection<W, H> {
    ws: WsClient,
    /// Kept to start a new client on reconnection.
    ws_config: WsConfig,
    core: JanusCore<W, H>,
    /// Requests not yet framed, and when they may share a frame.
    framer: Framer,
}

impl<W, H> WsJanusConnection<W, H> {
    /// New connection; the upgrade request is queued in `data_to_send` at once.
    /// `seed`: 16+ bytes from `os.urandom` (mask keys, handshake key, transaction-id prefix).
    pub fn new(ws: WsConfig, janus: JanusCoreConfig, seed: &[u8]) -> Result<Self, ProtocolError> {
        let mut rng = Rng::new(seed);
        let client = WsClient::with_rng(ws.clone(), &mut rng)?;
        Ok(Self {
            ws: client,
            ws_config: ws,
            core: JanusCore::with_rng(&janus, &mut rng),
            framer: Framer::new(janus.coalesce, janus.coalesce_max_bytes),
        })
    }

    /// WebSocket state.
    pub fn state(&self) -> WsState {
        self.ws.state()
    }

    /// The WebSocket layer (state, counters).
    pub fn ws(&self) -> &WsClient {
        &self.ws
    }

    /// The Janus layer.
    pub fn core(&self) -> &JanusCore<W, H> {
        &self.core
    }

    /// The Janus layer, mutably (routes, cancel, expire, drain_waiters, ...).
    pub fn core_mut(&mut self) -> &mut JanusCore<W, H> {
        &mut self.core
    }

    /// Framing and the coalescing state (whether it is on, the server's version, frames resent).
    pub fn framer(&self) -> &Framer {
        &self.framer
    }

    /// Tell the connection whether the server accepts several requests per frame (until the next
    /// reset); see [`Framer::set_server_accepts`].
    pub fn set_server_accepts(&mut self, accepts: bool) {
        self.framer.set_server_accepts(accepts);
    }

    /// Feed bytes read from the socket; outputs are queued for [`Self::drain_output`]. Returns the
    /// WebSocket-level error that ended the connection (outputs before it are still queued).
    pub fn receive_data(&mut self, data: &[u8]) -> Result<(), ProtocolError> {
        let r = self.ws.receive_data(data);
        self.pump();
        r
    }

    /// The peer closed the TCP stream.
    pub fn receive_eof(&mut self) {
        self.ws.receive_eof();
        self.pump();
    }

    fn pump(&mut self) {
        let framer = &mut self.framer;
        for ev in self.ws.events() {
            match ev {
                WsEvent::Opened => {
                    framer.opened(self.core.reserve_transaction());
                    self.core.push_output(Output::Opened);
                }
                WsEvent::Text(p) | WsEvent::Binary(p) => self
                    .core
                    .receive_message_lenient_with(p, |m, ids| framer.intercept(m, ids)),
                WsEvent::Closed {
                    code,
                    reason,
                    clean,
                } => {
                    framer.reset();
                    self.core.push_output(Output::Closed {
                        code,
                        reason,
                        clean,
                    });
                }
            }
        }
    }

    /// Encode a request (the caller's JSON object `body` plus spliced routing fields) and register
    /// `waiter`; it is sent by the next `data_to_send`. Only while OPEN.
    pub fn request(
        &mut self,
        body: &[u8],
        waiter: W,
        opts: &RequestOptions,
    ) -> Result<(u64, TxId), ProtocolError> {
        if self.ws.state() != WsState::Open {
            return Err(ProtocolError::InvalidState("WebSocket is not open"));
        }
        let buffer = self.framer.buffer();
        let before = buffer.len();
        let r = self.core.encode_request(buffer, body, waiter, opts)?;
        self.framer.queued(before, Some(r.0));
        Ok(r)
    }

    /// Queue a complete JSON request as-is (no transaction registered, nothing spliced); it is
    /// coalesced like any other request. OPEN only.
    pub fn send_raw(&mut self, message: &[u8]) -> Result<(), ProtocolError> {
        if self.ws.state() != WsState::Open {
            return Err(ProtocolError::InvalidState("WebSocket is not open"));
        }
        let buffer = self.framer.buffer();
        let before = buffer.len();
        buffer.extend_from_slice(message);
        self.framer.queued(before, None);
        Ok(())
    }

    /// Start over for a new socket (reconnection): a fresh WebSocket client with its upgrade
    /// request queued, requests not yet framed dropped, and what was learned about the server
    /// forgotten (a new `info` probe follows the handshake). Transactions and routes are kept;
    /// the caller decides which pending requests to resend or fail.
    pub fn reset(&mut self, seed: &[u8]) -> Result<(), ProtocolError> {
        self.ws = WsClient::new(self.ws_config.clone(), seed)?;
        self.framer.reset();
        Ok(())
    }

    /// The WebSocket client, mutably (pings).
    pub fn ws_mut(&mut self) -> &mut WsClient {
        &mut self.ws
    }

    fn flush(&mut self) {
        self.framer.flush(&mut self.ws);
    }

    /// Take every byte to write to the socket (queued requests are framed first).
    pub fn data_to_send(&mut self) -> Vec<u8> {
        self.flush();
        self.ws.data_to_send()
    }

    /// Call `f` on the bytes to write (queued requests framed first), then forget them, keeping
    /// the buffer for reuse.
    pub fn with_data_to_send<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        self.flush();
        let r = f(self.ws.pending_data());
        self.ws.clear_data_to_send();
        r
    }

    /// Whether anything is waiting to be written.
    pub fn has_data_to_send(&self) -> bool {
        self.framer.has_pending() || self.ws.has_data_to_send()
    }

    /// Start the closing handshake (queued requests go out first). See [`WsClient::close`].
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), ProtocolError> {
        self.flush();
        let r = self.ws.close(code, reason);
        self.pump();
        r
    }

    /// Take every queued output.
    pub fn drain_output(&mut self) -> Vec<Output<W>> {
        self.core.drain_output()
    }

    /// Move every queued output to the end of `dst`.
    pub fn drain_output_into(&mut self, dst: &mut Vec<Output<W>>) {
        self.core.drain_output_into(dst);
    }

    /// See [`JanusCore::drain_output_with`].
    pub fn drain_output_with<E, F>(&mut self, f: F) -> Result<(), E>
    where
        F: FnMut(OutputRef<'_, W, H>) -> Result<(), E>,
    {
        self.core.drain_output_with(f)
    }
}
