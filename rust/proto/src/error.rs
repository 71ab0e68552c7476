//! Errors of the protocol core.
//!
//! Rule: one error type, [`ProtocolError`], for everything the core reports. Faults of the peer
//! (bytes that are not valid HTTP, WebSocket, JSON or Janus) and local misuse (calling an operation
//! in the wrong state, passing an invalid argument) are told apart by [`ProtocolError::is_misuse`].
//! An error never carries more than a short excerpt of peer data.

use std::fmt;

/// Longest excerpt of peer-provided text an error keeps (bytes, cut at a char boundary).
pub(crate) const MAX_EXCERPT: usize = 160;

/// Cut `s` to at most [`MAX_EXCERPT`] bytes at a char boundary.
pub(crate) fn excerpt(s: &str) -> String {
    if s.len() <= MAX_EXCERPT {
        return s.to_owned();
    }
    let mut end = MAX_EXCERPT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    out.push_str("...");
    out
}

/// Why the HTTP upgrade (opening handshake) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The response does not start with `HTTP/`.
    NotHttp,
    /// The status line is not `HTTP/1.1 <3 digits> <reason>`.
    MalformedStatusLine,
    /// A header line has no `:` or is a folded continuation line.
    MalformedHeader,
    /// No `\r\n\r\n` within the first 16 KiB.
    HeaderTooLarge,
    /// The server answered with a status other than 101.
    BadStatus {
        /// HTTP status code.
        code: u16,
        /// Reason phrase (lossy UTF-8, shortened).
        reason: String,
    },
    /// `Upgrade: websocket` missing.
    MissingUpgrade,
    /// `Connection` header without the `upgrade` token.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing.
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match the key sent.
    AcceptMismatch,
    /// `Sec-WebSocket-Protocol` missing or different from the requested one.
    SubprotocolMismatch {
        /// The subprotocol requested.
        expected: String,
        /// What the server answered (shortened), if anything.
        got: Option<String>,
    },
    /// The server selected an extension although none was offered.
    UnexpectedExtension,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotHttp => f.write_str("response is not HTTP"),
            Self::MalformedStatusLine => f.write_str("malformed HTTP status line"),
            Self::MalformedHeader => f.write_str("malformed HTTP header line"),
            Self::HeaderTooLarge => f.write_str("HTTP header block larger than 16 KiB"),
            Self::BadStatus { code, reason } => {
                write!(f, "server refused the upgrade: HTTP {code} {reason}")
            }
            Self::MissingUpgrade => f.write_str("missing 'Upgrade: websocket' header"),
            Self::MissingConnectionUpgrade => {
                f.write_str("missing 'upgrade' token in the Connection header")
            }
            Self::MissingAccept => f.write_str("missing Sec-WebSocket-Accept header"),
            Self::AcceptMismatch => f.write_str("Sec-WebSocket-Accept does not match the key"),
            Self::SubprotocolMismatch { expected, got } => match got {
                Some(got) => write!(
                    f,
                    "server selected subprotocol '{got}', expected '{expected}'"
                ),
                None => write!(f, "server did not select subprotocol '{expected}'"),
            },
            Self::UnexpectedExtension => {
                f.write_str("server selected a WebSocket extension that was not offered")
            }
        }
    }
}

/// Why an HTTP response (of the HTTP transport) could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The status line is not `HTTP/1.x <3 digits> <reason>`.
    MalformedStatusLine,
    /// A header line has no `:`, a blank in its name, or is a folded continuation line.
    MalformedHeader,
    /// No `\r\n\r\n` within the first 16 KiB.
    HeaderTooLarge,
    /// `Content-Length` is not a number, or two of them disagree.
    BadContentLength,
    /// A `Transfer-Encoding` other than `chunked` (the only one a client can read).
    UnsupportedTransferEncoding(String),
    /// A chunk size line or chunk terminator that is not valid.
    MalformedChunk,
    /// A body larger than the configured maximum.
    BodyTooLarge {
        /// Size announced or reached so far.
        size: u64,
        /// Configured maximum.
        max: usize,
    },
    /// The connection ended in the middle of a response.
    Truncated,
    /// A `101 Switching Protocols` answer to a plain request.
    UnexpectedUpgrade,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedStatusLine => f.write_str("malformed HTTP status line"),
            Self::MalformedHeader => f.write_str("malformed HTTP header line"),
            Self::HeaderTooLarge => f.write_str("HTTP header block larger than 16 KiB"),
            Self::BadContentLength => f.write_str("invalid or conflicting Content-Length"),
            Self::UnsupportedTransferEncoding(te) => {
                write!(f, "unsupported Transfer-Encoding '{te}'")
            }
            Self::MalformedChunk => f.write_str("malformed chunked body"),
            Self::BodyTooLarge { size, max } => {
                write!(f, "HTTP body of {size} bytes exceeds the maximum of {max}")
            }
            Self::Truncated => f.write_str("connection closed in the middle of an HTTP response"),
            Self::UnexpectedUpgrade => f.write_str("unexpected 101 Switching Protocols"),
        }
    }
}

