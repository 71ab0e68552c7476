//! `WsClient`: the client side of one WebSocket connection, CONNECTING → OPEN → CLOSING → CLOSED.
//!
//! Rule: `receive_data` consumes every byte it is given and the result does not depend on how the
//! stream was split into calls; everything the peer caused is reported as [`WsEvent`]s in order, and
//! every connection reports exactly one [`WsEvent::Closed`]. A protocol error queues the matching
//! close frame (1002/1007/1009), moves to CLOSED and is returned once; later input is ignored.
//! Frames to send accumulate in one output buffer that [`WsClient::data_to_send`] takes.

use std::sync::Arc;

use super::frame::{self, close_code, FrameHeader, Opcode};
use super::handshake::{self, ResponseParser};
use crate::buffer::RecvBuffer;
use crate::error::ProtocolError;
use crate::rng::Rng;
use crate::Payload;

/// Connection parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsConfig {
    /// `Host` header value (may include `:port`; IPv6 literals in brackets).
    pub host: String,
    /// Request target, e.g. `/` or `/janus`.
    pub path: String,
    /// `janus-protocol` or `janus-admin-protocol`.
    pub subprotocol: String,
    /// Extra request headers (no CR/LF; the handshake's own headers cannot be overridden).
    pub extra_headers: Vec<(String, String)>,
    /// Largest message accepted (after reassembly).
    pub max_message_size: usize,
}

impl WsConfig {
    /// Default maximum message size (16 MiB).
    pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 24;

    /// Config with no extra headers and the default maximum message size.
    pub fn new(host: &str, path: &str, subprotocol: &str) -> Self {
        Self {
            host: host.to_owned(),
            path: path.to_owned(),
            subprotocol: subprotocol.to_owned(),
            extra_headers: Vec::new(),
            max_message_size: Self::DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// Connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WsState {
    /// Handshake sent, waiting for `101`.
    Connecting,
    /// Data may flow both ways.
    Open,
    /// We sent a close frame and wait for the server's.
    Closing,
    /// Finished; the caller should close the socket once `data_to_send` is written.
    Closed,
}

/// What the peer caused, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// The handshake succeeded.
    Opened,
    /// A complete text message (valid UTF-8).
    Text(Payload),
    /// A complete binary message.
    Binary(Payload),
    /// The connection ended. `code` is `None` when no close code was received (1005/1006);
    /// `clean` is true only for a completed close handshake.
    Closed {
        /// Close code received (or sent, after a local protocol error).
        code: Option<u16>,
        /// Close reason.
        reason: String,
        /// Whether the closing handshake completed.
        clean: bool,
    },
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WsStats {
    /// Frames received.
    pub frames_in: u64,
    /// Frames queued for sending.
    pub frames_out: u64,
    /// Complete data messages received.
    pub messages_in: u64,
    /// Pings received (each answered while open).
    pub pings: u64,
    /// Pongs received.
    pub pongs: u64,
    /// Bytes given to `receive_data`.
    pub bytes_in: u64,
}

/// Client side of one WebSocket connection (sans I/O).
#[derive(Debug)]
pub struct WsClient {
    state: WsState,
    handshake: ResponseParser,
    rng: Rng,
    max_message_size: usize,
    inbuf: RecvBuffer,
    out: Vec<u8>,
    events: Vec<WsEvent>,
    /// Opcode of the fragmented message in progress.
    frag_opcode: Option<Opcode>,
    frag: Vec<u8>,
    stats: WsStats,
}

const FRAG_KEEP: usize = 1 << 20;

impl WsClient {
    /// New connection; the upgrade request is queued in `data_to_send` at once.
    /// `seed` should be 16+ bytes from `os.urandom` (mask keys and the handshake key come from it).
    pub fn new(config: WsConfig, seed: &[u8]) -> Result<Self, ProtocolError> {
        let mut rng = Rng::new(seed);
        Self::with_rng(config, &mut rng)
    }

    /// Like [`WsClient::new`], drawing from (and advancing) a caller-owned generator.
    pub fn with_rng(config: WsConfig, rng: &mut Rng) -> Result<Self, ProtocolError> {
        let key = handshake::generate_key(rng);
        let mut out = Vec::with_capacity(512);
        handshake::write_request(
            &mut out,
            &config.host,
            &config.path,
            &key,
            &config.subprotocol,
            &config.extra_headers,
        )?;
        Ok(Self {
            state: WsState::Connecting,
            handshake: ResponseParser::new(&key, &config.subprotocol),
            rng: {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                Rng::new(&seed)
            },
            max_message_size: config.max_message_size,
            inbuf: RecvBuffer::with_capacity(4096),
            out,
            events: Vec::new(),
            frag_opcode: None,
            frag: Vec::new(),
            stats: WsStats::default(),
        })
    }

    /// Current state.
    pub fn state(&self) -> WsState {
        self.state
    }

    /// Counters.
    pub fn stats(&self) -> WsStats {
        self.stats
    }

    /// Feed bytes read from the socket. Events go to [`WsClient::events`]; frames to send
    /// (pongs, close replies) to [`WsClient::data_to_send`]. Returns the protocol error that failed
    /// the connection, once; input after CLOSED is ignored.
    pub fn receive_data(&mut self, data: &[u8]) -> Result<(), ProtocolError> {
        if self.state == WsState::Closed {
            return Ok(());
        }
        self.stats.bytes_in += data.len() as u64;
        let result = if self.inbuf.is_empty() {
            // Fast path: parse straight from the caller's slice, keep only the tail.
            self.process(data).map(|used| {
                if self.state != WsState::Closed {
                    self.inbuf.extend(&data[used..]);
                }
            })
        } else {
            let mut buf = std::mem::take(&mut self.inbuf);
            buf.extend(data);
            let r = self.process(buf.as_slice()).map(|used| buf.consume(used));
            self.inbuf = buf;
            r
        };
        if self.state == WsState::Closed {
            self.inbuf.clear();
        }
        result.inspect_err(|e| self.fail(e))
    }

    /// The peer closed the TCP stream.
    pub fn receive_eof(&mut self) {
        if self.state != WsState::Closed {
            self.finish(None, String::new(), false);
        }
    }

    /// Drain the events produced so far.
    pub fn events(&mut self) -> std::vec::Drain<'_, WsEvent> {
        self.events.drain(..)
    }

    /// Queue a text message (OPEN only). The payload must be UTF-8; the caller vouches for it.
    pub fn send_text(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        self.send(Opcode::Text, payload)
    }

    /// Queue a binary message (OPEN only).
    pub fn send_binary(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        self.send(Opcode::Binary, payload)
    }

    /// Queue a ping (OPEN only; at most 125 bytes).
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), ProtocolError> {
        if payload.len() > frame::MAX_CONTROL_PAYLOAD {
            return Err(ProtocolError::InvalidArgument(
                "ping payload over 125 bytes".into(),
            ));
        }
        self.send(Opcode::Ping, payload)
    }

