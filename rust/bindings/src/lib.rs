//! `janus_fast._core`: the PyO3 wrapper around `janus_proto`. It converts types and maps errors only.
use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
