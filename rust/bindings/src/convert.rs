//! Conversions shared by the Python classes: errors, `Expect`, drained outputs.
//!
//! Rule: Python exception classes come from `janus_fast.errors` (Rust defines none); a drained
//! output becomes one `(kind, target, item)` tuple, whose item is a lazy `Message` except for an
//! event, which is delivered as its dict (every event is decoded anyway).

use janus_proto::{Expect, JanusCore, OutputRef, ProtocolError, RequestOptions};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyTuple};

use crate::kinds;
use crate::message::{decode, PyMessage};
use crate::stream::{keep_drained, StreamState};

pub(crate) type Obj = Py<PyAny>;
pub(crate) type Core = JanusCore<Obj, Obj>;

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = ERRORS_MODULE.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("janus_fast.errors")?.unbind())
    })?;
    module.bind(py).getattr(name)
}

/// A `janus_fast.errors.ProtocolError` with `text`.
pub(crate) fn protocol_error(py: Python<'_>, text: &str) -> PyErr {
    match error_class(py, "ProtocolError").and_then(|cls| cls.call1((text,))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
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

/// The core's `Expect` for Python's `Expect.<NAME>` int (a row of [`crate::EXPECTS`]).
pub(crate) fn expect_from(value: u8) -> PyResult<Expect> {
    crate::EXPECTS
        .get(usize::from(value))
        .map(|&(_, expect)| expect)
        .ok_or_else(|| PyValueError::new_err(format!("unknown Expect value {value}")))
}

/// The core's options for a request the binding's caller describes. A NaN deadline is passed on
/// as is: the core treats it as none.
pub(crate) fn request_options(
    expect: u8,
    session_id: Option<u64>,
    handle_id: Option<u64>,
    ids_in_body: bool,
    deadline: Option<f64>,
    event_expected: bool,
) -> PyResult<RequestOptions> {
    Ok(RequestOptions {
        expect: expect_from(expect)?,
        session_id,
        handle_id,
        ids_in_body,
        deadline,
        with_credentials: true,
        event_expected,
    })
}

fn item<'py>(
    py: Python<'py>,
    kind: u8,
    target: Bound<'py, PyAny>,
    payload: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = kind.into_pyobject(py)?.into_any();
    Ok(PyTuple::new(py, [kind, target, payload])?.into_any())
}

fn message<'py>(py: Python<'py>, message: janus_proto::Message) -> PyResult<Bound<'py, PyAny>> {
    Ok(Bound::new(py, PyMessage::from(message))?.into_any())
}

/// An event's item: its dict, decoded here, because every event reaches a Python handler (no
/// lazy `Message` to allocate and call); the `Message` itself when orjson refuses the JSON the
/// core accepted, so that the reader logs and drops it as it does any undecodable event.
fn event<'py>(py: Python<'py>, message: janus_proto::Message) -> PyResult<Bound<'py, PyAny>> {
    match decode(py, message.bytes()) {
        Ok(decoded) => Ok(decoded),
        Err(err) if err.is_instance_of::<PyValueError>(py) => self::message(py, message),
        Err(err) => Err(err),
    }
}

/// One drained output: its kind (`kinds::*`), its target (a waiter, a route target, or None) and
/// its item.
pub(crate) type Entry<'py> = (u8, Bound<'py, PyAny>, Bound<'py, PyAny>);

/// Every queued output of `core`, in order (a stream's messages stay in the stream; only the
/// futures of the `get`s they wake come out, as completions with None).
pub(crate) fn drain_entries<'py>(py: Python<'py>, core: &mut Core) -> PyResult<Vec<Entry<'py>>> {
    let mut entries: Vec<Entry<'py>> = Vec::with_capacity(core.output_len());
    let none = || py.None().into_bound(py);
    core.drain_output_with(|output| -> PyResult<()> {
        let entry = match output {
            OutputRef::Completion {
                waiter, message: m, ..
            } => {
                let kind = if m.error.is_some() {
                    kinds::COMPLETE_ERROR
                } else {
                    kinds::COMPLETE
                };
                (kind, waiter.into_bound(py), message(py, m)?)
            }
            OutputRef::StreamItem {
                waiter, message: m, ..
            } => {
                let target = waiter.bind(py);
                if let Ok(state) = target.cast::<StreamState>() {
                    // Kept in the stream itself; only a woken `get` costs a Python call.
                    for future in keep_drained(state, m)? {
                        entries.push((kinds::COMPLETE, future.into_bound(py), none()));
                    }
                    return Ok(());
                }
                (kinds::STREAM_ITEM, target.clone(), message(py, m)?)
            }
            OutputRef::Event {
                target, message: m, ..
            } => (kinds::EVENT, target.bind(py).clone(), event(py, m)?),
            OutputRef::Unroutable { message: m } => (kinds::UNROUTED, none(), message(py, m)?),
            OutputRef::Malformed { error } => {
                let text = error.to_string().into_pyobject(py)?.into_any();
                (kinds::MALFORMED, none(), text)
            }
            OutputRef::Closed {
                code,
                reason,
                clean,
            } => {
                let details = (code, reason, clean).into_pyobject(py)?.into_any();
                (kinds::CLOSED, none(), details)
            }
            OutputRef::Opened | OutputRef::StrayAck { .. } => return Ok(()),
        };
        entries.push(entry);
        Ok(())
    })?;
    Ok(entries)
}

/// Every queued output of `core` as a list of `(kind, target, item)` tuples (built in one go: the
/// list is allocated at its final size).
pub(crate) fn drain<'py>(py: Python<'py>, core: &mut Core) -> PyResult<Bound<'py, PyList>> {
    let entries = drain_entries(py, core)?
        .into_iter()
        .map(|(kind, target, payload)| item(py, kind, target, payload))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, entries)
}

/// Give `future` its result `value`, unless it is done already (cancelled, or failed first).
pub(crate) fn complete(future: &Bound<'_, PyAny>, value: Bound<'_, PyAny>) -> PyResult<()> {
    let py = future.py();
    if !future.call_method0(intern!(py, "done"))?.is_truthy()? {
        future.call_method1(intern!(py, "set_result"), (value,))?;
    }
    Ok(())
}

/// Hand drained outputs to their owners, in order: a completion's future gets its result
/// (unless it is done already), an event goes to `target.deliver(item)`, a stream item to
/// `target.put_msg(item)`; every other kind (an error reply, unrouted, malformed, closed) to
/// `other(kind, target, item)`. The first call that raises stops it (the rest are dropped, as
/// an exception in a Python loop over `drain()` would).
pub(crate) fn deliver_entries(
    py: Python<'_>,
    entries: Vec<Entry<'_>>,
    other: &Bound<'_, PyAny>,
) -> PyResult<()> {
    for (kind, target, payload) in entries {
        match kind {
            kinds::COMPLETE => complete(&target, payload)?,
            kinds::EVENT => {
                target.call_method1(intern!(py, "deliver"), (payload,))?;
            }
            kinds::STREAM_ITEM => {
                target.call_method1(intern!(py, "put_msg"), (payload,))?;
            }
            _ => {
                other.call1((kind, target, payload))?;
            }
        }
    }
    Ok(())
}
