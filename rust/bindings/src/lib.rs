//! `janus_fast._core`: the PyO3 wrapper around `janus_proto`.
//!
//! Rule: this crate converts types and maps errors, nothing else. All protocol logic (frames,
//! completion rules, routing) lives in `janus_proto` and is tested there. Waiters and route
//! targets are opaque Python objects, handed back exactly as they were given.

mod connection;
mod convert;
mod core;
mod http;
mod message;

use pyo3::prelude::*;

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

/// How a request completes (Janus 1.1.2's rules); plain ints for speed.
#[pyclass(module = "janus_fast._core", frozen)]
struct Expect;

#[allow(non_snake_case)]
#[pymethods]
impl Expect {
    #[classattr]
    fn SUCCESS() -> u8 {
        0
    }
    #[classattr]
    fn ACK() -> u8 {
        1
    }
    #[classattr]
    fn PONG() -> u8 {
        2
    }
    #[classattr]
    fn SERVER_INFO() -> u8 {
        3
    }
    #[classattr]
    fn PLUGIN_MESSAGE() -> u8 {
        4
    }
    #[classattr]
    fn STREAM() -> u8 {
        5
    }
    #[classattr]
    fn ANY() -> u8 {
        6
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("COMPLETE", kinds::COMPLETE)?;
    m.add("COMPLETE_ERROR", kinds::COMPLETE_ERROR)?;
    m.add("STREAM_ITEM", kinds::STREAM_ITEM)?;
    m.add("EVENT", kinds::EVENT)?;
    m.add("UNROUTED", kinds::UNROUTED)?;
    m.add("MALFORMED", kinds::MALFORMED)?;
    m.add("CLOSED", kinds::CLOSED)?;
    m.add_class::<Expect>()?;
    m.add_class::<message::PyMessage>()?;
    m.add_class::<core::PyJanusCore>()?;
    m.add_class::<connection::PyWebSocketConnection>()?;
    m.add_class::<http::PyHttpRequestWriter>()?;
    m.add_class::<http::PyHttpResponseReader>()?;
    Ok(())
}
