//! `Message`: one incoming Janus message, routing facts decoded in Rust, payload parsed on demand.
//!
//! Rule: nothing is converted to Python objects until a getter asks; `json()` parses the exact
//! byte slice of this message with `orjson.loads` (measured faster than building the dict from
//! Rust — see benches/test_core_micro.py).

use janus_proto::Message;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString};

static ORJSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn orjson_loads(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    Ok(ORJSON_LOADS
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("orjson")?.getattr("loads")?.unbind())
        })?
        .bind(py))
}

#[pyclass(module = "janus_fast._core", name = "Message", frozen)]
pub(crate) struct PyMessage {
    inner: Message,
}

impl From<Message> for PyMessage {
    fn from(inner: Message) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PyMessage {
    #[getter]
    fn janus(&self) -> &str {
        self.inner.kind.as_str()
    }

    #[getter]
    fn transaction(&self) -> Option<&str> {
        self.inner.transaction()
    }

    #[getter]
    fn session_id(&self) -> Option<u64> {
        self.inner.session_id
    }

    #[getter]
    fn sender(&self) -> Option<u64> {
        self.inner.sender
    }

    #[getter]
    fn error_code(&self) -> Option<i64> {
        self.inner.error.as_ref().map(|(code, _)| *code)
    }

    #[getter]
    fn error_reason(&self) -> Option<&str> {
        self.inner.error.as_ref().map(|(_, reason)| reason.as_str())
    }

    #[getter]
    fn plugin(&self) -> Option<&str> {
        self.inner.plugin()
    }

    #[getter]
    fn plugin_error_code(&self) -> Option<i64> {
        self.inner.plugin_error.as_ref().map(|(code, _)| *code)
    }

    #[getter]
    fn plugin_error(&self) -> Option<&str> {
        self.inner
            .plugin_error
            .as_ref()
            .map(|(_, text)| text.as_str())
    }

    #[getter]
    fn has_jsep(&self) -> bool {
        self.inner.has_jsep
    }

    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.bytes())
    }

    /// The whole message as Python objects (a new dict per call).
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        orjson_loads(py)?.call1((PyBytes::new(py, self.inner.bytes()),))
    }

    /// The whole message as Python objects, built in Rust (experiment; see the module docs).
    fn json_rust<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.inner.bytes())
    }

    fn __repr__(&self) -> String {
        format!(
            "<Message {} transaction={:?} session={:?} sender={:?}>",
            self.inner.kind.as_str(),
            self.inner.transaction(),
            self.inner.session_id,
            self.inner.sender
        )
    }
}

/// Parse `bytes` (one JSON value) straight into Python objects; anything this parser does not
/// take (invalid JSON, lone surrogates, deep nesting) goes to `orjson.loads`, so the result —
/// value or exception — is always orjson's.
fn to_python<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let mut parser = Parser { py, s: bytes, i: 0 };
    match parser.value(0) {
        Ok(value) => {
            parser.ws();
            if parser.i == bytes.len() {
                return Ok(value);
            }
        }
        Err(Fail::Python(err)) => return Err(err),
        Err(Fail::Syntax) => {}
    }
    orjson_loads(py)?.call1((PyBytes::new(py, bytes),))
}

enum Fail {
    Syntax,
    Python(PyErr),
}

impl From<PyErr> for Fail {
    fn from(err: PyErr) -> Self {
        Self::Python(err)
    }
}

const MAX_DEPTH: u32 = 256;

const KNOWN_KEYS: [&str; 16] = [
    "janus",
    "session_id",
    "transaction",
    "sender",
    "plugindata",
    "plugin",
    "data",
    "jsep",
    "type",
    "sdp",
    "error",
    "error_code",
    "code",
    "reason",
    "id",
    "room",
];

static KEY_CACHE: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

struct Parser<'a, 'py> {
    py: Python<'py>,
    s: &'a [u8],
    i: usize,
}

