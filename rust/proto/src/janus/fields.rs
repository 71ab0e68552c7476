//! Borrowed, tolerant deserialisation of the Janus routing fields (used by `message`).
//!
//! Rule: visit the object once, decode only the routing keys (borrowing strings from the input when
//! they have no escapes) and check every other value without building it ([`Checked`]; `jsep`,
//! whose SDP is full of escapes, is captured and checked in place, [`check_raw`]); a routing
//! key whose value has an unexpected type reads as absent instead of failing the message. Last
//! duplicate key wins. The same pass enforces what `orjson.loads` (which `Message.json()` uses)
//! rejects beyond JSON syntax, so a message that classifies always decodes: a string with a lone
//! or misordered UTF-16 surrogate escape, a number that rounds to an infinite `f64`, and more than
//! [`MAX_DEPTH`] arrays/objects open at once. The deserializer must run with serde_json's own
//! recursion limit (128) disabled: [`Checked`] counts depth instead.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Most arrays/objects open at once that `orjson.loads` accepts (1025 fail).
pub(super) const MAX_DEPTH: usize = 1024;

/// The error text for input nested deeper than [`MAX_DEPTH`].
pub(super) const TOO_DEEP: &str = "arrays/objects nested deeper than 1024 levels";

/// Checks one value it does not keep: strings are parsed with surrogate validation, numbers are
/// parsed (an infinite `f64` fails in serde_json), containers recurse with `depth` (the number of
/// arrays/objects enclosing the value) counted against [`MAX_DEPTH`].
#[derive(Clone, Copy)]
struct Checked {
    depth: usize,
}

fn enter<E: de::Error>(depth: usize) -> Result<usize, E> {
    if depth >= MAX_DEPTH {
        Err(E::custom(TOO_DEEP))
    } else {
        Ok(depth + 1)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(depth: usize, mut seq: A) -> Result<(), A::Error> {
    let inner = Checked {
        depth: enter(depth)?,
    };
    while seq.next_element_seed(inner)?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(depth: usize, mut map: A) -> Result<(), A::Error> {
    let inner = Checked {
        depth: enter(depth)?,
    };
    while map.next_key_seed(inner)?.is_some() {
        map.next_value_seed(inner)?;
    }
    Ok(())
}

/// Skip the value of a key this visitor does not decode (`depth`: that of the value).
fn skip_value<'de, A: MapAccess<'de>>(map: &mut A, depth: usize) -> Result<(), A::Error> {
    map.next_value_seed(Checked { depth })
}

/// Skip a value that is mostly one long string with escapes (`jsep`: its SDP has two per line),
/// returning its text: serde_json checks its grammar while capturing it (no copy of its strings,
/// which [`Checked`] would decode into a buffer), then [`check_raw`] applies orjson's further
/// rules to the captured text in place.
fn skip_raw<'de, A: MapAccess<'de>>(map: &mut A, depth: usize) -> Result<&'de str, A::Error> {
    let raw: &'de RawValue = map.next_value()?;
    let text = raw.get();
    check_raw(text.as_bytes(), depth).map_err(de::Error::custom)?;
    Ok(text)
}

/// serde_json's texts for the surrogate faults its own string parser reports.
const LONE_SURROGATE: &str = "lone leading surrogate in hex escape";
const END_OF_ESCAPE: &str = "unexpected end of hex escape";
/// serde_json's text for a number beyond `f64`.
const OUT_OF_RANGE: &str = "number out of range";

/// Apply, without copying anything, what `orjson.loads` rejects beyond the JSON grammar to
/// `text`, one value serde_json already found grammatical at `depth` (the arrays/objects
/// enclosing it): arrays/objects nested deeper than [`MAX_DEPTH`], a string (key or value) with
/// a lone or misordered UTF-16 surrogate escape, a number that rounds to an infinite `f64`. The
/// faults read as serde_json's own texts for them.
fn check_raw(text: &[u8], depth: usize) -> Result<(), &'static str> {
    // Without a `\u` anywhere (one vectorised search), no string needs decoding at all.
    let escapes = memchr::memmem::find(text, b"\\u").is_some();
    let mut depth = depth;
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        match byte {
            b'"' => i = check_string(text, i + 1, escapes)?,
            b'[' | b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(TOO_DEEP);
                }
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let end = text[i..]
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .map_or(text.len(), |n| i + n);
                check_number(&text[i..end])?;
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Check the string whose text starts at `start` (after its opening quote); returns the index
/// after its closing quote. `escapes`: the text has `\u` escapes somewhere (else the string is
/// only jumped over, quote to quote). Only `\u` escapes are decoded (four hex digits, in place).
fn check_string(text: &[u8], start: usize, escapes: bool) -> Result<usize, &'static str> {
    let mut i = start;
    if !escapes {
        // The next quote not escaped by an odd run of backslashes ends the string.
        while let Some(at) = memchr::memchr(b'"', &text[i..]) {
            let at = i + at;
            let backslashes = text[start..at]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if backslashes % 2 == 0 {
                return Ok(at + 1);
            }
            i = at + 1;
        }
        return Ok(text.len()); // not reached: serde_json checked the grammar
    }
    loop {
        let Some(at) = memchr::memchr2(b'"', b'\\', &text[i..]) else {
            return Ok(text.len()); // not reached: serde_json checked the grammar
        };
        let at = i + at;
        if text[at] == b'"' {
            return Ok(at + 1);
        }
        if text.get(at + 1) != Some(&b'u') {
            i = at + 2; // a one-character escape
            continue;
        }
        let unit = hex4(text, at + 2);
        i = at + 6;
        if (0xDC00..=0xDFFF).contains(&unit) {
            return Err(LONE_SURROGATE); // a trailing surrogate first
        }
        if !(0xD800..=0xDBFF).contains(&unit) {
            continue;
        }
        // A leading surrogate: a trailing one must follow at once.
        if text.get(i) != Some(&b'\\') || text.get(i + 1) != Some(&b'u') {
            return Err(END_OF_ESCAPE);
        }
        if !(0xDC00..=0xDFFF).contains(&hex4(text, i + 2)) {
            return Err(LONE_SURROGATE);
        }
        i += 6;
    }
}

/// The four hex digits at `at` (serde_json checked they are hex digits); 0 if cut short.
fn hex4(text: &[u8], at: usize) -> u32 {
    text.get(at..at + 4).map_or(0, |digits| {
        digits.iter().fold(0, |n, &d| {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => 0,
            };
            n << 4 | u32::from(v)
        })
    })
}

