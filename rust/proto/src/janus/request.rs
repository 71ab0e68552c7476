//! Request encoding: transaction ids and splicing of the routing fields into the caller's body.
//!
//! Rule: the caller's JSON body (already serialised, e.g. by orjson) is never mutated or re-parsed;
//! the encoder only checks that it is an object (`{` … `}` after optional whitespace) and writes
//! `{"transaction":"…","session_id":N,"handle_id":N,"apisecret":"…","token":"…"` followed by the
//! body's members into the output buffer. Janus (jansson) keeps the *last* value of a duplicate
//! key, so a body that already holds one of these keys overrides ours: the Python layer strips them.
//! Transaction ids are a per-connection counter rendered in base 62 behind a 2-char random prefix.

use std::fmt;

use crate::error::ProtocolError;
use crate::rng::Rng;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn digit_value(b: u8) -> Option<u64> {
    Some(u64::from(match b {
        b'0'..=b'9' => b - b'0',
        b'A'..=b'Z' => b - b'A' + 10,
        b'a'..=b'z' => b - b'a' + 36,
        _ => return None,
    }))
}

/// A transaction id string, stored inline (at most 16 ASCII bytes, no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxId {
    buf: [u8; 16],
    len: u8,
}

impl TxId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl AsRef<str> for TxId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({:?})", self.as_str())
    }
}

/// Per-connection transaction-id generator: ids 1, 2, 3, … rendered as `<prefix><base62>`.
#[derive(Debug, Clone)]
pub struct TxIdGen {
    prefix: [u8; 2],
    next: u64,
}

impl TxIdGen {
    /// Generator whose 2-char prefix is drawn from `rng`.
    pub fn new(rng: &mut Rng) -> Self {
        let v = rng.next_u64();
        Self {
            prefix: [
                ALPHABET[(v % 62) as usize],
                ALPHABET[((v >> 8) % 62) as usize],
            ],
            next: 1,
        }
    }

    /// Generator with a fixed prefix (two base-62 characters; others are replaced by `0`).
    pub fn with_prefix(prefix: [u8; 2]) -> Self {
        let fix = |b: u8| if digit_value(b).is_some() { b } else { b'0' };
        Self {
            prefix: [fix(prefix[0]), fix(prefix[1])],
            next: 1,
        }
    }

    /// Allocate the next id (never 0).
    pub fn next_id(&mut self) -> u64 {
        let id = self.next;
        self.next = self.next.wrapping_add(1).max(1);
        id
    }

    /// Render `id` as its wire string.
    pub fn format(&self, id: u64) -> TxId {
        let mut digits = [0u8; 11];
        let mut n = id;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = ALPHABET[(n % 62) as usize];
            n /= 62;
            if n == 0 {
                break;
            }
        }
        let mut buf = [0u8; 16];
        buf[..2].copy_from_slice(&self.prefix);
        let nd = digits.len() - i;
        buf[2..2 + nd].copy_from_slice(&digits[i..]);
        TxId {
            buf,
            len: (2 + nd) as u8,
        }
    }

    /// Map a wire string back to the id it was formatted from; `None` for strings this generator
    /// cannot have produced (other prefix, non-canonical digits, overflow, id 0).
    pub fn parse(&self, s: &str) -> Option<u64> {
        let b = s.as_bytes();
        let digits = b.strip_prefix(&self.prefix[..])?;
        if digits.is_empty() || digits.len() > 11 || (digits[0] == b'0') {
            return None;
        }
        digits.iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(62)?.checked_add(digit_value(d)?)
        })
    }
}

/// The routing fields spliced into a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFields<'a> {
    /// `transaction`.
    pub transaction: &'a str,
    /// `session_id` (WebSocket; over HTTP ids go in the path).
    pub session_id: Option<u64>,
    /// `handle_id` (WebSocket; over HTTP ids go in the path).
    pub handle_id: Option<u64>,
    /// `apisecret`.
    pub apisecret: Option<&'a str>,
    /// `token`.
    pub token: Option<&'a str>,
}

