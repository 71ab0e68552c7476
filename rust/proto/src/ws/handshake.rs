//! Opening handshake: the HTTP/1.1 upgrade request and validation of the `101` response.
//!
//! Rule: nothing the caller passes may inject header lines (CR/LF are rejected, the mandatory
//! headers cannot be overridden), and the response is accepted only if it is exactly what RFC 6455
//! requires for the request we sent: `HTTP/1.1 101`, `Upgrade: websocket`, a `Connection` with the
//! `upgrade` token, the matching `Sec-WebSocket-Accept`, the requested subprotocol and no extension.
//! The parser reports how many bytes the header block took; bytes after it are frame data.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::error::{excerpt, HandshakeError, ProtocolError};
use crate::http::{
    check_extra_headers, check_text, find, header_lines, is_token, parse_status_line, trim,
    write_headers,
};
use crate::rng::Rng;

/// GUID appended to the key for `Sec-WebSocket-Accept`.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
pub use crate::http::MAX_HEADER_BYTES;

const RESERVED: [&str; 7] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// A fresh `Sec-WebSocket-Key`: base64 of 16 random bytes.
pub fn generate_key(rng: &mut Rng) -> String {
    let mut raw = [0u8; 16];
    rng.fill_bytes(&mut raw);
    B64.encode(raw)
}

/// The `Sec-WebSocket-Accept` value expected for `key`.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    B64.encode(h.finalize())
}

/// Append the upgrade request to `out`.
pub fn write_request(
    out: &mut Vec<u8>,
    host: &str,
    path: &str,
    key: &str,
    subprotocol: &str,
    extra_headers: &[(String, String)],
) -> Result<(), ProtocolError> {
    check_text("host", host, false)?;
    check_text("path", path, false)?;
    if !path.starts_with('/') {
        return Err(ProtocolError::InvalidArgument(
            "path must start with '/'".into(),
        ));
    }
    if !is_token(subprotocol) {
        return Err(ProtocolError::InvalidArgument(
            "subprotocol must be an HTTP token".into(),
        ));
    }
    check_extra_headers(extra_headers, &RESERVED, "WebSocket handshake")?;
    let start = out.len();
    out.reserve(256);
    for part in [
        "GET ",
        path,
        " HTTP/1.1\r\nHost: ",
        host,
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
        key,
        "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ",
        subprotocol,
        "\r\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    write_headers(out, extra_headers);
    out.extend_from_slice(b"\r\n");
    debug_assert!(out.len() > start);
    Ok(())
}

/// Incremental validator of the server's response.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    expected_accept: String,
    subprotocol: String,
    scanned: usize,
}

impl ResponseParser {
    /// Validator for the request sent with `key` and `subprotocol`.
    pub fn new(key: &str, subprotocol: &str) -> Self {
        Self {
            expected_accept: accept_key(key),
            subprotocol: subprotocol.to_owned(),
            scanned: 0,
        }
    }