/// A number serde_json would hold: an integer within `i64`/`u64`, or else one whose `f64`
/// (correctly rounded, as serde_json's `float_roundtrip` parse) is finite.
fn check_number(number: &[u8]) -> Result<(), &'static str> {
    let integer = !number.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
    if integer && number.len() <= 18 {
        return Ok(()); // at most 18 characters: always within i64
    }
    let text = std::str::from_utf8(number).map_err(|_| OUT_OF_RANGE)?;
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(()),
        _ => Err(OUT_OF_RANGE),
    }
}

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        skip_seq(self.depth, seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        skip_map(self.depth, map)
    }
}

enum Key {
    Janus,
    Transaction,
    SessionId,
    Sender,
    Error,
    PluginData,
    Jsep,
    Code,
    Reason,
    Plugin,
    Data,
    ErrorCode,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "janus" => Key::Janus,
                    "transaction" => Key::Transaction,
                    "session_id" => Key::SessionId,
                    "sender" => Key::Sender,
                    "error" => Key::Error,
                    "plugindata" => Key::PluginData,
                    "jsep" => Key::Jsep,
                    "code" => Key::Code,
                    "reason" => Key::Reason,
                    "plugin" => Key::Plugin,
                    "data" => Key::Data,
                    "error_code" => Key::ErrorCode,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Visitor methods that turn every non-object value into `Default::default()` (the visitor has a
/// `depth` field: the arrays/objects enclosing the value it visits).
macro_rules! non_object_is_default {
    ($de:lifetime) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<$de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(self.depth, seq)?;
            Ok(Default::default())
        }
    };
}

/// Any JSON value, keeping only strings and integers.
enum Scalar<'a> {
    Str(Cow<'a, str>),
    Int(i128),
    Null,
    Other,
}

