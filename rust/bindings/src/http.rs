//! `HttpRequestWriter` and `HttpResponseReader` for Python: the HTTP transport's wire codec.
//!
//! Rule: one call per request written and one per socket read; a response crosses as a
//! `(status, body, keep_alive)` tuple. Python owns the sockets and the connection pool.

use janus_proto::http::{RequestWriter, Response, ResponseReader};
use janus_proto::ProtocolError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::convert::to_pyerr;

#[pyclass(module = "janus_fast._core", name = "HttpRequestWriter", frozen)]
pub(crate) struct PyHttpRequestWriter {
    writer: RequestWriter,
}

impl PyHttpRequestWriter {
    fn write<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let mut out = Vec::new();
        self.writer
            .write(&mut out, method, target, body)
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(PyBytes::new(py, &out))
    }
}

#[pymethods]
impl PyHttpRequestWriter {
    #[new]
    #[pyo3(signature = (host, extra_headers=Vec::new()))]
    fn new(py: Python<'_>, host: &str, extra_headers: Vec<(String, String)>) -> PyResult<Self> {
        let writer = RequestWriter::new(host, &extra_headers).map_err(|e| to_pyerr(py, &e))?;
        Ok(Self { writer })
    }

    /// `POST target` with a JSON body.
    fn post<'py>(
        &self,
        py: Python<'py>,
        target: &str,
        body: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.write(py, "POST", target, Some(body))
    }

    /// `GET target` (no body).
    fn get<'py>(&self, py: Python<'py>, target: &str) -> PyResult<Bound<'py, PyBytes>> {
        self.write(py, "GET", target, None)
    }
}

#[pyclass(module = "janus_fast._core", name = "HttpResponseReader")]
pub(crate) struct PyHttpResponseReader {
    reader: ResponseReader,
}

fn response_tuple<'py>(
    py: Python<'py>,
    response: Option<Response>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    response
        .map(|r| (r.status, PyBytes::new(py, &r.body), r.keep_alive).into_pyobject(py))
        .transpose()
}

#[pymethods]
impl PyHttpResponseReader {
    #[new]
    #[pyo3(signature = (max_body_size=1 << 24))]
    fn new(max_body_size: usize) -> Self {
        Self {
            reader: ResponseReader::new(max_body_size),
        }
    }

    /// Feed bytes read from the socket; returns `(status, body, keep_alive)` once a response
    /// is complete. Raises ProtocolError for bytes that are not a valid HTTP/1.1 response.
    fn receive_data<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let response = self
            .reader
            .receive_data(data)
            .map_err(|e| to_pyerr(py, &ProtocolError::from(e)))?;
        response_tuple(py, response)
    }

    /// The peer closed: completes a body framed by the end of the connection; raises
    /// ProtocolError if a response was cut short.
    fn receive_eof<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let response = self
            .reader
            .receive_eof()
            .map_err(|e| to_pyerr(py, &ProtocolError::from(e)))?;
        response_tuple(py, response)
    }

    /// Bytes received beyond the last response returned.
    #[getter]
    fn buffered(&self) -> usize {
        self.reader.buffered()
    }

    /// True between responses.
    #[getter]
    fn idle(&self) -> bool {
        self.reader.is_idle()
    }
}