/// Every error the core reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// The opening handshake failed.
    Handshake(HandshakeError),
    /// An HTTP response could not be read.
    Http(HttpError),
    /// A frame has RSV1-3 set although no extension was negotiated (close 1002).
    ReservedBits,
    /// A frame uses a reserved opcode (close 1002).
    ReservedOpcode(u8),
    /// The server masked a frame (close 1002).
    MaskedServerFrame,
    /// A control frame carries more than 125 bytes (close 1002).
    ControlFrameTooLong(u64),
    /// A control frame without FIN (close 1002).
    FragmentedControlFrame,
    /// 64-bit payload length with the most significant bit set (close 1002).
    LengthOverflow,
    /// A continuation frame without a message in progress (close 1002).
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is in progress (close 1002).
    ExpectedContinuation,
    /// A message larger than the configured maximum (close 1009).
    MessageTooBig {
        /// Size announced or reached so far.
        size: u64,
        /// Configured maximum.
        max: usize,
    },
    /// A text message or close reason that is not valid UTF-8 (close 1007).
    InvalidUtf8,
    /// A close frame with a one-byte payload (close 1002).
    InvalidClosePayload,
    /// A close frame with a code that may not be received (close 1002).
    InvalidCloseCode(u16),
    /// A Janus payload with nothing but whitespace.
    EmptyMessage,
    /// A Janus payload that is not valid JSON (short description).
    InvalidJson(String),
    /// A Janus payload (or array element) that is not a JSON object.
    NotAnObject,
    /// A JSON object without a string `janus` field.
    MissingJanusField,
    /// Local misuse: the operation is not allowed in the current state.
    InvalidState(&'static str),
    /// Local misuse: an argument is invalid (header with CR/LF, body not an object, ...).
    InvalidArgument(String),
}

impl ProtocolError {
    /// The WebSocket close code this error calls for, if it is a WebSocket-level error.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::ReservedBits
            | Self::ReservedOpcode(_)
            | Self::MaskedServerFrame
            | Self::ControlFrameTooLong(_)
            | Self::FragmentedControlFrame
            | Self::LengthOverflow
            | Self::UnexpectedContinuation
            | Self::ExpectedContinuation
            | Self::InvalidClosePayload
            | Self::InvalidCloseCode(_) => Some(1002),
            Self::InvalidUtf8 => Some(1007),
            Self::MessageTooBig { .. } => Some(1009),
            _ => None,
        }
    }

    /// True for local misuse (Python `InvalidStateError`/`ValueError`), false for peer faults
    /// (Python `ProtocolError`).
    pub fn is_misuse(&self) -> bool {
        matches!(self, Self::InvalidState(_) | Self::InvalidArgument(_))
    }
}

impl From<HandshakeError> for ProtocolError {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl From<HttpError> for ProtocolError {
    fn from(e: HttpError) -> Self {
        Self::Http(e)
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(e) => write!(f, "WebSocket handshake failed: {e}"),
            Self::Http(e) => e.fmt(f),
            Self::ReservedBits => f.write_str("frame with reserved bits set"),
            Self::ReservedOpcode(op) => write!(f, "frame with reserved opcode {op:#x}"),
            Self::MaskedServerFrame => f.write_str("masked frame from the server"),
            Self::ControlFrameTooLong(n) => write!(f, "control frame with {n} bytes of payload"),
            Self::FragmentedControlFrame => f.write_str("fragmented control frame"),
            Self::LengthOverflow => f.write_str("frame length with the most significant bit set"),
            Self::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress")
            }
            Self::ExpectedContinuation => {
                f.write_str("new data frame while a fragmented message is in progress")
            }
            Self::MessageTooBig { size, max } => {
                write!(f, "message of {size} bytes exceeds the maximum of {max}")
            }
            Self::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            Self::InvalidClosePayload => f.write_str("close frame with a one-byte payload"),
            Self::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            Self::EmptyMessage => f.write_str("empty Janus message"),
            Self::InvalidJson(e) => write!(f, "invalid JSON: {e}"),
            Self::NotAnObject => f.write_str("Janus message is not a JSON object"),
            Self::MissingJanusField => f.write_str("Janus message without a string 'janus' field"),
            Self::InvalidState(what) => write!(f, "invalid state: {what}"),
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_and_misuse() {
        assert_eq!(ProtocolError::ReservedBits.close_code(), Some(1002));
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), Some(1007));
        let big = ProtocolError::MessageTooBig { size: 10, max: 5 };
        assert_eq!(big.close_code(), Some(1009));
        assert_eq!(ProtocolError::NotAnObject.close_code(), None);
        assert!(ProtocolError::InvalidState("x").is_misuse());
        assert!(!ProtocolError::EmptyMessage.is_misuse());
    }

    #[test]
    fn excerpt_cuts_at_char_boundary() {
        let s = "é".repeat(200);
        let e = excerpt(&s);
        assert!(e.len() <= MAX_EXCERPT + 3);
        assert!(e.ends_with("..."));
        assert_eq!(excerpt("short"), "short");
    }

    #[test]
    fn display_is_short() {
        let e = ProtocolError::Handshake(HandshakeError::BadStatus {
            code: 403,
            reason: "Forbidden".into(),
        });
        assert_eq!(
            e.to_string(),
            "WebSocket handshake failed: server refused the upgrade: HTTP 403 Forbidden"
        );
    }
}