    fn send(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), ProtocolError> {
        if self.state != WsState::Open {
            return Err(ProtocolError::InvalidState("WebSocket is not open"));
        }
        self.queue_frame(opcode, payload);
        Ok(())
    }

    fn queue_frame(&mut self, opcode: Opcode, payload: &[u8]) {
        let mask = self.rng.next_u32().to_ne_bytes();
        frame::write_frame(&mut self.out, true, opcode, payload, Some(mask));
        self.stats.frames_out += 1;
    }

    fn queue_close(&mut self, code: Option<u16>, reason: &str) {
        let mut p = [0u8; 125];
        let mut len = 0;
        if let Some(code) = code {
            p[..2].copy_from_slice(&code.to_be_bytes());
            let r = reason.as_bytes();
            let mut n = r.len().min(123);
            while !reason.is_char_boundary(n) {
                n -= 1;
            }
            p[2..2 + n].copy_from_slice(&r[..n]);
            len = 2 + n;
        }
        self.queue_frame(Opcode::Close, &p[..len]);
    }

    /// Start the closing handshake. OPEN: queue a close frame, go CLOSING. CONNECTING: go CLOSED
    /// at once (reported as an unclean close). CLOSING/CLOSED: nothing.
    /// `code` must be sendable (1000-1003, 1007-1011, 3000-4999) and `reason` at most 123 bytes.
    pub fn close(&mut self, code: u16, reason: &str) -> Result<(), ProtocolError> {
        if !frame::is_valid_close_code(code) {
            return Err(ProtocolError::InvalidArgument(format!(
                "close code {code} may not be sent"
            )));
        }
        if reason.len() > 123 {
            return Err(ProtocolError::InvalidArgument(
                "close reason over 123 bytes".into(),
            ));
        }
        match self.state {
            WsState::Open => {
                self.queue_close(Some(code), reason);
                self.state = WsState::Closing;
            }
            WsState::Connecting => self.finish(None, String::new(), false),
            WsState::Closing | WsState::Closed => {}
        }
        Ok(())
    }

