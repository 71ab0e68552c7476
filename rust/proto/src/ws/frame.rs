//! RFC 6455 frames: header parsing, serialisation, client masking, close payloads.
//!
//! Rule: [`parse_header`] rejects everything RFC 6455 forbids regardless of direction (RSV bits
//! without extensions, reserved opcodes, oversized or fragmented control frames, 64-bit lengths with
//! the top bit set); the direction-specific rule (servers must not mask) is the client's job.
//! Serialisation never allocates beyond growing the caller's output buffer.

use crate::error::ProtocolError;

/// Close codes (RFC 6455 §7.4.1).
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// Endpoint going away.
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Unsupported data.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// No status received (never on the wire).
    pub const NO_STATUS: u16 = 1005;
    /// Abnormal closure (never on the wire).
    pub const ABNORMAL: u16 = 1006;
    /// Invalid frame payload data (e.g. bad UTF-8).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// Message too big.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// Mandatory extension missing.
    pub const MANDATORY_EXTENSION: u16 = 1010;
    /// Internal server error.
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// Whether `code` may appear in a close frame on the wire (1000-1003, 1007-1011, 3000-4999).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// Frame opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// Continuation of a fragmented message.
    Continuation,
    /// Text data.
    Text,
    /// Binary data.
    Binary,
    /// Close.
    Close,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
}

impl Opcode {
    /// Decode the 4-bit opcode; `None` for the reserved values 3-7 and 0xB-0xF.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong are control frames.
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN bit.
    pub fin: bool,
    /// Opcode.
    pub opcode: Opcode,
    /// Masking key, if the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub payload_len: u64,
    /// Bytes taken by the header (2-14).
    pub header_len: usize,
}

/// Largest control-frame payload.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Parse a frame header from the start of `buf`. `Ok(None)` means more bytes are needed.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
    let Some((&b0, rest)) = buf.split_first() else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(ProtocolError::ReservedBits);
    }
    let opcode = Opcode::from_u8(b0 & 0x0F).ok_or(ProtocolError::ReservedOpcode(b0 & 0x0F))?;
    let fin = b0 & 0x80 != 0;
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControlFrame);
    }
    let Some(&b1) = rest.first() else {
        return Ok(None);
    };
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut header_len) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                let len = u64::from_be_bytes(w);
                if len >> 63 != 0 {
                    return Err(ProtocolError::LengthOverflow);
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode.is_control() && payload_len > MAX_CONTROL_PAYLOAD as u64 {
        return Err(ProtocolError::ControlFrameTooLong(payload_len));
    }
    let mask = if masked {
        match buf.get(header_len..header_len + 4) {
            Some(k) => {
                header_len += 4;
                Some([k[0], k[1], k[2], k[3]])
            }
            None => return Ok(None),
        }
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin,
        opcode,
        mask,
        payload_len,
        header_len,
    }))
}

/// XOR `data` with the repeating 4-byte `key`, starting at key index 0 (8 bytes per step).
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let k64 = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        if let Ok(arr) = <[u8; 8]>::try_from(&*chunk) {
            chunk.copy_from_slice(&(u64::from_ne_bytes(arr) ^ k64).to_ne_bytes());
        }
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Append a frame header for a payload of `len` bytes.
pub fn write_header(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: Opcode,
    len: usize,
    mask: Option<[u8; 4]>,
) {
    let b0 = if fin { 0x80 } else { 0 } | opcode.as_u8();
    let mbit = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.extend_from_slice(&[b0, mbit | len as u8]);
    } else if len <= 0xFFFF {
        let l = (len as u16).to_be_bytes();
        out.extend_from_slice(&[b0, mbit | 126, l[0], l[1]]);
    } else {
        out.extend_from_slice(&[b0, mbit | 127]);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(k) = mask {
        out.extend_from_slice(&k);
    }
}

/// Append a complete frame; with `mask` the payload is masked while written (client frames).
pub fn write_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    out.reserve(payload.len() + 14);
    write_header(out, fin, opcode, payload.len(), mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(k) = mask {
        apply_mask(&mut out[start..], k);
    }
}

/// Append a close-frame payload (`code` + UTF-8 reason); `None` writes an empty payload.
pub fn write_close_payload(out: &mut Vec<u8>, code: Option<u16>, reason: &str) {
    if let Some(code) = code {
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(reason.as_bytes());
    }
}