impl Scalar<'_> {
    fn into_u64(self) -> Option<u64> {
        match self {
            Scalar::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    fn into_i64(self) -> Option<i64> {
        match self {
            Scalar::Int(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }
}

/// Reads a [`Scalar`] at `depth` (the arrays/objects enclosing it).
#[derive(Clone, Copy)]
struct ScalarAt {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ScalarAt {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarAt {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(i128::from(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(i128::from(v)))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(self.depth, seq)?;
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(self.depth, map)?;
        Ok(Scalar::Other)
    }
}

fn string(s: Scalar<'_>) -> Option<Cow<'_, str>> {
    match s {
        Scalar::Str(s) => Some(s),
        _ => None,
    }
}

/// `{"code": N, "reason": "..."}` (also used for plugindata.data's `error_code`/`error`): the code
/// if it is an integer, the reason if it is a string.
#[derive(Default)]
struct CodeReason<'a> {
    code: Option<i64>,
    reason: Option<Cow<'a, str>>,
}

/// `plugindata`: `plugin` and the error inside `data`.
#[derive(Default)]
struct PluginData<'a> {
    plugin: Option<Cow<'a, str>>,
    error: Option<(i64, Cow<'a, str>)>,
}

/// The routing facts of one object; `is_object` is false when the value was not an object.
#[derive(Default)]
pub(super) struct Fields<'a> {
    pub(super) is_object: bool,
    pub(super) janus: Option<Cow<'a, str>>,
    pub(super) transaction: Option<Cow<'a, str>>,
    pub(super) session_id: Option<u64>,
    pub(super) sender: Option<u64>,
    /// `error.code`, when `error` is an object with an integer `code`.
    pub(super) error_code: Option<i64>,
    /// `error.reason`, when a string.
    pub(super) error_reason: Option<Cow<'a, str>>,
    pub(super) plugin: Option<Cow<'a, str>>,
    pub(super) plugin_error: Option<(i64, Cow<'a, str>)>,
    pub(super) has_jsep: bool,
}

/// Visits `{code, reason}` (`data == false`) or plugindata's `{error_code, error}` (`data == true`)
/// at `depth` (the arrays/objects enclosing it).
#[derive(Clone, Copy)]
struct CodeReasonVisitor {
    data: bool,
    depth: usize,
}

impl<'de> Visitor<'de> for CodeReasonVisitor {
    type Value = CodeReason<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    non_object_is_default!('de);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = enter(self.depth)?;
        let at = ScalarAt { depth: inner };
        let mut out = CodeReason::default();
        while let Some(key) = map.next_key::<Key>()? {
            match (key, self.data) {
                (Key::Code, false) | (Key::ErrorCode, true) => {
                    out.code = map.next_value_seed(at)?.into_i64();
                }
                (Key::Reason, false) | (Key::Error, true) => {
                    out.reason = string(map.next_value_seed(at)?);
                }
                _ => skip_value(&mut map, inner)?,
            }
        }
        Ok(out)
    }
}

impl<'de> DeserializeSeed<'de> for CodeReasonVisitor {
    type Value = CodeReason<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Visits `plugindata` at `depth`.
#[derive(Clone, Copy)]
struct PluginDataVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for PluginDataVisitor {
    type Value = PluginData<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    non_object_is_default!('de);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = enter(self.depth)?;
        let mut pd = PluginData::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Plugin => pd.plugin = string(map.next_value_seed(ScalarAt { depth: inner })?),
                Key::Data => {
                    let data = map.next_value_seed(CodeReasonVisitor {
                        data: true,
                        depth: inner,
                    })?;
                    pd.error = data
                        .code
                        .map(|c| (c, data.reason.unwrap_or(Cow::Borrowed(""))));
                }
                _ => skip_value(&mut map, inner)?,
            }
        }
        Ok(pd)
    }
}

impl<'de> DeserializeSeed<'de> for PluginDataVisitor {
    type Value = PluginData<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Visits one top-level value (depth 0: nothing encloses it).
struct FieldsVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Janus message object")
    }
    non_object_is_default!('de);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let inner = enter(self.depth)?;
        let at = ScalarAt { depth: inner };
        let mut m = Fields {
            is_object: true,
            ..Fields::default()
        };
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Janus => m.janus = string(map.next_value_seed(at)?),
                Key::Transaction => m.transaction = string(map.next_value_seed(at)?),
                Key::SessionId => m.session_id = map.next_value_seed(at)?.into_u64(),
                Key::Sender => m.sender = map.next_value_seed(at)?.into_u64(),
                Key::Error => {
                    let error = map.next_value_seed(CodeReasonVisitor {
                        data: false,
                        depth: inner,
                    })?;
                    (m.error_code, m.error_reason) = (error.code, error.reason);
                }
                Key::PluginData => {
                    let pd = map.next_value_seed(PluginDataVisitor { depth: inner })?;
                    m.plugin = pd.plugin;
                    m.plugin_error = pd.error;
                }
                Key::Jsep => m.has_jsep = skip_raw(&mut map, inner)? != "null",
                _ => skip_value(&mut map, inner)?,
            }
        }
        Ok(m)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldsVisitor { depth: 0 })
    }
}
