//! HTTP/1.1 client codec: what the HTTP transport writes and reads, and the text rules the
//! WebSocket upgrade shares with it.
//!
//! Rule: sans-I/O like the rest of the crate. [`RequestWriter`] turns (method, target, body) into
//! request bytes and refuses anything that could inject header lines; [`ResponseReader`] turns
//! received bytes into complete [`Response`]s (`Content-Length`, `chunked` or until-close bodies,
//! interim 1xx skipped) and reports every deviation as a typed [`HttpError`]. One request is in
//! flight per connection (no pipelining), so bytes after a complete response are an error.

mod request;
mod response;

pub use crate::error::HttpError;
pub use request::RequestWriter;
pub use response::{Response, ResponseReader};

use crate::error::{excerpt, ProtocolError};

/// Largest accepted response header block, `\r\n\r\n` included.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Reject `v` if it contains CR, LF or NUL (or, unless `allow_space`, blanks or nothing at all).
pub(crate) fn check_text(what: &str, v: &str, allow_space: bool) -> Result<(), ProtocolError> {
    let bad = v
        .bytes()
        .any(|b| b == b'\r' || b == b'\n' || b == 0 || (!allow_space && (b == b' ' || b == b'\t')));
    if bad || (!allow_space && v.is_empty()) {
        return Err(ProtocolError::InvalidArgument(format!(
            "{what} contains forbidden characters or is empty"
        )));
    }
    Ok(())
}

/// RFC 9110 `token` (header names, subprotocols).
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Validate caller-provided header lines: token names, no CR/LF in values, none of `reserved`.
pub(crate) fn check_extra_headers(
    headers: &[(String, String)],
    reserved: &[&str],
    owner: &str,
) -> Result<(), ProtocolError> {
    for (name, value) in headers {
        if !is_token(name) {
            return Err(ProtocolError::InvalidArgument(format!(
                "header name {:?} is not an HTTP token",
                excerpt(name)
            )));
        }
        if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(ProtocolError::InvalidArgument(format!(
                "header {name} is set by the {owner}"
            )));
        }
        check_text("header value", value, true)?;
    }
    Ok(())
}

/// Append `Name: value\r\n` for every header (values trimmed).
pub(crate) fn write_headers(out: &mut Vec<u8>, headers: &[(String, String)]) {
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.trim().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Position of `needle` in `hay` at or after `from`.
pub(crate) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `v` without leading and trailing ASCII whitespace.
pub(crate) fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |p| p + 1);
    &v[s..e]
}

/// A parsed status line `HTTP/1.<minor> <code> <reason>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusLine<'a> {
    pub minor_version: u8,
    pub code: u16,
    pub reason: &'a [u8],
}

/// Parse `HTTP/1.0 200 OK` / `HTTP/1.1 404` (the reason may be empty); None when malformed.
pub(crate) fn parse_status_line(line: &[u8]) -> Option<StatusLine<'_>> {
    let rest = line.strip_prefix(b"HTTP/1.")?;
    let minor_version = match rest.first()? {
        b'0' => 0,
        b'1' => 1,
        _ => return None,
    };
    let rest = rest.get(1..)?.strip_prefix(b" ")?;
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|&b| b != b' ') {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    if code < 100 {
        return None;
    }
    Some(StatusLine {
        minor_version,
        code,
        reason: trim(rest.get(4..).unwrap_or(b"")),
    })
}

/// Split a header block (lines ending in `\r\n`) into trimmed `(name, value)` pairs; folded
/// (obsolete) continuation lines and lines without `:` are malformed.
pub(crate) fn header_lines(block: &[u8]) -> impl Iterator<Item = Option<(&[u8], &[u8])>> {
    let mut rest = block;
    std::iter::from_fn(move || {
        let pos = find(rest, b"\r\n", 0)?;
        let line = &rest[..pos];
        rest = &rest[pos + 2..];
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            return Some(None);
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Some(None);
        };
        let name = &line[..colon];
        if name.is_empty() || name.iter().any(|b| b.is_ascii_whitespace()) {
            return Some(None);
        }
        Some(Some((name, trim(&line[colon + 1..]))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let ok = parse_status_line(b"HTTP/1.1 200 OK").unwrap();
        assert_eq!((ok.minor_version, ok.code, ok.reason), (1, 200, &b"OK"[..]));
        let bare = parse_status_line(b"HTTP/1.0 404").unwrap();
        assert_eq!(
            (bare.minor_version, bare.code, bare.reason),
            (0, 404, &b""[..])
        );
        for bad in [
            &b"HTTP/2 200 OK"[..],
            b"HTTP/1.1 20 OK",
            b"HTTP/1.1 2000 OK",
            b"HTTP/1.1 abc OK",
            b"HTTP/1.1 099 Low",
            b"ICY 200 OK",
            b"HTTP/1.1200 OK",
        ] {
            assert!(parse_status_line(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn header_lines_split_and_reject_folding() {
        let lines: Vec<_> = header_lines(b"A: 1\r\nB:two \r\n").collect();
        assert_eq!(
            lines,
            vec![Some((&b"A"[..], &b"1"[..])), Some((&b"B"[..], &b"two"[..]))]
        );
        assert_eq!(header_lines(b" folded\r\n").next(), Some(None));
        assert_eq!(header_lines(b"no colon\r\n").next(), Some(None));
        assert_eq!(header_lines(b"Bad Name: x\r\n").next(), Some(None));
    }

    #[test]
    fn extra_headers_are_checked() {
        let h = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        assert!(check_extra_headers(&h("X-A", "1"), &["host"], "x").is_ok());
        for bad in [
            h("X-A", "1\r\nX-B: 2"),
            h("X A", "1"),
            h("", "1"),
            h("HOST", "h"),
        ] {
            assert!(
                check_extra_headers(&bad, &["host"], "x").is_err(),
                "{bad:?}"
            );
        }
    }
}
