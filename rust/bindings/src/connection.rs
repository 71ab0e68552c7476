//! `WebSocketConnection` for Python: one RFC 6455 client connection composed with a `JanusCore`.
//!
//! Rule: one call per socket read (`receive_data`), one drain of outputs, one `data_to_send` per
//! flush (coalesced frames where the server accepts them). Python owns the socket, the clock and
//! the tasks.

use janus_proto::{EventStream, Expect, JanusCoreConfig, WsConfig, WsJanusConnection, WsState};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use pyo3::{PyTraverseError, PyVisit};

use crate::convert::{expect_from, request_options, to_pyerr, Obj};
use crate::core::shared_core_methods;
use crate::message::orjson_dumps;

#[pyclass(module = "janus_fast._core", name = "WebSocketConnection")]
pub(crate) struct PyWebSocketConnection {
    conn: WsJanusConnection<Obj, Obj>,
    /// The deadline the transport's timer is armed for (None: no timer), set by Python.
    timer_at: Option<f64>,
    /// How a flush is scheduled: the loop's `call_soon` and the transport's flush callback.
    flush_hook: Option<(Obj, Obj)>,
    /// A flush is scheduled and has not run yet (requests queued since ride along).
    flush_scheduled: bool,
    /// The dense-event-stream estimate of the receive batching (`read_watermark`).
    events: EventStream,
}