/// Decode a received close payload into `(code, reason)`.
///
/// Empty → `(None, "")`; one byte → 1002; a code that may not be received → 1002; a reason that is
/// not UTF-8 → 1007.
pub fn parse_close_payload(payload: &[u8]) -> Result<(Option<u16>, &str), ProtocolError> {
    match payload {
        [] => Ok((None, "")),
        [_] => Err(ProtocolError::InvalidClosePayload),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_close_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok((Some(code), reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, op: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
        let mut v = Vec::new();
        write_frame(&mut v, fin, op, payload, mask);
        v
    }

    #[test]
    fn length_encodings() {
        for (len, hl) in [
            (0usize, 2usize),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
        ] {
            let f = frame(true, Opcode::Binary, &vec![7u8; len], None);
            let h = parse_header(&f).unwrap().unwrap();
            assert_eq!(h.payload_len, len as u64);
            assert_eq!(h.header_len, hl);
            assert_eq!(f.len(), hl + len);
            for cut in 0..hl {
                assert_eq!(
                    parse_header(&f[..cut]).unwrap(),
                    None,
                    "len {len} cut {cut}"
                );
            }
        }
    }

    #[test]
    fn non_minimal_length_accepted() {
        let h = parse_header(&[0x81, 126, 0, 5]).unwrap().unwrap();
        assert_eq!((h.payload_len, h.header_len), (5, 4));
        let h = parse_header(&[0x81, 127, 0, 0, 0, 0, 0, 0, 0, 5])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, h.header_len), (5, 10));
    }

    #[test]
    fn header_errors() {
        assert_eq!(parse_header(&[0xC1, 0]), Err(ProtocolError::ReservedBits));
        assert_eq!(
            parse_header(&[0x83, 0]),
            Err(ProtocolError::ReservedOpcode(3))
        );
        assert_eq!(
            parse_header(&[0x8B]),
            Err(ProtocolError::ReservedOpcode(0xB))
        );
        assert_eq!(
            parse_header(&[0x09]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            parse_header(&[0x89, 126, 0, 126]),
            Err(ProtocolError::ControlFrameTooLong(126))
        );
        let mut big = vec![0x82, 127, 0x80];
        big.extend_from_slice(&[0; 7]);
        assert_eq!(parse_header(&big), Err(ProtocolError::LengthOverflow));
    }

    #[test]
    fn masking_round_trip_all_lengths() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..40 {
            let payload: Vec<u8> = (0..len as u8).collect();
            let f = frame(true, Opcode::Text, &payload, Some(key));
            let h = parse_header(&f).unwrap().unwrap();
            assert_eq!(h.mask, Some(key));
            let mut body = f[h.header_len..].to_vec();
            if len >= 4 {
                assert_ne!(body, payload);
            }
            apply_mask(&mut body, key);
            assert_eq!(body, payload);
        }
    }

    #[test]
    fn mask_matches_bytewise_reference() {
        let key = [1, 2, 3, 250];
        let mut data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let expect: Vec<u8> = data
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ key[i % 4])
            .collect();
        apply_mask(&mut data, key);
        assert_eq!(data, expect);
    }

    #[test]
    fn close_payloads() {
        assert_eq!(parse_close_payload(b""), Ok((None, "")));
        assert_eq!(
            parse_close_payload(b"\x03"),
            Err(ProtocolError::InvalidClosePayload)
        );
        assert_eq!(parse_close_payload(b"\x03\xe8bye"), Ok((Some(1000), "bye")));
        assert_eq!(
            parse_close_payload(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_close_payload(b"\x03\xee"),
            Err(ProtocolError::InvalidCloseCode(1006))
        );
        assert_eq!(
            parse_close_payload(b"\x03\xf7"),
            Err(ProtocolError::InvalidCloseCode(1015))
        );
        assert_eq!(parse_close_payload(b"\x0b\xb8"), Ok((Some(3000), "")));
        assert_eq!(
            parse_close_payload(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidUtf8)
        );
        let mut v = Vec::new();
        write_close_payload(&mut v, Some(1001), "away");
        assert_eq!(parse_close_payload(&v), Ok((Some(1001), "away")));
        for code in [999u16, 1004, 1012, 1016, 2999, 5000] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }

    #[test]
    fn opcodes_round_trip() {
        for v in 0u8..16 {
            if let Some(op) = Opcode::from_u8(v) {
                assert_eq!(op.as_u8(), v);
            }
        }
    }
}