    /// Look at everything received so far (`buf` always starts at the response's first byte).
    /// `Ok(None)`: need more; `Ok(Some(n))`: valid, the header block is `buf[..n]`.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<usize>, HandshakeError> {
        let prefix = b"HTTP/";
        let n = buf.len().min(prefix.len());
        if buf[..n] != prefix[..n] {
            return Err(HandshakeError::NotHttp);
        }
        let window = &buf[..buf.len().min(MAX_HEADER_BYTES)];
        let Some(line_end) = find(window, b"\r\n", 0) else {
            return if buf.len() >= MAX_HEADER_BYTES {
                Err(HandshakeError::HeaderTooLarge)
            } else {
                Ok(None)
            };
        };
        Self::check_status(&buf[..line_end])?;
        let from = self.scanned.max(line_end);
        let Some(end) = find(window, b"\r\n\r\n", from) else {
            self.scanned = window.len().saturating_sub(3);
            return if buf.len() >= MAX_HEADER_BYTES {
                Err(HandshakeError::HeaderTooLarge)
            } else {
                Ok(None)
            };
        };
        self.check_headers(&buf[line_end + 2..end + 2])?;
        Ok(Some(end + 4))
    }

    fn check_status(line: &[u8]) -> Result<(), HandshakeError> {
        let status = parse_status_line(line)
            .filter(|s| s.minor_version == 1)
            .ok_or(HandshakeError::MalformedStatusLine)?;
        if status.code != 101 {
            return Err(HandshakeError::BadStatus {
                code: status.code,
                reason: excerpt(&String::from_utf8_lossy(status.reason)),
            });
        }
        Ok(())
    }

    /// `block` holds the header lines, each terminated by `\r\n`.
    fn check_headers(&self, block: &[u8]) -> Result<(), HandshakeError> {
        let (mut upgrade, mut connection, mut accept, mut protocol) = (false, false, None, None);
        let mut extension = false;
        for line in header_lines(block) {
            let (name, value) = line.ok_or(HandshakeError::MalformedHeader)?;
            if name.eq_ignore_ascii_case(b"upgrade") {
                upgrade |= value.eq_ignore_ascii_case(b"websocket");
            } else if name.eq_ignore_ascii_case(b"connection") {
                connection |= value
                    .split(|&b| b == b',')
                    .any(|t| trim(t).eq_ignore_ascii_case(b"upgrade"));
            } else if name.eq_ignore_ascii_case(b"sec-websocket-accept") {
                accept = Some(value);
            } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
                protocol = Some(value);
            } else if name.eq_ignore_ascii_case(b"sec-websocket-extensions") {
                extension |= !value.is_empty();
            }
        }
        if !upgrade {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !connection {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        match accept {
            None => return Err(HandshakeError::MissingAccept),
            Some(a) if a != self.expected_accept.as_bytes() => {
                return Err(HandshakeError::AcceptMismatch)
            }
            Some(_) => {}
        }
        if protocol != Some(self.subprotocol.as_bytes()) {
            return Err(HandshakeError::SubprotocolMismatch {
                expected: self.subprotocol.clone(),
                got: protocol.map(|p| excerpt(&String::from_utf8_lossy(p))),
            });
        }
        if extension {
            return Err(HandshakeError::UnexpectedExtension);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn response(extra: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{extra}\r\n"
        )
    }

    fn parse(resp: &str) -> Result<Option<usize>, HandshakeError> {
        ResponseParser::new(KEY, "janus-protocol").parse(resp.as_bytes())
    }

    #[test]
    fn rfc_example_accept() {
        assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn request_shape() {
        let mut out = Vec::new();
        let extra = vec![("Origin".to_string(), "http://x".to_string())];
        write_request(&mut out, "[::1]:8188", "/", KEY, "janus-protocol", &extra).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("GET / HTTP/1.1\r\nHost: [::1]:8188\r\n"));
        assert!(s.contains("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert!(s.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(s.contains("\r\nSec-WebSocket-Protocol: janus-protocol\r\n"));
        assert!(s.ends_with("\r\nOrigin: http://x\r\n\r\n"));
    }

    #[test]
    fn request_rejects_injection() {
        let mut out = Vec::new();
        let bad = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        for extra in [
            bad("X-A", "1\r\nX-B: 2"),
            bad("X-A\n", "1"),
            bad("", "1"),
            bad("Host", "h"),
        ] {
            let r = write_request(&mut out, "h", "/", KEY, "janus-protocol", &extra);
            assert!(
                matches!(r, Err(ProtocolError::InvalidArgument(_))),
                "{extra:?}"
            );
        }
        assert!(write_request(&mut out, "h\r\n", "/", KEY, "p", &[]).is_err());
        assert!(write_request(&mut out, "h", "/a b", KEY, "p", &[]).is_err());
        assert!(write_request(&mut out, "h", "x", KEY, "p", &[]).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn valid_response_and_trailing_bytes() {
        let r = response("Sec-WebSocket-Protocol: janus-protocol\r\n");
        assert_eq!(parse(&r), Ok(Some(r.len())));
        let with_frame = format!("{r}\u{81}\u{0}");
        assert_eq!(parse(&with_frame), Ok(Some(r.len())));
        let lower = r
            .replace("Upgrade: websocket", "upgrade:WebSocket")
            .replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
        assert_eq!(parse(&lower), Ok(Some(lower.len())));
    }

    #[test]
    fn incremental() {
        let r = response("Sec-WebSocket-Protocol: janus-protocol\r\n");
        let mut p = ResponseParser::new(KEY, "janus-protocol");
        for i in 0..r.len() {
            assert_eq!(p.parse(&r.as_bytes()[..i]), Ok(None), "at {i}");
        }
        assert_eq!(p.parse(r.as_bytes()), Ok(Some(r.len())));
    }

    #[test]
    fn failures() {
        assert_eq!(parse("GARBAGE"), Err(HandshakeError::NotHttp));
        assert_eq!(
            parse("HTTP/1.0 101 OK\r\n"),
            Err(HandshakeError::MalformedStatusLine)
        );
        assert_eq!(
            parse("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
            Err(HandshakeError::BadStatus {
                code: 403,
                reason: "Forbidden".into()
            })
        );
        let missing = response("");
        assert!(matches!(
            parse(&missing),
            Err(HandshakeError::SubprotocolMismatch { got: None, .. })
        ));
        let other = response("Sec-WebSocket-Protocol: janus-admin-protocol\r\n");
        assert!(matches!(
            parse(&other),
            Err(HandshakeError::SubprotocolMismatch { got: Some(_), .. })
        ));
        let proto = "Sec-WebSocket-Protocol: janus-protocol\r\n";
        let bad_accept = response(proto).replace("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "AAAA");
        assert_eq!(parse(&bad_accept), Err(HandshakeError::AcceptMismatch));
        let no_accept = response(proto).replace("Sec-WebSocket-Accept", "X-Accept");
        assert_eq!(parse(&no_accept), Err(HandshakeError::MissingAccept));
        let no_upgrade = response(proto).replace("Upgrade: websocket", "Upgrade: h2c");
        assert_eq!(parse(&no_upgrade), Err(HandshakeError::MissingUpgrade));
        let no_conn = response(proto).replace("Connection: Upgrade", "Connection: close");
        assert_eq!(
            parse(&no_conn),
            Err(HandshakeError::MissingConnectionUpgrade)
        );
        let ext = response(&format!(
            "{proto}Sec-WebSocket-Extensions: permessage-deflate\r\n"
        ));
        assert_eq!(parse(&ext), Err(HandshakeError::UnexpectedExtension));
        let folded = response(&format!("{proto} folded\r\n"));
        assert_eq!(parse(&folded), Err(HandshakeError::MalformedHeader));
    }

    #[test]
    fn header_too_large() {
        let mut r = String::from("HTTP/1.1 101 Switching Protocols\r\n");
        while r.len() < MAX_HEADER_BYTES + 10 {
            r.push_str("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(parse(&r), Err(HandshakeError::HeaderTooLarge));
        assert_eq!(
            parse(&"HTTP/1.1 1".repeat(2000)),
            Err(HandshakeError::HeaderTooLarge)
        );
    }
}
