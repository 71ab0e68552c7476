//! Classification of incoming Janus JSON into routing facts.
//!
//! Rule: only the routing fields are decoded (`janus`, `transaction`, `session_id`, `sender`,
//! `error`, `plugindata.plugin`, `plugindata.data.error_code`/`error`, presence of `jsep`); every
//! other value is skipped without being built. A payload may hold one object, several concatenated
//! objects, or a JSON array of objects (HTTP long poll with `maxev`). Each [`Message`] shares the
//! payload's bytes and knows the byte range of its own object, so nothing is re-serialised.
//! Unknown `janus` types are data ([`Kind::Other`]); a missing `janus` string, a non-object or
//! invalid JSON is a [`ProtocolError`]. Ids must be JSON numbers; anything else reads as absent.
//! Duplicate keys: the last one wins, as in Janus's own parser (jansson). JSON that `orjson.loads`
//! would reject (see `fields`: lone surrogate escapes, numbers beyond `f64`, nesting deeper than
//! 1024) is invalid JSON here too, so every classified message decodes in Python. A
//! `janus: "error"` message always has an [`Message::error`]; its code is 0 (Janus's "no error",
//! never an error code) when `error.code` is missing or not an integer.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::fields::Fields;

use crate::error::{excerpt, ProtocolError};
use crate::Payload;

/// The `janus` field of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `success`
    Success,
    /// `error`
    Error,
    /// `ack`
    Ack,
    /// `event`
    Event,
    /// `pong`
    Pong,
    /// `server_info`
    ServerInfo,
    /// `keepalive`
    Keepalive,
    /// `webrtcup`
    WebrtcUp,
    /// `media`
    Media,
    /// `slowlink`
    Slowlink,
    /// `hangup`
    Hangup,
    /// `detached`
    Detached,
    /// `ice-failed`
    IceFailed,
    /// `trickle`
    Trickle,
    /// `timeout`
    Timeout,
    /// Any other type (data, not an error).
    Other(Box<str>),
}

impl Kind {
    /// Map a `janus` value to its kind.
    pub fn parse(s: &str) -> Self {
        match s {
            "success" => Self::Success,
            "error" => Self::Error,
            "ack" => Self::Ack,
            "event" => Self::Event,
            "pong" => Self::Pong,
            "server_info" => Self::ServerInfo,
            "keepalive" => Self::Keepalive,
            "webrtcup" => Self::WebrtcUp,
            "media" => Self::Media,
            "slowlink" => Self::Slowlink,
            "hangup" => Self::Hangup,
            "detached" => Self::Detached,
            "ice-failed" => Self::IceFailed,
            "trickle" => Self::Trickle,
            "timeout" => Self::Timeout,
            other => Self::Other(other.into()),
        }
    }

    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Ack => "ack",
            Self::Event => "event",
            Self::Pong => "pong",
            Self::ServerInfo => "server_info",
            Self::Keepalive => "keepalive",
            Self::WebrtcUp => "webrtcup",
            Self::Media => "media",
            Self::Slowlink => "slowlink",
            Self::Hangup => "hangup",
            Self::Detached => "detached",
            Self::IceFailed => "ice-failed",
            Self::Trickle => "trickle",
            Self::Timeout => "timeout",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code of a `janus: "error"` message whose `error.code` is missing or not an integer: 0 is
/// Janus's "no error", which no error reply carries.
pub const INVALID_ERROR_CODE: i64 = 0;

/// A string field: a byte span of the payload (no escapes) or an owned copy (had escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Text {
    Span(usize, usize),
    Owned(Box<str>),
}

impl Text {
    fn new(c: Cow<'_, str>, base: &[u8]) -> Self {
        match c {
            Cow::Borrowed(s) => {
                let off = (s.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
                match off.checked_add(s.len()) {
                    Some(end) if end <= base.len() => Self::Span(off, end),
                    _ => Self::Owned(s.into()),
                }
            }
            Cow::Owned(s) => Self::Owned(s.into_boxed_str()),
        }
    }

    fn get<'a>(&'a self, raw: &'a [u8]) -> &'a str {
        match self {
            Self::Span(a, b) => raw
                .get(*a..*b)
                .and_then(|s| std::str::from_utf8(s).ok())
                .unwrap_or(""),
            Self::Owned(s) => s,
        }
    }
}

/// One classified Janus message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    raw: Payload,
    range: Range<usize>,
    transaction: Option<Text>,
    plugin: Option<Text>,
    /// The `janus` type.
    pub kind: Kind,
    /// `session_id`, if a JSON number.
    pub session_id: Option<u64>,
    /// `sender` (handle id), if a JSON number.
    pub sender: Option<u64>,
    /// `error.code` and `error.reason` of a `janus: "error"` message (always set on one; the code
    /// is [`INVALID_ERROR_CODE`] when `error.code` is missing or not an integer).
    pub error: Option<(i64, String)>,
    /// `plugindata.data.error_code` and `error` (plugin errors ride inside success/event).
    pub plugin_error: Option<(i64, String)>,
    /// Whether a non-null `jsep` is present.
    pub has_jsep: bool,
}

