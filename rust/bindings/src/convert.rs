//! Conversions shared by the Python classes: errors, `Expect`, drained outputs.
//!
//! Rule: Python exception classes come from `janus_fast.errors` (Rust defines none); a drained
//! output becomes one `(kind, target, item)` tuple.

use janus_proto::{Expect, JanusCore, OutputRef, ProtocolError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple};

use crate::kinds;
use crate::message::PyMessage;

pub(crate) type Obj = Py<PyAny>;
pub(crate) type Core = JanusCore<Obj, Obj>;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = ERRORS_MODULE.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("janus_fast.errors")?.unbind())
    })?;
    module.bind(py).getattr(name)
}

/// Map a core error to `janus_fast.errors.ProtocolError` / `InvalidStateError` / `ValueError`.
pub(crate) fn to_pyerr(py: Python<'_>, error: &ProtocolError) -> PyErr {
    let name = match error {
        ProtocolError::InvalidState(_) => "InvalidStateError",
        ProtocolError::InvalidArgument(_) => return PyValueError::new_err(error.to_string()),
        _ => "ProtocolError",
    };
    match error_class(py, name).and_then(|cls| cls.call1((error.to_string(),))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

pub(crate) fn expect_from(value: u8) -> PyResult<Expect> {
    Ok(match value {
        0 => Expect::Success,
        1 => Expect::Ack,
        2 => Expect::Pong,
        3 => Expect::ServerInfo,
        4 => Expect::PluginMessage,
        5 => Expect::Stream,
        6 => Expect::AnyReply,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown Expect value {value}"
            )))
        }
    })
}

/// A deadline from Python: None or NaN means none.
pub(crate) fn deadline_from(value: Option<f64>) -> Option<f64> {
    value.filter(|d| !d.is_nan())
}

fn item<'py>(
    py: Python<'py>,
    kind: u8,
    target: Option<&Obj>,
    payload: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let target = match target {
        Some(obj) => obj.bind(py).clone(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(py, [kind.into_pyobject(py)?.into_any(), target, payload])
}

/// Every queued output of `core` as a list of `(kind, target, item)` tuples.
pub(crate) fn drain<'py>(py: Python<'py>, core: &mut Core) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    core.drain_output_with(|output| -> PyResult<()> {
        let entry = match output {
            OutputRef::Completion {
                waiter, message, ..
            } => {
                let kind = if message.error.is_some() {
                    kinds::COMPLETE_ERROR
                } else {
                    kinds::COMPLETE
                };
                let message = Bound::new(py, PyMessage::from(message))?.into_any();
                item(py, kind, Some(&waiter), message)?
            }
            OutputRef::StreamItem {
                waiter, message, ..
            } => {
                let message = Bound::new(py, PyMessage::from(message))?.into_any();
                item(py, kinds::STREAM_ITEM, Some(waiter), message)?
            }
            OutputRef::Event {
                target, message, ..
            } => {
                let message = Bound::new(py, PyMessage::from(message))?.into_any();
                item(py, kinds::EVENT, Some(target), message)?
            }
            OutputRef::Unroutable { message } => {
                let message = Bound::new(py, PyMessage::from(message))?.into_any();
                item(py, kinds::UNROUTED, None, message)?
            }
            OutputRef::Malformed { error } => {
                let text = error.to_string().into_pyobject(py)?.into_any();
                item(py, kinds::MALFORMED, None, text)?
            }
            OutputRef::Closed {
                code,
                reason,
                clean,
            } => {
                let details = (code, reason, clean).into_pyobject(py)?.into_any();
                item(py, kinds::CLOSED, None, details)?
            }
            OutputRef::Opened | OutputRef::StrayAck { .. } => return Ok(()),
        };
        list.append(entry)
    })?;
    Ok(list)
}