fn is_ws(b: &u8) -> bool {
    matches!(*b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Append `s` as a JSON string literal.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short.is_empty() {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Append `n` in decimal.
pub fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append the request (`body` with `fields` spliced in after its `{`) to `out`.
/// On error `out` is left untouched.
pub fn encode_into(
    out: &mut Vec<u8>,
    body: &[u8],
    fields: &RequestFields<'_>,
) -> Result<(), ProtocolError> {
    let open = body.iter().position(|b| !is_ws(b));
    let close = body.iter().rposition(|b| !is_ws(b));
    let (open, close) = match (open, close) {
        (Some(o), Some(c)) if c > o && body[o] == b'{' && body[c] == b'}' => (o, c),
        _ => {
            return Err(ProtocolError::InvalidArgument(
                "request body must be a JSON object".into(),
            ))
        }
    };
    let members = &body[open + 1..close];
    out.reserve(members.len() + 96);
    out.extend_from_slice(b"{\"transaction\":");
    write_json_str(out, fields.transaction);
    if let Some(id) = fields.session_id {
        out.extend_from_slice(b",\"session_id\":");
        write_u64(out, id);
    }
    if let Some(id) = fields.handle_id {
        out.extend_from_slice(b",\"handle_id\":");
        write_u64(out, id);
    }
    if let Some(s) = fields.apisecret {
        out.extend_from_slice(b",\"apisecret\":");
        write_json_str(out, s);
    }
    if let Some(s) = fields.token {
        out.extend_from_slice(b",\"token\":");
        write_json_str(out, s);
    }
    if !members.iter().all(is_ws) {
        out.push(b',');
        out.extend_from_slice(members);
    }
    out.push(b'}');
    Ok(())
}

/// [`encode_into`] a fresh vector.
pub fn encode(body: &[u8], fields: &RequestFields<'_>) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(body.len() + 96);
    encode_into(&mut out, body, fields)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(tx: &str) -> RequestFields<'_> {
        RequestFields {
            transaction: tx,
            ..RequestFields::default()
        }
    }

    #[test]
    fn tx_ids_round_trip() {
        let mut g = TxIdGen::with_prefix(*b"Ab");
        assert_eq!(g.next_id(), 1);
        assert_eq!(g.format(1).as_str(), "Ab1");
        assert_eq!(g.format(61).as_str(), "Abz");
        assert_eq!(g.format(62).as_str(), "Ab10");
        for id in [1u64, 61, 62, 3843, 1 << 40, u64::MAX] {
            let s = g.format(id);
            assert_eq!(g.parse(s.as_str()), Some(id), "{s}");
        }
        for bad in [
            "",
            "Ab",
            "Ab0",
            "Ab01",
            "Xy1",
            "Ab1!",
            "AbLygHa16AHYG",
            "AbzzzzzzzzzzzZ",
        ] {
            assert_eq!(g.parse(bad), None, "{bad}");
        }
        let other = TxIdGen::with_prefix(*b"Ac");
        assert_eq!(other.parse(g.format(5).as_str()), None);
    }

    #[test]
    fn tx_prefix_from_rng_differs() {
        let a = TxIdGen::new(&mut Rng::new(b"seed-a-0123456789"));
        let b = TxIdGen::new(&mut Rng::new(b"seed-b-0123456789"));
        assert_eq!(a.format(1).as_str().len(), 3);
        assert_ne!(a.format(1), b.format(1));
    }

    #[test]
    fn splice_empty_and_nonempty() {
        assert_eq!(
            encode(b"{}", &fields("t1")).unwrap(),
            br#"{"transaction":"t1"}"#
        );
        assert_eq!(
            encode(b" \n{ \n }\n", &fields("t1")).unwrap(),
            br#"{"transaction":"t1"}"#
        );
        let body = br#"  {"janus":"attach","plugin":"janus.plugin.echotest"}"#;
        let f = RequestFields {
            transaction: "t2",
            session_id: Some(5083213296227181),
            handle_id: Some(1),
            apisecret: Some("a\"b\\c\n\u{1}"),
            token: Some("tök"),
        };
        let out = encode(body, &f).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"transaction":"t2","session_id":5083213296227181,"handle_id":1,"apisecret":"a\"b\\c\n\u0001","token":"tök","janus":"attach","plugin":"janus.plugin.echotest"}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["apisecret"], "a\"b\\c\n\u{1}");
    }

    #[test]
    fn non_objects_rejected_and_out_untouched() {
        let mut out = b"keep".to_vec();
        for bad in [
            &b""[..],
            b"  ",
            b"[]",
            b"{",
            b"}",
            b"\"{}\"",
            b"{} x",
            b"null",
        ] {
            assert!(encode_into(&mut out, bad, &fields("t")).is_err(), "{bad:?}");
        }
        assert_eq!(out, b"keep");
    }

    #[test]
    fn numbers() {
        let mut v = Vec::new();
        for n in [0u64, 9, 10, 1 << 53, u64::MAX] {
            v.clear();
            write_u64(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }
}