impl Message {
    /// This message's own JSON object (a slice of the shared payload).
    pub fn bytes(&self) -> &[u8] {
        &self.raw[self.range.clone()]
    }

    /// The whole payload this message came in (shared with its siblings).
    pub fn payload(&self) -> &Payload {
        &self.raw
    }

    /// Byte range of this message's object within [`Message::payload`].
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// The `transaction` string, if present (and a string).
    pub fn transaction(&self) -> Option<&str> {
        self.transaction.as_ref().map(|t| t.get(&self.raw))
    }

    /// `plugindata.plugin`, if present.
    pub fn plugin(&self) -> Option<&str> {
        self.plugin.as_ref().map(|t| t.get(&self.raw))
    }

    /// The shared payload and this message's range in it, without the classified fields: what a
    /// holder keeps when it needs only the bytes (re-classify with [`Message::parse_one`]).
    pub fn into_parts(self) -> (Payload, Range<usize>) {
        (self.raw, self.range)
    }

    /// Classify a payload expected to hold exactly one message (copies `bytes`).
    pub fn parse_one(bytes: &[u8]) -> Result<Message, ProtocolError> {
        let mut v = classify(Arc::from(bytes))?;
        match v.len() {
            1 => Ok(v.remove(0)),
            0 => Err(ProtocolError::EmptyMessage),
            _ => Err(ProtocolError::InvalidJson(
                "expected a single object".into(),
            )),
        }
    }
}

/// Classify every message in `payload` into a new vector.
pub fn classify(payload: Payload) -> Result<Vec<Message>, ProtocolError> {
    let mut out = Vec::with_capacity(1);
    classify_each(&payload, |m| out.push(m))?;
    Ok(out)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The error without serde_json's " at line L column C" (the kind of fault is what matters: the
/// transport logs each kind once).
fn json_err(e: serde_json::Error) -> ProtocolError {
    let text = e.to_string();
    let kind = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => &text,
    };
    ProtocolError::InvalidJson(excerpt(kind))
}

/// Classify one array element (a whole JSON value, already checked for syntax).
fn fields_of(s: &str) -> Result<Fields<'_>, ProtocolError> {
    let mut de = serde_json::Deserializer::from_str(s);
    de.disable_recursion_limit(); // `Fields` counts depth itself (orjson's limit, not 128)
    let fields = Fields::deserialize(&mut de).map_err(json_err)?;
    de.end().map_err(json_err)?;
    Ok(fields)
}

