//! HTTP/1.1 request bytes for the HTTP transport.
//!
//! Rule: the host and the caller's headers are validated once, when the writer is made; every
//! request target is checked before it is written. Nothing a caller passes can add a header line.

use super::{check_extra_headers, check_text, is_token, write_headers};
use crate::error::ProtocolError;

/// Headers the writer sets itself; a caller may not set them.
const RESERVED: [&str; 4] = ["host", "content-length", "transfer-encoding", "connection"];

/// Writes keep-alive HTTP/1.1 requests to one server.
#[derive(Debug, Clone)]
pub struct RequestWriter {
    /// `Host: …\r\n` and the caller's headers, each line ending in `\r\n`.
    fixed_headers: Vec<u8>,
    /// `Content-Type: application/json\r\n`, unless the caller set a Content-Type.
    content_type: &'static [u8],
}

impl RequestWriter {
    /// A writer for `host` (the Host header value, port included when not the default).
    pub fn new(host: &str, extra_headers: &[(String, String)]) -> Result<Self, ProtocolError> {
        check_text("host", host, false)?;
        check_extra_headers(extra_headers, &RESERVED, "HTTP transport")?;
        let mut fixed_headers = Vec::with_capacity(64);
        fixed_headers.extend_from_slice(b"Host: ");
        fixed_headers.extend_from_slice(host.as_bytes());
        fixed_headers.extend_from_slice(b"\r\n");
        write_headers(&mut fixed_headers, extra_headers);
        let caller_sets_type = extra_headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        let content_type: &'static [u8] = if caller_sets_type {
            b""
        } else {
            b"Content-Type: application/json\r\n"
        };
        Ok(Self {
            fixed_headers,
            content_type,
        })
    }

    /// Append one request to `out`: `method target`, the fixed headers and, with a body, its
    /// `Content-Type` and `Content-Length`.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<(), ProtocolError> {
        if !is_token(method) {
            return Err(ProtocolError::InvalidArgument(
                "HTTP method must be a token".into(),
            ));
        }
        check_text("request target", target, false)?;
        if !target.starts_with('/') {
            return Err(ProtocolError::InvalidArgument(
                "request target must start with '/'".into(),
            ));
        }
        let body_len = body.map_or(0, <[u8]>::len);
        out.reserve(method.len() + target.len() + self.fixed_headers.len() + body_len + 80);
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        out.extend_from_slice(&self.fixed_headers);
        if let Some(body) = body {
            out.extend_from_slice(self.content_type);
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(body);
        } else {
            out.extend_from_slice(b"\r\n");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(writer: &RequestWriter, method: &str, target: &str, body: Option<&[u8]>) -> String {
        let mut out = Vec::new();
        writer.write(&mut out, method, target, body).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn post_and_get_shapes() {
        let extra = vec![("X-Trace".to_string(), " abc ".to_string())];
        let writer = RequestWriter::new("127.0.0.1:8088", &extra).unwrap();
        assert_eq!(
            text(&writer, "POST", "/janus/1/2", Some(b"{\"a\":1}")),
            "POST /janus/1/2 HTTP/1.1\r\nHost: 127.0.0.1:8088\r\nX-Trace: abc\r\n\
             Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
        );
        assert_eq!(
            text(&writer, "GET", "/janus/1?maxev=10", None),
            "GET /janus/1?maxev=10 HTTP/1.1\r\nHost: 127.0.0.1:8088\r\nX-Trace: abc\r\n\r\n"
        );
    }

    #[test]
    fn caller_content_type_replaces_ours() {
        let extra = vec![("content-type".to_string(), "text/plain".to_string())];
        let writer = RequestWriter::new("h", &extra).unwrap();
        let request = text(&writer, "POST", "/", Some(b"x"));
        assert_eq!(request.matches("ontent-type").count(), 1, "{request}");
        assert!(request.contains("content-type: text/plain\r\n"));
    }

    #[test]
    fn nothing_can_inject_a_header_line() {
        let h = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        assert!(RequestWriter::new("h\r\nX: 1", &[]).is_err());
        assert!(RequestWriter::new("", &[]).is_err());
        for bad in [
            h("Content-Length", "1"),
            h("Connection", "close"),
            h("X", "a\nb"),
        ] {
            assert!(RequestWriter::new("h", &bad).is_err(), "{bad:?}");
        }
        let writer = RequestWriter::new("h", &[]).unwrap();
        let mut out = Vec::new();
        for (method, target) in [
            ("POST", "/a b"),
            ("POST", "/a\r\nX: 1"),
            ("POST", "a"),
            ("PO ST", "/"),
            ("", "/"),
        ] {
            let result = writer.write(&mut out, method, target, None);
            assert!(
                matches!(result, Err(ProtocolError::InvalidArgument(_))),
                "{method:?} {target:?}"
            );
        }
        assert!(out.is_empty());
    }
}
