//! Borrowed, tolerant deserialisation of the Janus routing fields (used by `message`).
//!
//! Rule: visit the object once, decode only the routing keys (borrowing strings from the input when
//! they have no escapes) and skip every other value with `IgnoredAny`; a routing key whose value has
//! an unexpected type reads as absent instead of failing the message. Last duplicate key wins.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// Visitor methods that turn every non-object value into `Default::default()`.
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
        fn visit_seq<A: SeqAccess<$de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
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

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
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
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

fn string(s: Scalar<'_>) -> Option<Cow<'_, str>> {
    match s {
        Scalar::Str(s) => Some(s),
        _ => None,
    }
}

/// `{"code": N, "reason": "..."}` (also used for plugindata.data's `error_code`/`error`).
#[derive(Default)]
struct CodeReason<'a>(Option<(i64, Cow<'a, str>)>);

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
    pub(super) error: Option<(i64, Cow<'a, str>)>,
    pub(super) plugin: Option<Cow<'a, str>>,
    pub(super) plugin_error: Option<(i64, Cow<'a, str>)>,
    pub(super) has_jsep: bool,
}

/// Visits `{code, reason}` (`data == false`) or plugindata's `{error_code, error}` (`data == true`).
struct CodeReasonVisitor {
    data: bool,
}

impl<'de> Visitor<'de> for CodeReasonVisitor {
    type Value = CodeReason<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    non_object_is_default!('de);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut code, mut reason) = (None, None);
        while let Some(key) = map.next_key::<Key>()? {
            match (key, self.data) {
                (Key::Code, false) | (Key::ErrorCode, true) => {
                    code = map.next_value::<Scalar<'de>>()?.into_i64();
                }
                (Key::Reason, false) | (Key::Error, true) => {
                    reason = string(map.next_value::<Scalar<'de>>()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(CodeReason(
            code.map(|c| (c, reason.unwrap_or(Cow::Borrowed("")))),
        ))
    }
}

struct CodeReasonSeed {
    data: bool,
}

impl<'de> de::DeserializeSeed<'de> for CodeReasonSeed {
    type Value = CodeReason<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(CodeReasonVisitor { data: self.data })
    }
}

impl<'de> Deserialize<'de> for PluginData<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PluginData<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            non_object_is_default!('de);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pd = PluginData::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Plugin => pd.plugin = string(map.next_value()?),
                        Key::Data => {
                            pd.error = map.next_value_seed(CodeReasonSeed { data: true })?.0
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(pd)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Janus message object")
            }
            non_object_is_default!('de);
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = Fields {
                    is_object: true,
                    ..Fields::default()
                };
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Janus => m.janus = string(map.next_value()?),
                        Key::Transaction => m.transaction = string(map.next_value()?),
                        Key::SessionId => {
                            m.session_id = map.next_value::<Scalar<'de>>()?.into_u64()
                        }
                        Key::Sender => m.sender = map.next_value::<Scalar<'de>>()?.into_u64(),
                        Key::Error => {
                            m.error = map.next_value_seed(CodeReasonSeed { data: false })?.0
                        }
                        Key::PluginData => {
                            let pd: PluginData<'de> = map.next_value()?;
                            m.plugin = pd.plugin;
                            m.plugin_error = pd.error;
                        }
                        Key::Jsep => m.has_jsep = !matches!(map.next_value()?, Scalar::Null),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(m)
            }
        }
        d.deserialize_any(V)
    }
}
