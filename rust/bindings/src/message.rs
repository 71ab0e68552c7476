//! `Message`: one incoming Janus message, routing facts decoded in Rust, payload parsed on demand.
//!
//! Rule: nothing is converted to Python objects until a getter asks; `json()` parses the exact
//! byte slice of this message with `orjson.loads`, at every size.
//!
//! ## The JSON-conversion decision (design principle 4), measured
//! The alternative — a borrowed, single-pass parser in this file building the dicts/lists/strings
//! directly through PyO3, with the common Janus keys served from a cache of interned strings,
//! falling back to orjson for anything unusual — was benchmarked as `Message.json_rust()` against
//! `json()` on captured Janus 1.1.2 messages (benches/test_core_micro.py, pytest-benchmark,
//! release build, CPython 3.11, orjson 3.11; min / median per call):
//!
//! | message (indented JSON)         | orjson.loads      | built in Rust     | faster       |
//! |---------------------------------|-------------------|-------------------|--------------|
//! | keepalive ack, 91 B             | 225 / 235 ns      | 190 / 199 ns      | Rust 1.18x   |
//! | create success, 105 B           | 269 / 283 ns      | 229 / 240 ns      | Rust 1.18x   |
//! | attach success, 140 B           | 311 / 325 ns      | 273 / 294 ns      | Rust 1.10x   |
//! | echotest event, 263 B           | 476 / 498 ns      | 511 / 537 ns      | orjson 1.08x |
//! | videoroom joined event, 396 B   | 658 / 694 ns      | 758 / 798 ns      | orjson 1.15x |
//! | videoroom list success, 2.0 KB  | 1.98 / 2.05 us    | 3.67 / 3.88 us    | orjson 1.89x |
//! | echotest event + JSEP, 2.9 KB   | 1.30 / 1.36 us    | 2.25 / 2.33 us    | orjson 1.71x |
//!
//! (Without the interned-key cache the Rust builder lost everywhere, 1.15x on the ack.) The
//! crossover is near 200 bytes: Rust saves 30-45 ns on replies under ~150 B, orjson saves
//! 40 ns to 1 us on every event and plugin payload, which is what users convert. Dispatching by
//! size would keep a second JSON parser (and its edge cases: big integers, lone surrogates) for
//! at most 45 ns on a create/attach reply that costs a network round trip, so `json()` stays
//! orjson-only and the experiment was removed (it is in the git history of this file).

use janus_proto::Message;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;

static ORJSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ORJSON_DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `orjson.<name>`, looked up once into `cell`.
fn orjson_function<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("orjson")?.getattr(name)?.unbind())
        })?
        .bind(py))
}

/// `orjson.loads`, looked up once.
pub(crate) fn orjson_loads(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    orjson_function(py, &ORJSON_LOADS, "loads")
}

/// `orjson.dumps`, looked up once.
pub(crate) fn orjson_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    orjson_function(py, &ORJSON_DUMPS, "dumps")
}

/// A message's JSON bytes as Python objects, through orjson (its errors as they are: each caller
/// says what an undecodable message means for it).
pub(crate) fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    orjson_loads(py)?.call1((PyBytes::new(py, bytes),))
}

#[pyclass(module = "janus_fast._core", name = "Message", frozen)]
pub(crate) struct PyMessage {
    inner: Message,
}

impl PyMessage {
    /// The `janus` type.
    pub(crate) fn kind(&self) -> &janus_proto::Kind {
        &self.inner.kind
    }

    /// This message's own JSON bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.inner.bytes()
    }
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

    /// The whole message as Python objects (a new dict per call). The core classifies only JSON
    /// that orjson decodes; should they ever disagree, the caller gets `ProtocolError`, never
    /// orjson's own exception.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decode(py, self.inner.bytes()).map_err(|err| {
            if err.is_instance_of::<PyValueError>(py) {
                let why = format!("Janus sent JSON that cannot be decoded: {}", err.value(py));
                let error = crate::convert::protocol_error(py, &why);
                error.set_cause(py, Some(err));
                error
            } else {
                err
            }
        })
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