    /// Take every byte queued for the socket.
    pub fn data_to_send(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Bytes queued for the socket (see also [`WsClient::clear_data_to_send`]).
    pub fn pending_data(&self) -> &[u8] {
        &self.out
    }

    /// Forget the queued bytes, keeping the buffer's capacity.
    pub fn clear_data_to_send(&mut self) {
        self.out.clear();
    }

    /// Whether bytes are queued for the socket.
    pub fn has_data_to_send(&self) -> bool {
        !self.out.is_empty()
    }

    fn finish(&mut self, code: Option<u16>, reason: String, clean: bool) {
        self.state = WsState::Closed;
        self.frag_opcode = None;
        self.frag = Vec::new();
        self.events.push(WsEvent::Closed {
            code,
            reason,
            clean,
        });
    }

    fn fail(&mut self, err: &ProtocolError) {
        let code = err.close_code();
        if self.state == WsState::Open {
            if let Some(code) = code {
                let reason = match code {
                    close_code::INVALID_PAYLOAD => "invalid payload",
                    close_code::MESSAGE_TOO_BIG => "message too big",
                    _ => "protocol error",
                };
                self.queue_close(Some(code), reason);
            }
        }
        if self.state != WsState::Closed {
            self.finish(code, err.to_string(), false);
        }
        self.inbuf.clear();
    }

    /// Process `input` (which starts at the first unprocessed byte); returns bytes consumed.
    fn process(&mut self, input: &[u8]) -> Result<usize, ProtocolError> {
        let mut pos = 0;
        if self.state == WsState::Connecting {
            match self.handshake.parse(input)? {
                None => return Ok(0),
                Some(n) => {
                    pos = n;
                    self.state = WsState::Open;
                    self.events.push(WsEvent::Opened);
                }
            }
        }
        while pos < input.len() {
            if self.state == WsState::Closed {
                return Ok(input.len());
            }
            let rest = &input[pos..];
            let Some(h) = frame::parse_header(rest)? else {
                break;
            };
            let total = self.check_header(&h)?;
            if rest.len() < total {
                break;
            }
            self.stats.frames_in += 1;
            self.handle_frame(&h, &rest[h.header_len..total])?;
            pos += total;
        }
        Ok(pos)
    }

    /// Validate a header against the connection state; returns the frame's total length.
    fn check_header(&self, h: &FrameHeader) -> Result<usize, ProtocolError> {
        if h.mask.is_some() {
            return Err(ProtocolError::MaskedServerFrame);
        }
        match h.opcode {
            Opcode::Continuation if self.frag_opcode.is_none() => {
                return Err(ProtocolError::UnexpectedContinuation)
            }
            Opcode::Text | Opcode::Binary if self.frag_opcode.is_some() => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            _ => {}
        }
        if !h.opcode.is_control() {
            let size = (self.frag.len() as u64).saturating_add(h.payload_len);
            if size > self.max_message_size as u64 {
                return Err(ProtocolError::MessageTooBig {
                    size,
                    max: self.max_message_size,
                });
            }
        }
        // payload_len <= max_message_size (a usize) or <= 125 here.
        Ok(h.header_len + h.payload_len as usize)
    }

    fn handle_frame(&mut self, h: &FrameHeader, payload: &[u8]) -> Result<(), ProtocolError> {
        match h.opcode {
            Opcode::Text | Opcode::Binary if h.fin => self.deliver(h.opcode, payload),
            Opcode::Text | Opcode::Binary => {
                self.frag_opcode = Some(h.opcode);
                self.frag.extend_from_slice(payload);
                Ok(())
            }
            Opcode::Continuation => {
                self.frag.extend_from_slice(payload);
                if h.fin {
                    let op = self.frag_opcode.take().unwrap_or(Opcode::Binary);
                    let data = std::mem::take(&mut self.frag);
                    let r = self.deliver(op, &data);
                    if data.capacity() <= FRAG_KEEP {
                        self.frag = data;
                        self.frag.clear();
                    }
                    r
                } else {
                    Ok(())
                }
            }
            Opcode::Ping => {
                self.stats.pings += 1;
                if self.state == WsState::Open {
                    self.queue_frame(Opcode::Pong, payload);
                }
                Ok(())
            }
            Opcode::Pong => {
                self.stats.pongs += 1;
                Ok(())
            }
            Opcode::Close => {
                let (code, reason) = frame::parse_close_payload(payload)?;
                if self.state == WsState::Open {
                    self.queue_close(code, "");
                }
                let reason = reason.to_owned();
                self.finish(code, reason, true);
                Ok(())
            }
        }
    }

    fn deliver(&mut self, opcode: Opcode, data: &[u8]) -> Result<(), ProtocolError> {
        if opcode == Opcode::Text {
            std::str::from_utf8(data).map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        self.stats.messages_in += 1;
        let payload: Arc<[u8]> = Arc::from(data);
        self.events.push(if opcode == Opcode::Text {
            WsEvent::Text(payload)
        } else {
            WsEvent::Binary(payload)
        });
        Ok(())
    }
}