#[pymethods]
impl PyWebSocketConnection {
    #[new]
    #[pyo3(signature = (
        host, path, *, subprotocol="janus-protocol", apisecret=None, token=None,
        max_message_size=WsConfig::DEFAULT_MAX_MESSAGE_SIZE, coalesce=true,
        coalesce_max_bytes=65536, extra_headers=Vec::new(), seed
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: &str,
        path: &str,
        subprotocol: &str,
        apisecret: Option<String>,
        token: Option<String>,
        max_message_size: usize,
        coalesce: bool,
        coalesce_max_bytes: usize,
        extra_headers: Vec<(String, String)>,
        seed: &[u8],
    ) -> PyResult<Self> {
        let mut ws = WsConfig::new(host, path, subprotocol);
        ws.extra_headers = extra_headers;
        ws.max_message_size = max_message_size;
        let janus = JanusCoreConfig {
            apisecret,
            token,
            coalesce,
            coalesce_max_bytes,
        };
        let conn = WsJanusConnection::new(ws, janus, seed).map_err(|e| to_pyerr(py, &e))?;
        Ok(Self {
            conn,
            timer_at: None,
            flush_hook: None,
            flush_scheduled: false,
            events: EventStream::new(),
        })
    }

    /// "connecting", "open", "closing" or "closed".
    #[getter]
    fn state(&self) -> &'static str {
        match self.conn.state() {
            WsState::Connecting => "connecting",
            WsState::Open => "open",
            WsState::Closing => "closing",
            WsState::Closed => "closed",
        }
    }

    /// Start a new handshake for a new socket; transactions and routes are kept.
    fn reset(&mut self, py: Python<'_>, seed: &[u8]) -> PyResult<()> {
        self.conn.reset(seed).map_err(|e| to_pyerr(py, &e))
    }

    /// Feed bytes read from the socket. Raises ProtocolError when the peer broke the WebSocket
    /// protocol (the close frame to send is queued); Janus-level garbage becomes MALFORMED items.
    fn receive_data(&mut self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        self.conn.receive_data(data).map_err(|e| to_pyerr(py, &e))
    }

    fn receive_eof(&mut self) {
        self.conn.receive_eof();
    }

    /// Everything to write: coalesced request frames, pongs, close frames.
    fn data_to_send<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.conn.with_data_to_send(|data| PyBytes::new(py, data))
    }

    #[pyo3(signature = (code=1000, reason=""))]
    fn close(&mut self, py: Python<'_>, code: u16, reason: &str) -> PyResult<()> {
        self.conn.close(code, reason).map_err(|e| to_pyerr(py, &e))
    }

    /// Queue a WebSocket ping (liveness check).
    #[pyo3(signature = (payload=b"".as_slice()))]
    fn ping(&mut self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        self.conn
            .ws_mut()
            .send_ping(payload)
            .map_err(|e| to_pyerr(py, &e))
    }

    #[getter]
    fn pongs_received(&self) -> u64 {
        self.conn.ws().stats().pongs
    }

    /// Whether requests queued now may share a frame: only once this socket's `info` probe said
    /// Janus >= 1.1.2, never after a multi-request frame was rejected, never with
    /// `coalesce=False`. Setting it says whether the server accepts such frames (until `reset`).
    #[getter]
    fn coalesce(&self) -> bool {
        self.conn.framer().coalescing()
    }

    #[setter]
    fn set_coalesce(&mut self, accepts: bool) {
        self.conn.set_server_accepts(accepts);
    }

    /// The `version` from this socket's `info` probe (e.g. 1102), once answered.
    #[getter]
    fn server_version(&self) -> Option<u64> {
        self.conn.framer().server_version()
    }

    /// The `server_info` reply to this socket's `info` probe (JSON bytes), once answered.
    #[getter]
    fn server_info<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.conn
            .framer()
            .server_info()
            .map(|info| PyBytes::new(py, info))
    }

    /// Multi-request frames the server rejected, sent again one request per frame.
    #[getter]
    fn frames_resent(&self) -> u64 {
        self.conn.framer().frames_resent()
    }

    /// Register `waiter` and queue the request (coalesced); returns the transaction.
    #[pyo3(signature = (
        body, waiter, expect, session_id=None, handle_id=None, deadline=None, event_expected=false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn request<'py>(
        &mut self,
        py: Python<'py>,
        body: &[u8],
        waiter: Obj,
        expect: u8,
        session_id: Option<u64>,
        handle_id: Option<u64>,
        deadline: Option<f64>,
        event_expected: bool,
    ) -> PyResult<Bound<'py, PyString>> {
        let options = request_options(
            expect,
            session_id,
            handle_id,
            true,
            deadline,
            event_expected,
        )?;
        let stream = crate::stream::stream_of(py, &waiter);
        let (_, txid) = self
            .conn
            .request(body, waiter, &options)
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(crate::stream::name_stream(py, stream, txid.as_str()))
    }

    /// The transport's send step in one call: encode `body` with orjson, register `waiter`
    /// (as `request`; a stream collects plugin messages when `body` is a `message`), and
    /// schedule one flush for the loop iteration. `resendable` concerns the caller only (the
    /// request template's signature). Returns the transaction.
    #[allow(clippy::too_many_arguments)]
    fn submit<'py>(
        &mut self,
        py: Python<'py>,
        body: &Bound<'py, PyAny>,
        expect: u8,
        session_id: Option<u64>,
        handle_id: Option<u64>,
        deadline: Option<f64>,
        waiter: Obj,
        resendable: bool,
    ) -> PyResult<Bound<'py, PyString>> {
        let _ = resendable;
        let payload = orjson_dumps(py)?.call1((body,))?;
        let event_expected = expect_from(expect)? == Expect::Stream && is_message(body)?;
        let transaction = self.request(
            py,
            payload.cast::<PyBytes>()?.as_bytes(),
            waiter,
            expect,
            session_id,
            handle_id,
            deadline,
            event_expected,
        )?;
        self.schedule_flush(py)?;
        Ok(transaction)
    }

    /// Say how to schedule a flush: `call_soon(callback)` (a new loop: none is pending).
    fn set_flush_hook(&mut self, call_soon: Obj, callback: Obj) {
        self.flush_hook = Some((call_soon, callback));
        self.flush_scheduled = false;
    }

    /// Schedule the flush callback once per loop iteration (nothing before `set_flush_hook`).
    fn schedule_flush(&mut self, py: Python<'_>) -> PyResult<()> {
        if !self.flush_scheduled {
            if let Some((call_soon, callback)) = &self.flush_hook {
                call_soon.call1(py, (callback,))?;
                self.flush_scheduled = true;
            }
        }
        Ok(())
    }

    /// Whether a flush is scheduled and has not run yet; the flush callback sets it False.
    #[getter]
    fn flush_scheduled(&self) -> bool {
        self.flush_scheduled
    }

    #[setter]
    fn set_flush_scheduled(&mut self, scheduled: bool) {
        self.flush_scheduled = scheduled;
    }

    /// After a socket read: the receive low-watermark the socket may have now, the larger of
    /// what the replies owed allow and what a dense event stream asks for (`now`: the caller's
    /// monotonic clock, in seconds).
    fn read_watermark(&mut self, now: f64) -> usize {
        self.events.after_read(self.conn.core().event_bytes(), now);
        self.receive_watermark()
    }

    /// The same without a read (after a flush, on a guard tick): the stream's estimate kept.
    fn receive_watermark(&self) -> usize {
        self.conn
            .core()
            .transactions()
            .receive_low_watermark()
            .max(self.events.want())
    }

    /// The event stream paused (the reader's guard found the rest not coming).
    fn end_event_stream(&mut self) {
        self.events.end();
    }

    /// Times a dense event stream raised the estimate (from none).
    #[getter]
    fn event_streams(&self) -> u64 {
        self.events.streams()
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some((call_soon, callback)) = &self.flush_hook {
            visit.call(call_soon)?;
            visit.call(callback)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.flush_hook = None;
    }

    /// Queue a complete JSON request as-is (no ids spliced).
    fn send_raw(&mut self, py: Python<'_>, message: &[u8]) -> PyResult<()> {
        self.conn.send_raw(message).map_err(|e| to_pyerr(py, &e))
    }
}

/// Whether a request body is a plugin `message` (its `janus` is "message").
fn is_message(body: &Bound<'_, PyAny>) -> PyResult<bool> {
    match body.cast::<PyDict>()?.get_item("janus")? {
        Some(kind) => kind.eq("message"),
        None => Ok(false),
    }
}

shared_core_methods!(
    PyWebSocketConnection,
    |this| this.conn.core(),
    this.conn.core_mut()
);
