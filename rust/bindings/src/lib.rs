//! `janus_fast._core`: the PyO3 wrapper around `janus_proto`.
//!
//! Rule: this crate converts types and maps errors, nothing else. All protocol logic (frames,
//! completion rules, routing) lives in `janus_proto` and is tested there. Waiters and route
//! targets are opaque Python objects, handed back exactly as they were given.

mod connection;
mod convert;
mod core;
mod gil_cell;
mod http;
mod message;
mod stream;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// Kinds of the `(kind, target, item)` tuples returned by `drain()`.
pub(crate) mod kinds {
    pub const COMPLETE: u8 = 0;
    pub const COMPLETE_ERROR: u8 = 1;
    pub const STREAM_ITEM: u8 = 2;
    pub const EVENT: u8 = 3;
    pub const UNROUTED: u8 = 4;
    pub const MALFORMED: u8 = 5;
    pub const CLOSED: u8 = 6;
}

/// How a request completes (Janus 1.1.2's rules), the one table both directions use: Python's
/// `Expect.<NAME>` is the row's index (a plain int, for speed) and `convert::expect_from` maps an
/// int back through the same row.
pub(crate) const EXPECTS: [(&str, janus_proto::Expect); 7] = {
    use janus_proto::Expect::*;
    [
        ("SUCCESS", Success),
        ("ACK", Ack),
        ("PONG", Pong),
        ("SERVER_INFO", ServerInfo),
        ("PLUGIN_MESSAGE", PluginMessage),
        ("STREAM", Stream),
        ("ANY", AnyReply),
    ]
};

/// The class `Expect`: a plain namespace of ints built from [`EXPECTS`].
fn expect_class<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "janus_fast._core")?;
    namespace.set_item("__doc__", "How a request completes (Janus 1.1.2's rules).")?;
    for (value, (name, _)) in EXPECTS.iter().enumerate() {
        namespace.set_item(*name, value)?;
    }
    let builtins = py.import("builtins")?;
    builtins
        .getattr("type")?
        .call1(("Expect", PyTuple::empty(py), namespace))
}

/// `gil_used = true`: the stream classes keep their state in a `GilCell`, which relies on the
/// GIL; a free-threaded CPython therefore keeps the GIL enabled while this module is loaded.
#[pymodule(gil_used = true)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("COMPLETE", kinds::COMPLETE)?;
    m.add("COMPLETE_ERROR", kinds::COMPLETE_ERROR)?;
    m.add("STREAM_ITEM", kinds::STREAM_ITEM)?;
    m.add("EVENT", kinds::EVENT)?;
    m.add("UNROUTED", kinds::UNROUTED)?;
    m.add("MALFORMED", kinds::MALFORMED)?;
    m.add("CLOSED", kinds::CLOSED)?;
    m.add("Expect", expect_class(m.py())?)?;
    m.add_class::<message::PyMessage>()?;
    m.add_class::<core::PyJanusCore>()?;
    m.add_class::<connection::PyWebSocketConnection>()?;
    m.add_class::<http::PyHttpRequestWriter>()?;
    m.add_class::<http::PyHttpResponseReader>()?;
    stream::add(m)?;
    Ok(())
}