/// Classify every message in `payload`, handing each to `f` in order. Returns how many were
/// delivered. On an error, the messages before the faulty one have already been delivered.
pub fn classify_each<F: FnMut(Message)>(
    payload: &Payload,
    mut f: F,
) -> Result<usize, ProtocolError> {
    let bytes: &[u8] = payload;
    let first = bytes
        .iter()
        .position(|&b| !is_ws(b))
        .ok_or(ProtocolError::EmptyMessage)?;
    if bytes[first] == b'[' {
        let items: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(json_err)?;
        let n = items.len();
        for item in items {
            let s = item.get();
            let start = (s.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
            let fields = fields_of(s)?;
            f(build(payload, start..start + s.len(), fields)?);
        }
        return Ok(n);
    }
    // Check UTF-8 once and parse from `str`: serde_json then skips its per-string check, which
    // cost more than all of this on captured traffic. Objects before an invalid byte still count.
    let (text, bad_utf8) = match std::str::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(e) => (
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
            true,
        ),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit(); // `Fields` counts depth itself (orjson's limit, not 128)
    let mut stream = de.into_iter::<Fields<'_>>();
    let mut count = 0;
    loop {
        let mut start = stream.byte_offset();
        while bytes.get(start).is_some_and(|&b| is_ws(b)) {
            start += 1;
        }
        match stream.next() {
            None if bad_utf8 => return Err(ProtocolError::InvalidJson("invalid UTF-8".into())),
            None => return Ok(count),
            Some(Err(_)) if bad_utf8 => {
                return Err(ProtocolError::InvalidJson("invalid UTF-8".into()))
            }
            Some(Err(e)) => return Err(json_err(e)),
            Some(Ok(fields)) => {
                f(build(payload, start..stream.byte_offset(), fields)?);
                count += 1;
            }
        }
    }
}

fn build(raw: &Payload, range: Range<usize>, fields: Fields<'_>) -> Result<Message, ProtocolError> {
    if !fields.is_object {
        return Err(ProtocolError::NotAnObject);
    }
    let janus = fields.janus.ok_or(ProtocolError::MissingJanusField)?;
    let kind = Kind::parse(&janus);
    let base: &[u8] = raw;
    let error = match kind {
        Kind::Error => Some((
            fields.error_code.unwrap_or(INVALID_ERROR_CODE),
            fields.error_reason.map(Cow::into_owned).unwrap_or_default(),
        )),
        _ => None,
    };
    Ok(Message {
        transaction: fields.transaction.map(|t| Text::new(t, base)),
        plugin: fields.plugin.map(|t| Text::new(t, base)),
        raw: raw.clone(),
        range,
        kind,
        session_id: fields.session_id,
        sender: fields.sender,
        error,
        plugin_error: fields.plugin_error.map(|(c, r)| (c, r.into_owned())),
        has_jsep: fields.has_jsep,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Message {
        Message::parse_one(s.as_bytes()).unwrap()
    }

    fn all(s: &str) -> Result<Vec<Message>, ProtocolError> {
        classify(Arc::from(s.as_bytes()))
    }

    const INDENTED: &str = "{\n   \"janus\": \"event\",\n   \"session_id\": 5083213296227181,\n   \
        \"transaction\": \"gyqChngD0KWh\",\n   \"sender\": 1863724185641224,\n   \"plugindata\": {\n      \
        \"plugin\": \"janus.plugin.echotest\",\n      \"data\": {\n         \"echotest\": \"event\",\n         \
        \"result\": \"ok\"\n      }\n   }\n}";

    #[test]
    fn indented_event() {
        let m = one(INDENTED);
        assert_eq!(m.kind, Kind::Event);
        assert_eq!(m.transaction(), Some("gyqChngD0KWh"));
        assert_eq!(m.session_id, Some(5083213296227181));
        assert_eq!(m.sender, Some(1863724185641224));
        assert_eq!(m.plugin(), Some("janus.plugin.echotest"));
        assert_eq!(
            (m.error.clone(), m.plugin_error.clone(), m.has_jsep),
            (None, None, false)
        );
        assert_eq!(m.bytes(), INDENTED.as_bytes());
    }

    #[test]
    fn parts_are_the_payload_and_the_range_of_each_message() {
        let text = r#"{"janus":"ack","transaction":"a"} {"janus":"pong","transaction":"b"}"#;
        for m in all(text).unwrap() {
            let (payload, range) = m.clone().into_parts();
            assert!(
                Arc::ptr_eq(&payload, m.payload()),
                "the shared payload, not a copy"
            );
            assert_eq!(&payload[range.clone()], m.bytes());
            assert_eq!(range, m.range());
        }
    }

    #[test]
    fn errors_core_and_plugin() {
        let m = one(
            r#"{"janus":"error","session_id":1,"transaction":"t","error":{"code":459,"reason":"No such handle 123"}}"#,
        );
        assert_eq!(m.error, Some((459, "No such handle 123".to_string())));
        let m = one(
            r#"{"janus":"success","transaction":"t","sender":8,"plugindata":{"plugin":"janus.plugin.textroom","data":{"textroom":"error","error_code":418,"error":"Room 4242 already exists"}}}"#,
        );
        assert_eq!(m.kind, Kind::Success);
        assert_eq!(m.error, None);
        assert_eq!(
            m.plugin_error,
            Some((418, "Room 4242 already exists".to_string()))
        );
        let m = one(r#"{"janus":"success","error":{"code":1,"reason":"x"}}"#);
        assert_eq!(m.error, None, "error field only counts on janus:error");
    }

    #[test]
    fn concatenated_and_array_ranges() {
        let s = " {\"janus\":\"ack\",\"transaction\":\"a\"}\n{\"janus\":\"pong\"} \r\n{ \"janus\" : \"keepalive\" }  ";
        let v = all(s).unwrap();
        let kinds: Vec<&str> = v.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["ack", "pong", "keepalive"]);
        assert_eq!(v[1].bytes(), br#"{"janus":"pong"}"#);
        assert_eq!(v[2].bytes(), br#"{ "janus" : "keepalive" }"#);
        assert!(Arc::ptr_eq(v[0].payload(), v[2].payload()));
        let arr =
            "[\n {\"janus\":\"event\",\"sender\":1}, {\"janus\":\"webrtcup\",\"sender\":2}\n]";
        let v = all(arr).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].bytes(), br#"{"janus":"webrtcup","sender":2}"#);
        assert_eq!(v[1].kind, Kind::WebrtcUp);
        assert!(all("[]").unwrap().is_empty());
    }

    #[test]
    fn field_tolerance() {
        let m =
            one(r#"{"janus":"media","session_id":"12","sender":-1,"transaction":5,"jsep":null}"#);
        assert_eq!(
            (m.session_id, m.sender, m.transaction(), m.has_jsep),
            (None, None, None, false)
        );
        let m = one(
            r#"{"janus":"event","session_id":9007199254740993,"sender":1.5,"jsep":{"type":"answer","sdp":"v=0\r\n"}}"#,
        );
        assert_eq!(
            (m.session_id, m.sender, m.has_jsep),
            (Some(9007199254740993), None, true)
        );
        let m = one(r#"{"janus":"x-custom","plugindata":[1,2],"error":"str","janus":"hangup"}"#);
        assert_eq!(m.kind, Kind::Hangup, "last duplicate wins");
        let m = one(r#"{"janus":"x-custom","data":{"deep":[[[{"a":{}}]]]}}"#);
        assert_eq!(m.kind, Kind::Other("x-custom".into()));
        assert_eq!(m.kind.as_str(), "x-custom");
    }

    #[test]
    fn escaped_strings_are_owned_but_equal() {
        let m = one(r#"{"janus":"ack","transaction":"a\"b\u0041","plugindata":{"plugin":"p\/q"}}"#);
        assert_eq!(m.transaction(), Some("a\"bA"));
        assert_eq!(m.plugin(), Some("p/q"));
        let m = one(r#"{"janus":"ack","transaction":"héllo"}"#);
        assert_eq!(m.transaction(), Some("héllo"));
    }

    #[test]
    fn failures() {
        assert_eq!(all("  \n"), Err(ProtocolError::EmptyMessage));
        assert_eq!(
            all(r#"{"transaction":"x"}"#),
            Err(ProtocolError::MissingJanusField)
        );
        assert_eq!(all(r#"{"janus":7}"#), Err(ProtocolError::MissingJanusField));
        assert_eq!(all("42"), Err(ProtocolError::NotAnObject));
        assert_eq!(all(r#""{}""#), Err(ProtocolError::NotAnObject));
        assert_eq!(
            all(r#"[{"janus":"ack"}, 3]"#),
            Err(ProtocolError::NotAnObject)
        );
        assert!(matches!(
            all(r#"{"janus":"ack""#),
            Err(ProtocolError::InvalidJson(_))
        ));
        assert!(matches!(
            all(r#"{"janus":"ack"} x"#),
            Err(ProtocolError::InvalidJson(_))
        ));
        assert!(matches!(
            all("[{\"janus\":\"ack\"}"),
            Err(ProtocolError::InvalidJson(_))
        ));
        let long = format!(
            "{{\"janus\":\"ack\",\"x\":\"{}\" oops}}",
            "y".repeat(10_000)
        );
        match all(&long) {
            Err(ProtocolError::InvalidJson(d)) => assert!(d.len() < 200, "{d}"),
            other => panic!("{other:?}"),
        }
    }

    /// `{"janus":"event","x":<v>}` classified: Ok(()) or the error text.
    fn with_value(v: &str) -> Result<(), String> {
        let s = format!(r#"{{"janus":"event","x":{v}}}"#);
        all(&s).map(|_| ()).map_err(|e| e.to_string())
    }

    fn nested(depth: usize, open: &str, close: &str, inner: &str) -> String {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn orjson_rules_surrogates() {
        for ok in [
            r#""\ud800\udc00""#,
            r#""\udbff\udfff""#,
            r#""\u0000""#,
            r#""\\ud800""#,
        ] {
            assert_eq!(with_value(ok), Ok(()), "{ok}");
        }
        for bad in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800x""#,
            r#""\ud800\u0041""#,
            r#""\ud800\ud800""#,
            r#""\udc00\ud800""#,
            r#"{"\ud800":1}"#,
            r#"["ok", {"deep": ["\udfff"]}]"#,
        ] {
            let e = with_value(bad).expect_err(bad);
            assert!(e.starts_with("invalid JSON: "), "{e}");
            assert!(!e.contains(" at line "), "{e}");
        }
        // Routing keys and the key names themselves are checked too.
        for bad in [
            r#"{"janus":"ack","transaction":"t\ud800"}"#,
            r#"{"janus":"ack\udc00"}"#,
            r#"{"janus":"event","plugindata":{"plugin":"p","data":{"x\ud800":1}}}"#,
            r#"{"janus":"error","error":{"code":1,"reason":"\ud800"}}"#,
            r#"[{"janus":"ack"},{"janus":"event","y":"\ud800"}]"#,
        ] {
            assert!(
                matches!(all(bad), Err(ProtocolError::InvalidJson(_))),
                "{bad}"
            );
        }
    }

    /// Skipped values are checked in place (nothing copied): every string, number and nesting
    /// fault reads exactly as serde_json's own parser reports it, accepted values stay
    /// accepted, wherever the value sits (top level, inside `jsep`, inside `plugindata.data`,
    /// as a key).
    #[test]
    fn skipped_values_are_checked_in_place_as_serde_json_parses_them() {
        const PIECES: [&str; 12] = [
            "a",
            "v=0",
            r"\r\n",
            r"\ud800",
            r"\udc00",
            r"\udbff\udfff",
            r"\u0041",
            r"\\",
            r#"\""#,
            r"\u00e9",
            r"\/",
            r"\ud83d\ude00",
        ];
        const NUMBERS: [&str; 8] = [
            "0",
            "-12",
            "123456789012345678901234567890",
            "1e308",
            "1e309",
            "-2.5e-400",
            "9",
            "1797693134862315708145274237317043567981e269",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).unwrap()
        };
        let reference = |value: &str| -> Result<(), String> {
            serde_json::from_str::<serde_json::Value>(value)
                .map(|_| ())
                .map_err(|e| {
                    let text = e.to_string();
                    text[..text.rfind(" at line ").unwrap_or(text.len())].to_owned()
                })
        };
        let ours = |message: &str| -> Result<(), String> {
            all(message).map(|_| ()).map_err(|e| match e {
                ProtocolError::InvalidJson(kind) => kind,
                other => panic!("{other:?}"),
            })
        };
        let mut faults = 0;
        for _ in 0..4000 {
            let text: String = (0..next(6)).map(|_| PIECES[next(PIECES.len())]).collect();
            let string = format!("\"{text}\"");
            let number = NUMBERS[next(NUMBERS.len())];
            let value = match next(4) {
                0 => string.clone(),
                1 => format!("[{number}, {string}]"),
                2 => format!("{{{string}: {{\"n\": {number}}}}}"),
                _ => number.to_owned(),
            };
            let expected = reference(&value);
            faults += usize::from(expected.is_err());
            for message in [
                format!(r#"{{"janus":"event","x":{value}}}"#),
                format!(r#"{{"janus":"event","jsep":{{"type":"offer","sdp":{value}}}}}"#),
                format!(
                    r#"{{"janus":"event","plugindata":{{"plugin":"p","data":{{"y":{value}}}}}}}"#
                ),
            ] {
                assert_eq!(ours(&message), expected, "{message}");
            }
        }
        assert!(
            faults > 500,
            "the generator must produce faults too ({faults})"
        );
    }

    #[test]
    fn orjson_rules_numbers() {
        for ok in [
            "1e308",
            "-1e308",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1e-400",
            "0e99999",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890e-10",
        ] {
            assert_eq!(with_value(ok), Ok(()), "{ok}");
        }
        let huge = format!("1{}", "0".repeat(400));
        let neg_huge = format!("-1{}", "0".repeat(400));
        for bad in [
            "1e400",
            "-1e400",
            "1E+400",
            "1.8e308",
            "1.7976931348623159e308",
            "1e99999999999999999999",
            &huge,
            &neg_huge,
        ] {
            assert_eq!(
                with_value(bad),
                Err("invalid JSON: number out of range".into()),
                "{bad}"
            );
        }
        let in_session_id = r#"{"janus":"event","session_id":1e400}"#;
        assert!(all(in_session_id).is_err());
        let in_data = r#"{"janus":"event","plugindata":{"data":{"error_code":-1e999}}}"#;
        assert!(all(in_data).is_err());
    }

    #[test]
    fn orjson_rules_depth() {
        // The message object is one level: 1023 more are fine, 1024 more are not.
        for (open, close, inner) in [
            ("[", "]", ""),
            (r#"{"a":"#, "}", "1"),
            ("[{\"b\":", "}]", "[]"),
        ] {
            let per = if open.starts_with("[{") { 2 } else { 1 };
            let ok = nested(1023 / per, open, close, inner);
            assert_eq!(with_value(&ok), Ok(()), "{open} x {}", 1023 / per);
        }
        assert_eq!(with_value(&nested(1023, "[", "]", "")), Ok(()));
        let too_deep = format!("invalid JSON: {}", super::super::fields::TOO_DEEP);
        assert_eq!(
            with_value(&nested(1024, "[", "]", "")),
            Err(too_deep.clone())
        );
        assert_eq!(
            with_value(&nested(1024, r#"{"a":"#, "}", "null")),
            Err(too_deep.clone())
        );
        assert_eq!(
            with_value(&nested(100_000, "[", "]", "")),
            Err(too_deep.clone())
        );
        // Depth counts through the routing keys too.
        let pd = format!(
            r#"{{"janus":"event","plugindata":{{"data":{{"x":{}}}}}}}"#,
            nested(1021, "[", "]", "")
        );
        assert_eq!(all(&pd).map(|v| v.len()), Ok(1));
        let pd = format!(
            r#"{{"janus":"event","plugindata":{{"data":{{"x":{}}}}}}}"#,
            nested(1022, "[", "]", "")
        );
        assert!(all(&pd).is_err());
        let sid = format!(
            r#"{{"janus":"event","session_id":{}}}"#,
            nested(1024, "[", "]", "")
        );
        assert!(all(&sid).is_err());
        // An element of a long-poll array is its own top level (Message.json() decodes it alone).
        let arr = format!(
            r#"[{{"janus":"event","x":{}}}]"#,
            nested(1023, "[", "]", "")
        );
        assert_eq!(all(&arr).map(|v| v.len()), Ok(1));
    }

    #[test]
    fn error_reply_always_has_an_error() {
        for (text, code, reason) in [
            (
                r#"{"janus":"error","error":{"code":"458","reason":"r"}}"#,
                0,
                "r",
            ),
            (
                r#"{"janus":"error","error":{"code":458.0,"reason":"r"}}"#,
                0,
                "r",
            ),
            (r#"{"janus":"error","error":{"reason":"r"}}"#, 0, "r"),
            (r#"{"janus":"error","error":"boom"}"#, 0, ""),
            (r#"{"janus":"error"}"#, 0, ""),
            (
                r#"{"janus":"error","error":{"code":458,"reason":7}}"#,
                458,
                "",
            ),
        ] {
            assert_eq!(one(text).error, Some((code, reason.to_string())), "{text}");
        }
        assert_eq!(INVALID_ERROR_CODE, 0);
    }

    #[test]
    fn partial_delivery_before_error() {
        let mut got = Vec::new();
        let p: Payload = Arc::from(&br#"{"janus":"ack"}{"nojanus":1}{"janus":"pong"}"#[..]);
        let r = classify_each(&p, |m| got.push(m.kind));
        assert_eq!(r, Err(ProtocolError::MissingJanusField));
        assert_eq!(got, vec![Kind::Ack]);
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            "success",
            "error",
            "ack",
            "event",
            "pong",
            "server_info",
            "keepalive",
            "webrtcup",
            "media",
            "slowlink",
            "hangup",
            "detached",
            "ice-failed",
            "trickle",
            "timeout",
            "other",
        ] {
            assert_eq!(Kind::parse(k).as_str(), k);
        }
        assert_eq!(Kind::parse("timeout"), Kind::Timeout);
    }
}
