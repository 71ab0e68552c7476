//! `Message`: one incoming Janus message, routing facts decoded in Rust, payload parsed on demand.
//!
//! Rule: nothing is converted to Python objects until a getter asks; `json()` parses the exact
//! byte slice of this message with `orjson.loads` (measured faster than building the dict from
//! Rust — see benches/test_core_micro.py).

use janus_proto::Message;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;

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