impl<'py> Parser<'_, 'py> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: u32) -> Result<Bound<'py, PyAny>, Fail> {
        self.ws();
        let py = self.py;
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(self.string()?.into_any()),
            Some(b't') => self.literal(b"true", PyBool::new(py, true).to_owned().into_any()),
            Some(b'f') => self.literal(b"false", PyBool::new(py, false).to_owned().into_any()),
            Some(b'n') => self.literal(b"null", py.None().into_bound(py)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Fail::Syntax),
        }
    }

    fn literal(
        &mut self,
        word: &[u8],
        value: Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyAny>, Fail> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(Fail::Syntax)
        }
    }

    fn object(&mut self, depth: u32) -> Result<Bound<'py, PyAny>, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::Syntax);
        }
        self.i += 1;
        let dict = PyDict::new(self.py);
        if self.eat(b'}') {
            return Ok(dict.into_any());
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(Fail::Syntax);
            }
            let key = match self.known_key() {
                Some(key) => key,
                None => self.string()?,
            };
            if !self.eat(b':') {
                return Err(Fail::Syntax);
            }
            let value = self.value(depth)?;
            dict.set_item(key, value)?;
            if self.eat(b',') {
                continue;
            }
            if self.eat(b'}') {
                return Ok(dict.into_any());
            }
            return Err(Fail::Syntax);
        }
    }

    fn array(&mut self, depth: u32) -> Result<Bound<'py, PyAny>, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::Syntax);
        }
        self.i += 1;
        let mut items = Vec::new();
        if !self.eat(b']') {
            loop {
                items.push(self.value(depth)?);
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b']') {
                    break;
                }
                return Err(Fail::Syntax);
            }
        }
        Ok(PyList::new(self.py, items)?.into_any())
    }

    /// A key Janus always sends, from a cache of interned strings (no allocation).
    fn known_key(&mut self) -> Option<Bound<'py, PyString>> {
        let rest = &self.s[self.i + 1..];
        let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
        if rest[end] != b'"' {
            return None;
        }
        let index = KNOWN_KEYS
            .iter()
            .position(|k| k.as_bytes() == &rest[..end])?;
        let keys = KEY_CACHE.get_or_init(self.py, || {
            KNOWN_KEYS
                .iter()
                .map(|k| PyString::intern(self.py, k).unbind())
                .collect()
        });
        self.i += end + 2;
        Some(keys[index].bind(self.py).clone())
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<Bound<'py, PyString>, Fail> {
        let start = self.i + 1;
        let rest = &self.s[start..];
        let n = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .ok_or(Fail::Syntax)?;
        if rest[n] == b'"' {
            let text = std::str::from_utf8(&rest[..n]).map_err(|_| Fail::Syntax)?;
            self.i = start + n + 1;
            return Ok(PyString::new(self.py, text));
        }
        let mut out: Vec<u8> = Vec::with_capacity(rest.len().min(n + 64));
        let mut j = start;
        loop {
            let run = self.s[j..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or(Fail::Syntax)?;
            out.extend_from_slice(&self.s[j..j + run]);
            j += run;
            match self.s[j] {
                b'"' => break,
                b'\\' => {
                    let esc = *self.s.get(j + 1).ok_or(Fail::Syntax)?;
                    j += 2;
                    let c = match esc {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let ch = self.unicode_escape(&mut j)?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            continue;
                        }
                        _ => return Err(Fail::Syntax),
                    };
                    out.push(c);
                }
                _ => return Err(Fail::Syntax),
            }
        }
        self.i = j + 1;
        let text = String::from_utf8(out).map_err(|_| Fail::Syntax)?;
        Ok(PyString::new(self.py, &text))
    }

    fn hex4(&self, at: usize) -> Result<u32, Fail> {
        let digits = self.s.get(at..at + 4).ok_or(Fail::Syntax)?;
        let text = std::str::from_utf8(digits).map_err(|_| Fail::Syntax)?;
        u32::from_str_radix(text, 16).map_err(|_| Fail::Syntax)
    }

    /// `\uXXXX` (after the `u`), with surrogate pairs; lone surrogates go to orjson.
    fn unicode_escape(&self, j: &mut usize) -> Result<char, Fail> {
        let hi = self.hex4(*j)?;
        *j += 4;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(*j..*j + 2) != Some(b"\\u") {
                return Err(Fail::Syntax);
            }
            let lo = self.hex4(*j + 2)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(Fail::Syntax);
            }
            *j += 6;
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or(Fail::Syntax)
    }

    fn number(&mut self) -> Result<Bound<'py, PyAny>, Fail> {
        let start = self.i;
        let s = self.s;
        let mut i = start;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let from = *i;
            while s.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if !digits(&mut i) {
            return Err(Fail::Syntax);
        }
        let mut float = false;
        if s.get(i) == Some(&b'.') {
            i += 1;
            float = true;
            if !digits(&mut i) {
                return Err(Fail::Syntax);
            }
        }
        if let Some(b'e' | b'E') = s.get(i) {
            i += 1;
            float = true;
            if let Some(b'+' | b'-') = s.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                return Err(Fail::Syntax);
            }
        }
        self.i = i;
        let text = std::str::from_utf8(&s[start..i]).map_err(|_| Fail::Syntax)?;
        let py = self.py;
        if float {
            let v: f64 = text.parse().map_err(|_| Fail::Syntax)?;
            return Ok(PyFloat::new(py, v).into_any());
        }
        if let Ok(v) = text.parse::<i64>() {
            let Ok(int) = v.into_pyobject(py);
            return Ok(int.into_any());
        }
        if let Ok(v) = text.parse::<u64>() {
            let Ok(int) = v.into_pyobject(py);
            return Ok(int.into_any());
        }
        Err(Fail::Syntax) // beyond 64 bits: orjson decides
    }
}
