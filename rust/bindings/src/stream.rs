//! The machinery of janus-client's `MessageTransaction` (a `send()` stream), in Rust.
//!
//! Rule: a stream is two objects. `StreamState` is what the core registers for the request: it
//! keeps every message carrying the transaction (lazy, in arrival order, at most `max_kept`) and
//! the waiting `get`s. `Transaction` is the caller's handle on it (Python's `MessageTransaction`
//! subclasses it): its `get`/`done` return awaitables implemented here (`StreamGet`, `READY`), so
//! a `get` whose message is kept costs no coroutine and a waiting one costs one future. When the
//! caller drops its handle without `done()`, the stream is released on its loop soon after. The
//! drain hands stream messages straight to their `StreamState` (no Python call per message) and
//! emits one completion per woken `get`. Time, logging and the release hook stay in Python:
//! `janus_fast.message_transaction` provides `expire_waiter`, `warn_dropped` and
//! `supervise_release`.

use std::cell::{Ref, RefMut};
use std::collections::VecDeque;
use std::ops::Range;

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyInt, PyString, PyTuple};
use pyo3::{ffi, intern, PyTypeInfo};

use janus_proto::Kind;

use crate::connection::PyWebSocketConnection;
use crate::convert::{complete, protocol_error, Obj};
use crate::core::{CoreHolder, PyJanusCore};
use crate::gil_cell::GilCell;
use crate::message::{decode, orjson_loads as loads, PyMessage};

/// The Python helpers of `janus_fast.message_transaction` (looked up once).
static HELPERS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn helper<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = HELPERS.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("janus_fast.message_transaction")?.unbind())
    })?;
    module.bind(py).getattr(name)
}

/// A kept message, in the form it has now.
enum Item {
    /// Its bytes as the core received them (no Python object until a `get` parses it): the
    /// shared payload and the message's range in it; the classified fields are not kept.
    Raw(janus_proto::Payload, Range<usize>),
    /// A Python object with `raw` bytes (the core's `Message`, fed by `put_msg`), unparsed.
    Lazy(Obj),
    /// The message as a dict: parsed by a `get`, or fed as one.
    Parsed(Obj),
}

/// One kept message.
struct Entry {
    /// Its `janus` type, when a string.
    kind: Option<Kind>,
    item: Item,
    /// A `get` returned it (not a leftover; not counted when dropped at the bound).
    taken: bool,
    /// It was not valid JSON: reported once, skipped since.
    dropped: bool,
}

impl Entry {
    /// No `get` returned it, it was not dropped, and it is not an ack: `done()` hands it on.
    fn is_leftover(&self) -> bool {
        !self.taken && !self.dropped && self.kind != Some(Kind::Ack)
    }
}

/// The `get` holding the stream's main wait.
struct Waiting {
    future: Obj,
    wanted: Option<Kind>,
    woken: bool,
}

/// What the core registers for a `send()` request: its kept messages and waiting `get`s.
#[pyclass(module = "janus_fast._core", name = "StreamState", frozen)]
pub(crate) struct StreamState {
    cell: GilCell<Stream>,
}

/// The fields of a `StreamState` (behind its `GilCell`).
struct Stream {
    id: Py<PyString>,
    entries: VecDeque<Entry>,
    /// The absolute index of `entries[0]` (how many were dropped at the bound).
    first: usize,
    waiter: Option<Waiting>,
    wait_deadline: Option<f64>,
    wait_timer: Option<Obj>,
    /// Futures of `get`s waiting while another holds the main wait (rare): woken by every
    /// message, each on a timer of its own.
    extra: Vec<Obj>,
    error: Option<Obj>,
    done_called: bool,
    route: Obj,
    messages_dropped: u64,
    timeout: Option<f64>,
    event_loop: Option<Obj>,
    deadlines: Option<Obj>,
    /// The transport's core object: deadlines and the release reach it without Python.
    core: Option<Obj>,
    on_done: Option<Obj>,
    on_leftovers: Option<Obj>,
    max_kept: usize,
}

impl StreamState {
    fn new(stream: Stream) -> Self {
        Self {
            cell: GilCell::new(stream),
        }
    }

    fn read(&self, py: Python<'_>) -> Ref<'_, Stream> {
        self.cell.read(py)
    }

    fn write(&self, py: Python<'_>) -> RefMut<'_, Stream> {
        self.cell.write(py)
    }
}

/// Reading and writing a bound `StreamState`'s fields.
trait StreamAccess {
    fn s(&self) -> Ref<'_, Stream>;
    fn s_mut(&self) -> RefMut<'_, Stream>;
}

impl StreamAccess for Bound<'_, StreamState> {
    fn s(&self) -> Ref<'_, Stream> {
        self.get().read(self.py())
    }

    fn s_mut(&self) -> RefMut<'_, Stream> {
        self.get().write(self.py())
    }
}

/// Run `f` on the core tables of `core` (a `WebSocketConnection` or `JanusCore`); None when it
/// is neither or is busy.
fn with_core<R>(core: &Bound<'_, PyAny>, f: impl FnOnce(&mut dyn CoreHolder) -> R) -> Option<R> {
    if let Ok(holder) = core.cast::<PyWebSocketConnection>() {
        let mut holder = holder.try_borrow_mut().ok()?;
        return Some(f(&mut *holder));
    }
    if let Ok(holder) = core.cast::<PyJanusCore>() {
        let mut holder = holder.try_borrow_mut().ok()?;
        return Some(f(&mut *holder));
    }
    None
}

/// Release `state` once (`done()`, or its handle dropped): `run` releases it (`release`, or a
/// subclass's `on_done`) and gives the hook's result; a waiting `get` then keeps its deadline on a
/// timer of its own. None when it was released already.
fn release_once(
    state: &Bound<'_, StreamState>,
    run: impl FnOnce() -> PyResult<Obj>,
) -> PyResult<Option<Obj>> {
    if std::mem::replace(&mut state.s_mut().done_called, true) {
        return Ok(None);
    }
    let result = run()?;
    keep_own_deadline(state)?;
    Ok(Some(result))
}

/// Release `state` (`done()`, or its handle dropped): the core forgets the transaction, the
/// `on_done` hook runs (its result is returned: None or an awaitable), and what no `get` took
/// goes to `on_leftovers`.
fn release(state: &Bound<'_, StreamState>) -> PyResult<Obj> {
    let py = state.py();
    let (core, hook, leftovers_hook) = {
        let s = state.s();
        let clone = |o: &Option<Obj>| o.as_ref().map(|o| o.clone_ref(py));
        (clone(&s.core), clone(&s.on_done), clone(&s.on_leftovers))
    };
    if let Some(core) = core {
        let s = state.s();
        let forgotten = with_core(core.bind(py), |holder| {
            s.id.bind(py)
                .to_str()
                .ok()
                .map(|id| holder.tables().cancel(id))
        });
        drop(s);
        drop(forgotten);
    }
    let result = match hook {
        Some(hook) => hook.bind(py).call1((state,))?.unbind(),
        None => py.None(),
    };
    if let Some(leftovers_hook) = leftovers_hook {
        let any = state.s().entries.iter().any(Entry::is_leftover);
        if any {
            leftovers_hook.bind(py).call1((state,))?;
        }
    }
    Ok(result)
}

impl Stream {
    /// Keep `item`; return the futures to wake and whether this was the first counted drop.
    fn push(&mut self, py: Python<'_>, item: Item, kind: Option<Kind>) -> Wake {
        let mut wake = Wake::default();
        if let Some(waiting) = self.waiter.as_mut() {
            if !waiting.woken && (waiting.wanted.is_none() || waiting.wanted == kind) {
                waiting.woken = true;
                wake.primary = Some(waiting.future.clone_ref(py));
            }
        }
        if !self.extra.is_empty() {
            wake.extra = self.extra.iter().map(|f| f.clone_ref(py)).collect();
        }
        self.entries.push_back(Entry {
            kind,
            item,
            taken: false,
            dropped: false,
        });
        while self.entries.len() > self.max_kept {
            let Some(oldest) = self.entries.pop_front() else {
                break;
            };
            self.first += 1;
            if oldest.taken || oldest.kind == Some(Kind::Ack) {
                continue;
            }
            if self.messages_dropped == 0 {
                wake.first_drop = true;
            }
            self.messages_dropped += 1;
        }
        wake
    }

    /// The absolute index of the next kept message at or after `from` of type `wanted` (any:
    /// None).
    fn find(&self, from: usize, wanted: Option<&Kind>) -> Option<usize> {
        let start = from.saturating_sub(self.first);
        self.entries
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, entry)| {
                !entry.dropped && (wanted.is_none() || entry.kind.as_ref() == wanted)
            })
            .map(|(pos, _)| pos + self.first)
    }

    fn entry_mut(&mut self, absolute: usize) -> Option<&mut Entry> {
        let pos = absolute.checked_sub(self.first)?;
        self.entries.get_mut(pos)
    }

    fn loop_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.event_loop {
            Some(event_loop) => Ok(event_loop.bind(py).clone()),
            None => py
                .import(intern!(py, "asyncio"))?
                .call_method0(intern!(py, "get_running_loop")),
        }
    }
}

/// What keeping a message woke (no allocation unless extra gets wait).
#[derive(Default)]
struct Wake {
    primary: Option<Obj>,
    extra: Vec<Obj>,
    first_drop: bool,
}

impl Wake {
    fn futures(self) -> impl Iterator<Item = Obj> {
        self.primary.into_iter().chain(self.extra)
    }
}

fn wake_now(py: Python<'_>, futures: impl IntoIterator<Item = Obj>) -> PyResult<()> {
    for future in futures {
        complete(future.bind(py), py.None().into_bound(py))?;
    }
    Ok(())
}

/// Keep one message of the core's drain in `state`; return the futures to complete.
pub(crate) fn keep_drained(
    state: &Bound<'_, StreamState>,
    message: janus_proto::Message,
) -> PyResult<impl Iterator<Item = Obj>> {
    let py = state.py();
    let kind = message.kind.clone();
    let (payload, range) = message.into_parts();
    let wake = state
        .s_mut()
        .push(py, Item::Raw(payload, range), Some(kind));
    if wake.first_drop {
        helper(py, "warn_dropped")?.call1((state,))?;
    }
    Ok(wake.futures())
}

/// The stream state `waiter` is, if it is one (kept to be named once the core gives the id).
pub(crate) fn stream_of(py: Python<'_>, waiter: &Obj) -> Option<Py<StreamState>> {
    waiter
        .bind(py)
        .cast::<StreamState>()
        .ok()
        .map(|state| state.clone().unbind())
}

/// The transaction id the core assigned, as the Python string the caller gets; a stream's state
/// is given the same object as its id.
pub(crate) fn name_stream<'py>(
    py: Python<'py>,
    stream: Option<Py<StreamState>>,
    transaction: &str,
) -> Bound<'py, PyString> {
    let id = PyString::new(py, transaction);
    if let Some(stream) = stream {
        if let Ok(mut state) = stream.get().cell.try_write(py) {
            state.id = id.clone().unbind();
        }
    }
    id
}

/// A `janus` value's kind (None unless a string).
fn kind_from(value: Option<Bound<'_, PyAny>>) -> PyResult<Option<Kind>> {
    match value {
        Some(value) => match value.cast::<PyString>() {
            Ok(text) => Ok(Some(Kind::parse(text.to_str()?))),
            Err(_) => Ok(None),
        },
        None => Ok(None),
    }
}

fn kind_of(py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<(Option<Kind>, bool)> {
    if let Ok(message) = message.cast::<PyMessage>() {
        return Ok((Some(message.get().kind().clone()), true));
    }
    if let Ok(dict) = message.cast::<PyDict>() {
        return Ok((kind_from(dict.get_item(intern!(py, "janus"))?)?, false));
    }
    let kind = message.getattr(intern!(py, "janus"))?;
    Ok((kind_from(Some(kind))?, true))
}

#[pymethods]
impl StreamState {
    /// The transaction id.
    #[getter]
    fn id(&self, py: Python<'_>) -> Py<PyString> {
        self.read(py).id.clone_ref(py)
    }

    /// `(session_id, handle_id)` the request was sent for: where leftovers go on `done()`.
    #[getter]
    fn route(&self, py: Python<'_>) -> Obj {
        self.read(py).route.clone_ref(py)
    }

    #[getter]
    fn done_called(&self, py: Python<'_>) -> bool {
        self.read(py).done_called
    }

    #[getter]
    fn messages_dropped(&self, py: Python<'_>) -> u64 {
        self.read(py).messages_dropped
    }

    /// Messages kept now.
    fn __len__(&self, py: Python<'_>) -> usize {
        self.read(py).entries.len()
    }

    /// Keep one more message (a dict, or the core's lazy message); a `get` waiting for it wakes.
    fn put_msg(slf: &Bound<'_, Self>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let (kind, lazy) = kind_of(py, message)?;
        let item = message.clone().unbind();
        let item = if lazy {
            Item::Lazy(item)
        } else {
            Item::Parsed(item)
        };
        let wake = slf.s_mut().push(py, item, kind);
        if wake.first_drop {
            helper(py, "warn_dropped")?.call1((slf,))?;
        }
        wake_now(py, wake.futures())
    }

    /// End reception: every waiting `get` (and every later one that finds no kept match) raises
    /// `error`.
    fn fail(&self, py: Python<'_>, error: Obj) -> PyResult<()> {
        let futures = {
            let mut s = self.write(py);
            if s.error.is_none() {
                s.error = Some(error);
            }
            let mut futures: Vec<Obj> = s.extra.iter().map(|f| f.clone_ref(py)).collect();
            if let Some(waiting) = &s.waiter {
                futures.push(waiting.future.clone_ref(py));
            }
            futures
        };
        wake_now(py, futures)
    }

    /// The waiting `get`'s deadline passed: it raises `RequestTimeoutError`; the stream lives on.
    fn deadline_passed(&self, py: Python<'_>) -> PyResult<()> {
        let future = self
            .read(py)
            .waiter
            .as_ref()
            .map(|w| w.future.clone_ref(py));
        if let Some(future) = future {
            helper(py, "expire_waiter")?.call1((future,))?;
        }
        Ok(())
    }

    /// The messages no `get` returned, acks excepted, in arrival order (a dict, or the core's
    /// lazy `Message`).
    fn leftovers(&self, py: Python<'_>) -> PyResult<Vec<Obj>> {
        self.read(py)
            .entries
            .iter()
            .filter(|e| e.is_leftover())
            .map(|e| match &e.item {
                Item::Raw(payload, range) => {
                    let message = janus_proto::Message::parse_one(&payload[range.clone()])
                        .map_err(|err| protocol_error(py, &err.to_string()))?;
                    Ok(Bound::new(py, PyMessage::from(message))?
                        .into_any()
                        .unbind())
                }
                Item::Lazy(obj) | Item::Parsed(obj) => Ok(obj.clone_ref(py)),
            })
            .collect()
    }

    /// Run the release: the core forgets the transaction, the `on_done` hook runs and what no
    /// `get` took goes to `on_leftovers`; returns the hook's result (None or an awaitable).
    fn call_on_done(slf: &Bound<'_, Self>) -> PyResult<Obj> {
        release(slf)
    }

    /// Release the stream as `done()` would, on its loop (the caller dropped its handle).
    fn release_now(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        if let Some(result) = release_once(slf, || release(slf))? {
            if !result.is_none(py) {
                helper(py, "supervise_release")?.call1((result,))?;
            }
        }
        Ok(())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let s = self.read(py);
        format!(
            "<MessageTransaction {} messages={} done={}>",
            s.id.bind(py),
            s.entries.len(),
            if s.done_called { "True" } else { "False" }
        )
    }
}

/// A waiting `get` whose deadline lived on the core's stream entry gets a timer of its own: the
/// stream was released.
fn keep_own_deadline(state: &Bound<'_, StreamState>) -> PyResult<()> {
    let py = state.py();
    let (future, deadline) = {
        let s = state.s();
        match (&s.waiter, s.wait_deadline, &s.wait_timer) {
            (Some(waiting), Some(deadline), None) => (waiting.future.clone_ref(py), deadline),
            _ => return Ok(()),
        }
    };
    if future
        .bind(py)
        .call_method0(intern!(py, "done"))?
        .is_truthy()?
    {
        return Ok(());
    }
    let event_loop = state.s().loop_of(py)?;
    let timer = event_loop.call_method1(
        intern!(py, "call_at"),
        (deadline, helper(py, "expire_waiter")?, future),
    )?;
    state.s_mut().wait_timer = Some(timer.unbind());
    Ok(())
}

fn schedule_release(py: Python<'_>, state: &Py<StreamState>) -> PyResult<()> {
    let event_loop = {
        let s = state.get().read(py);
        if s.done_called {
            return Ok(());
        }
        match &s.event_loop {
            Some(event_loop) => event_loop.clone_ref(py),
            None => return Ok(()),
        }
    };
    let event_loop = event_loop.bind(py);
    if event_loop
        .call_method0(intern!(py, "is_closed"))?
        .is_truthy()?
    {
        return Ok(());
    }
    let release = state.bind(py).getattr(intern!(py, "release_now"))?;
    event_loop.call_method1(intern!(py, "call_soon_threadsafe"), (release,))?;
    Ok(())
}

/// `get`'s matcher: omitted (accept all) or given (a dict, a callable, or anything else, which
/// is janus-client's `TypeError` when awaited, `None` included).
pub(crate) enum MatcherArg<'py> {
    AcceptAll,
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for MatcherArg<'py> {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Self::Given(obj.to_owned()))
    }
}

/// The caller's handle on a stream; Python's `MessageTransaction` subclasses it.
#[pyclass(module = "janus_fast._core", name = "Transaction", subclass, frozen)]
pub(crate) struct Transaction {
    state: Py<StreamState>,
}

impl Drop for Transaction {
    fn drop(&mut self) {
        Python::attach(|py| {
            // A dropped handle releases its stream; nothing to report if the loop is gone.
            let _ = schedule_release(py, &self.state);
        });
    }
}

#[pymethods]
impl Transaction {
    #[new]
    #[pyo3(signature = (
        id=None, timeout=None, on_done=None, route=None, r#loop=None, deadlines=None,
        core=None, on_leftovers=None, max_kept=1000
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: Option<Py<PyString>>,
        timeout: Option<f64>,
        on_done: Option<Obj>,
        route: Option<Obj>,
        r#loop: Option<Obj>,
        deadlines: Option<Obj>,
        core: Option<Obj>,
        on_leftovers: Option<Obj>,
        max_kept: usize,
    ) -> PyResult<Self> {
        let id = match id {
            Some(id) => id,
            None => py
                .import(intern!(py, "uuid"))?
                .call_method0(intern!(py, "uuid4"))?
                .getattr(intern!(py, "hex"))?
                .cast_into::<PyString>()?
                .unbind(),
        };
        let route = match route {
            Some(route) => route,
            None => PyTuple::new(py, [py.None(), py.None()])?
                .into_any()
                .unbind(),
        };
        let state = StreamState::new(Stream {
            id,
            entries: VecDeque::new(),
            first: 0,
            waiter: None,
            wait_deadline: None,
            wait_timer: None,
            extra: Vec::new(),
            error: None,
            done_called: false,
            route,
            messages_dropped: 0,
            timeout,
            event_loop: r#loop,
            deadlines,
            core,
            on_done,
            on_leftovers,
            max_kept,
        });
        Ok(Self {
            state: Py::new(py, state)?,
        })
    }

    /// The registered state: what the transport's core holds for the request.
    #[getter]
    fn state(&self, py: Python<'_>) -> Py<StreamState> {
        self.state.clone_ref(py)
    }

    /// The transaction id.
    #[getter]
    fn id(&self, py: Python<'_>) -> Py<PyString> {
        self.state.get().read(py).id.clone_ref(py)
    }

    #[setter]
    fn set_id(&self, py: Python<'_>, id: Py<PyString>) {
        self.state.get().write(py).id = id;
    }

    /// Whether `done()` was called (or the stream was released).
    #[getter]
    fn done_called(&self, py: Python<'_>) -> bool {
        self.state.get().read(py).done_called
    }

    /// `(session_id, handle_id)` the request was sent for.
    #[getter]
    fn route(&self, py: Python<'_>) -> Obj {
        self.state.get().read(py).route.clone_ref(py)
    }

    /// Messages dropped at the bound before any `get` returned them.
    #[getter]
    fn messages_dropped(&self, py: Python<'_>) -> u64 {
        self.state.get().read(py).messages_dropped
    }

    fn put_msg(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        StreamState::put_msg(self.state.bind(py), message)
    }

    fn fail(&self, py: Python<'_>, error: Obj) -> PyResult<()> {
        self.state.get().fail(py, error)
    }

    fn deadline_passed(&self, py: Python<'_>) -> PyResult<()> {
        self.state.get().deadline_passed(py)
    }

    fn leftovers(&self, py: Python<'_>) -> PyResult<Vec<Obj>> {
        self.state.get().leftovers(py)
    }

    fn release_soon(&self, py: Python<'_>) -> PyResult<()> {
        schedule_release(py, &self.state)
    }

    /// The first message (kept or future) that `matcher` accepts: an awaitable.
    #[pyo3(signature = (matcher=MatcherArg::AcceptAll, timeout=None))]
    fn get(
        &self,
        py: Python<'_>,
        matcher: MatcherArg<'_>,
        timeout: Option<f64>,
    ) -> PyResult<StreamGet> {
        let mut get = Get::new(Some(self.state.clone_ref(py)), None, timeout);
        if let MatcherArg::Given(matcher) = matcher {
            let matcher = &matcher;
            if let Ok(dict) = matcher.cast::<PyDict>() {
                match kind_from(dict.get_item(intern!(py, "janus"))?)? {
                    Some(kind) => {
                        get.wanted = Some(kind);
                        if dict.len() > 1 {
                            get.subset = Some(dict.clone().unbind());
                        }
                    }
                    None => get.subset = Some(dict.clone().unbind()),
                }
            } else if matcher.is_callable() {
                get.call = Some(matcher.clone().unbind());
            } else {
                // Raised when awaited, as from janus-client's coroutine.
                let text = format!("matcher must be callable or dictionary: {matcher}");
                get.failure = Some(Box::new(PyTypeError::new_err(text)));
            }
        }
        Ok(get.into())
    }

    /// Release the stream; returns an awaitable (the `on_done` hook's, when it has one).
    fn done(slf: &Bound<'_, Self>) -> PyResult<Obj> {
        let py = slf.py();
        let state = slf.get().state.clone_ref(py);
        let state = state.bind(py);
        let result = release_once(state, || {
            let plain = match slf.get_type().getattr(intern!(py, "_plain_on_done")) {
                Ok(value) => value.is_truthy()?,
                Err(_) => true,
            };
            if plain {
                release(state)
            } else {
                Ok(slf.call_method0(intern!(py, "on_done"))?.unbind())
            }
        })?;
        match result {
            Some(result) if !result.is_none(py) => Ok(result),
            _ => ready(py),
        }
    }

    fn __aenter__(slf: &Bound<'_, Self>) -> StreamGet {
        Get::new(None, Some(slf.clone().into_any().unbind()), None).into()
    }

    #[pyo3(signature = (*_exc_info))]
    fn __aexit__(slf: &Bound<'_, Self>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<Obj> {
        Self::done(slf)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        self.state.get().__repr__(py)
    }
}

static READY: PyOnceLock<Obj> = PyOnceLock::new();

/// The shared awaitable of `done()`: it completes at once with None.
fn ready(py: Python<'_>) -> PyResult<Obj> {
    READY
        .get_or_try_init(py, || Ok::<_, PyErr>(Py::new(py, Ready)?.into_any()))
        .map(|ready| ready.clone_ref(py))
}

/// An awaitable (and coroutine-like object) that completes at once with None.
#[pyclass(module = "janus_fast._core", name = "Ready", frozen)]
pub(crate) struct Ready;

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self) -> Option<Obj> {
        None
    }

    #[pyo3(signature = (_value=None))]
    fn send(&self, _value: Option<&Bound<'_, PyAny>>) -> Option<Obj> {
        None
    }

    #[pyo3(signature = (typ, val=None, _tb=None))]
    fn throw(
        &self,
        typ: &Bound<'_, PyAny>,
        val: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Obj> {
        Err(thrown(typ, val))
    }

    fn close(&self) {}
}

fn thrown(typ: &Bound<'_, PyAny>, val: Option<&Bound<'_, PyAny>>) -> PyErr {
    let value = match val {
        Some(val) if !val.is_none() => val,
        _ => typ,
    };
    if value.is_instance_of::<pyo3::exceptions::PyBaseException>() {
        return PyErr::from_value(value.clone());
    }
    let made = if value.is(typ) {
        typ.call0()
    } else {
        typ.call1((value,))
    };
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// `StopIteration(value)`: an awaitable's result. Built as an instance, so that raising it costs
/// no boxed lazy state and CPython need not normalise it.
fn stop(value: Obj) -> PyErr {
    Python::attach(
        |py| match PyStopIteration::type_object(py).call1((value,)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(err) => err,
        },
    )
}

/// The awaitable of one `get` (also `__aenter__`'s): scans the kept messages, waits on one
/// future when none matches, and returns the match.
#[pyclass(module = "janus_fast._core", name = "StreamGet", frozen)]
pub(crate) struct StreamGet {
    cell: GilCell<Get>,
}

impl From<Get> for StreamGet {
    fn from(get: Get) -> Self {
        Self {
            cell: GilCell::new(get),
        }
    }
}

/// The fields of a `StreamGet` (behind its `GilCell`).
struct Get {
    state: Option<Py<StreamState>>,
    ready: Option<Obj>,
    /// Raised at the first step (a bad matcher: janus-client raised it when awaited).
    failure: Option<Box<PyErr>>,
    wanted: Option<Kind>,
    subset: Option<Py<PyDict>>,
    call: Option<Obj>,
    /// The absolute index of the next message to look at.
    index: usize,
    timeout: Option<f64>,
    deadline: Option<f64>,
    deadline_set: bool,
    future: Option<Obj>,
    primary: bool,
    timer: Option<Obj>,
}

impl Get {
    fn new(state: Option<Py<StreamState>>, ready: Option<Obj>, timeout: Option<f64>) -> Self {
        Self {
            state,
            ready,
            failure: None,
            wanted: None,
            subset: None,
            call: None,
            index: 0,
            timeout,
            deadline: None,
            deadline_set: false,
            future: None,
            primary: false,
            timer: None,
        }
    }

    /// Unregister the wait that just ended (or was abandoned); true when a kept message woke it
    /// (its future then holds None: nothing to check).
    fn end_wait(&mut self, py: Python<'_>, state: &Bound<'_, StreamState>, future: &Obj) -> bool {
        let mut woken = false;
        let timer = if self.primary {
            let mut s = state.s_mut();
            if s.waiter.as_ref().is_some_and(|w| w.future.is(future)) {
                woken = s.waiter.take().is_some_and(|w| w.woken);
            }
            s.wait_timer.take()
        } else {
            state.s_mut().extra.retain(|f| !f.is(future));
            self.timer.take()
        };
        if let Some(timer) = timer {
            let _ = timer.bind(py).call_method0(intern!(py, "cancel"));
        }
        woken
    }

    fn matches(&self, message: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Some(subset) = &self.subset {
            if !is_subset_of(message, subset.bind(message.py()))? {
                return Ok(false);
            }
        }
        match &self.call {
            Some(call) => call.bind(message.py()).call1((message,))?.is_truthy(),
            None => Ok(true),
        }
    }

    /// The kept message at `absolute` as a dict, parsed now if it was not yet; one that is not
    /// valid JSON is marked dropped and reported once.
    fn materialize(
        py: Python<'_>,
        state: &Bound<'_, StreamState>,
        absolute: usize,
    ) -> PyResult<Obj> {
        let (parsed, lazy) = {
            let s = state.s();
            let Some(entry) = absolute
                .checked_sub(s.first)
                .and_then(|pos| s.entries.get(pos))
            else {
                return Err(PyRuntimeError::new_err("kept message vanished"));
            };
            match &entry.item {
                Item::Parsed(obj) => return Ok(obj.clone_ref(py)),
                // orjson calls no Python code: parsing under the borrow is safe.
                Item::Raw(payload, range) => (decode(py, &payload[range.clone()]), None),
                Item::Lazy(obj) => (Ok(py.None().into_bound(py)), Some(obj.clone_ref(py))),
            }
        };
        // A lazy object's `raw` may be any Python code: read it with the stream unborrowed.
        let parsed = match lazy {
            Some(obj) => {
                let obj = obj.bind(py);
                match obj.cast::<PyMessage>() {
                    Ok(message) => decode(py, message.get().bytes()),
                    Err(_) => loads(py)?.call1((obj.getattr(intern!(py, "raw"))?,)),
                }
            }
            None => parsed,
        };
        let mut s = state.s_mut();
        match parsed {
            Ok(parsed) => {
                if let Some(entry) = s.entry_mut(absolute) {
                    entry.item = Item::Parsed(parsed.clone().unbind());
                }
                Ok(parsed.unbind())
            }
            Err(err) => {
                if let Some(entry) = s.entry_mut(absolute) {
                    entry.dropped = true;
                }
                let id = s.id.clone_ref(py);
                drop(s);
                Err(protocol_error(
                    py,
                    &format!(
                        "dropped a message of transaction {} that is not valid JSON ({}); \
                         the messages after it can still be read",
                        id.bind(py),
                        err.value(py)
                    ),
                ))
            }
        }
    }

    /// One step: `__next__`/`send` turn a result into `StopIteration`, `am_send` returns it.
    fn advance(&mut self, py: Python<'_>) -> PyResult<Option<Obj>> {
        match self.step(py)? {
            Step::Yield(future) => Ok(Some(future)),
            Step::Return(value) => Err(stop(value)),
        }
    }

    /// One step of the awaitable; a `get` that returns or raises is finished (its state let go).
    fn step(&mut self, py: Python<'_>) -> PyResult<Step> {
        let step = self.step_once(py);
        if !matches!(step, Ok(Step::Yield(_))) {
            self.state = None;
        }
        step
    }

    fn step_once(&mut self, py: Python<'_>) -> PyResult<Step> {
        if let Some(value) = self.ready.take() {
            return Ok(Step::Return(value));
        }
        if let Some(failure) = self.failure.take() {
            return Err(*failure);
        }
        let Some(state) = self.state.as_ref().map(|s| s.clone_ref(py)) else {
            return Err(PyRuntimeError::new_err(
                "cannot reuse an already awaited get()",
            ));
        };
        let state = state.bind(py);
        if let Some(future) = self.future.take() {
            // Resumed by send() after a kept message woke it: the future holds None (a failure
            // comes by throw()); otherwise its result may be an error to raise.
            if !self.end_wait(py, state, &future) {
                future.bind(py).call_method0(intern!(py, "result"))?;
            }
        }
        loop {
            let found = state.s().find(self.index, self.wanted.as_ref());
            let Some(absolute) = found else {
                break;
            };
            self.index = absolute + 1;
            let message = Self::materialize(py, state, absolute)?;
            if self.matches(message.bind(py))? {
                if let Some(entry) = state.s_mut().entry_mut(absolute) {
                    entry.taken = true;
                }
                return Ok(Step::Return(message));
            }
        }
        let error = state.s().error.as_ref().map(|e| e.clone_ref(py));
        if let Some(error) = error {
            return Err(PyErr::from_value(error.into_bound(py)));
        }
        self.wait(py, state).map(Step::Yield)
    }

    /// Start waiting for the next message of the wanted type (or the deadline, or a failure).
    fn wait(&mut self, py: Python<'_>, state: &Bound<'_, StreamState>) -> PyResult<Obj> {
        let event_loop = state.s().loop_of(py)?;
        if !self.deadline_set {
            self.deadline_set = true;
            let limit = self.timeout.or(state.s().timeout);
            if let Some(limit) = limit {
                let now: f64 = event_loop.call_method0(intern!(py, "time"))?.extract()?;
                self.deadline = Some(now + limit);
            }
        }
        let future = event_loop.call_method0(intern!(py, "create_future"))?;
        let primary = {
            let mut s = state.s_mut();
            if s.waiter.is_none() {
                s.waiter = Some(Waiting {
                    future: future.clone().unbind(),
                    wanted: self.wanted.clone(),
                    woken: false,
                });
                s.wait_deadline = self.deadline;
                true
            } else {
                s.extra.push(future.clone().unbind());
                false
            }
        };
        self.primary = primary;
        self.future = Some(future.clone().unbind());
        let watched = primary && self.watch(py, state)?;
        if !watched {
            if let Some(deadline) = self.deadline {
                let timer = event_loop.call_method1(
                    intern!(py, "call_at"),
                    (deadline, helper(py, "expire_waiter")?, &future),
                )?;
                if primary {
                    state.s_mut().wait_timer = Some(timer.unbind());
                } else {
                    self.timer = Some(timer.unbind());
                }
            }
        }
        future.setattr(intern!(py, "_asyncio_future_blocking"), true)?;
        Ok(future.unbind())
    }

    /// Put the main wait's deadline on the stream's core entry. The core is reached directly; the
    /// transport is called only when the deadline comes before its armed timer (or there is no
    /// core to reach). False: nothing holds the deadline (the caller keeps a timer of its own).
    fn watch(&self, py: Python<'_>, state: &Bound<'_, StreamState>) -> PyResult<bool> {
        let deadline = self.deadline;
        let (core, deadlines) = {
            let s = state.s();
            let clone = |o: &Option<Obj>| o.as_ref().map(|o| o.clone_ref(py));
            (clone(&s.core), clone(&s.deadlines))
        };
        if let Some(core) = core {
            let s = state.s();
            let direct = with_core(core.bind(py), |holder| {
                let known = match s.id.bind(py).to_str() {
                    Ok(id) => holder.tables().set_stream_deadline(id, deadline),
                    Err(_) => false,
                };
                (known, holder.timer_at())
            });
            drop(s);
            match direct {
                Some((false, _)) => return Ok(false),
                Some((true, timer_at)) => {
                    let covered = match (deadline, timer_at) {
                        (None, _) => true,
                        (Some(deadline), Some(timer_at)) => timer_at <= deadline,
                        (Some(_), None) => false,
                    };
                    if covered {
                        return Ok(true);
                    }
                }
                None => {}
            }
        }
        match deadlines {
            Some(deadlines) => deadlines
                .bind(py)
                .call_method1(intern!(py, "watch_stream"), (state, deadline))?
                .is_truthy(),
            None => Ok(false),
        }
    }

    fn abandon(&mut self, py: Python<'_>) {
        if let (Some(future), Some(state)) = (self.future.take(), self.state.take()) {
            self.end_wait(py, state.bind(py), &future);
        }
        self.state = None;
        self.ready = None;
    }
}

#[pymethods]
impl StreamGet {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Obj>> {
        self.cell.try_write(py)?.advance(py)
    }

    #[pyo3(signature = (_value=None))]
    fn send(&self, py: Python<'_>, _value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Obj>> {
        self.cell.try_write(py)?.advance(py)
    }

    #[pyo3(signature = (typ, val=None, _tb=None))]
    fn throw(
        &self,
        typ: &Bound<'_, PyAny>,
        val: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Obj> {
        self.cell.try_write(typ.py())?.abandon(typ.py());
        Err(thrown(typ, val))
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.cell.try_write(py)?.abandon(py);
        Ok(())
    }
}

/// What one step of a `get` produced.
enum Step {
    /// Wait for this future (yielded to the task).
    Yield(Obj),
    /// The awaitable's result.
    Return(Obj),
}

/// `am_send` of `StreamGet`: CPython's `PyIter_Send` (what `await` uses on 3.10 and 3.11) gets the
/// result back without a `StopIteration` raised and caught per `get`.
///
/// # Safety
/// Called by CPython with the GIL held, `slf` a `StreamGet` and `result` writable.
#[allow(unsafe_code)]
unsafe extern "C" fn stream_get_send(
    slf: *mut ffi::PyObject,
    _value: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> ffi::PySendResult {
    // `attach` (not `assume_attached`): PyO3 then knows the thread holds the GIL, so the
    // references this step drops are released at once rather than queued in its pool.
    let (status, value) = Python::attach(|py| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: `slf` is a live object CPython lends for the call.
            let any = unsafe { Bound::from_borrowed_ptr(py, slf) };
            let get = any.cast::<StreamGet>().map_err(PyErr::from)?;
            let mut get = get.get().cell.try_write(py)?;
            get.step(py)
        }));
        match outcome {
            Ok(Ok(Step::Yield(future))) => (ffi::PySendResult::PYGEN_NEXT, future.into_ptr()),
            Ok(Ok(Step::Return(value))) => (ffi::PySendResult::PYGEN_RETURN, value.into_ptr()),
            Ok(Err(err)) => {
                err.restore(py);
                (ffi::PySendResult::PYGEN_ERROR, std::ptr::null_mut())
            }
            Err(_) => {
                PyRuntimeError::new_err("StreamGet panicked").restore(py);
                (ffi::PySendResult::PYGEN_ERROR, std::ptr::null_mut())
            }
        }
    });
    // SAFETY: CPython passes a valid out pointer.
    unsafe { *result = value };
    status
}

/// `am_send` of `Ready`: completes at once with None.
///
/// # Safety
/// Called by CPython with the GIL held and `result` writable.
#[allow(unsafe_code)]
unsafe extern "C" fn ready_send(
    _slf: *mut ffi::PyObject,
    _value: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> ffi::PySendResult {
    let none = Python::attach(|py| py.None().into_ptr());
    // SAFETY: CPython passes a valid out pointer.
    unsafe { *result = none };
    ffi::PySendResult::PYGEN_RETURN
}

/// `am_await` of `StreamGet` and `Ready`: the object is its own iterator (no PyO3 trampoline
/// per `await`).
///
/// # Safety
/// Called by CPython with the GIL held and `slf` a live object.
#[allow(unsafe_code)]
unsafe extern "C" fn await_self(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the slot returns a new reference to the live object CPython lent.
    unsafe { ffi::Py_IncRef(slf) };
    slf
}

/// Give `T`'s type the `am_send` slot (PyO3 has no way to declare it) and a direct `am_await`.
#[allow(unsafe_code)]
fn install_send<T: PyTypeInfo>(py: Python<'_>, send: ffi::sendfunc) {
    let ty = T::type_object(py);
    let tp = ty.as_type_ptr();
    // SAFETY: `tp` is a ready heap type that declares `__await__`, so `tp_as_async` points at
    // its own async-methods struct; setting a slot and calling PyType_Modified is the C-API way
    // to change a type after creation.
    unsafe {
        let methods = (*tp).tp_as_async;
        if !methods.is_null() {
            (*methods).am_send = Some(send);
            (*methods).am_await = Some(await_self);
            ffi::PyType_Modified(tp);
        }
    }
}

impl Drop for Get {
    fn drop(&mut self) {
        if self.future.is_some() {
            Python::attach(|py| self.abandon(py));
        }
    }
}

/// Whether `expected` is contained in `actual` (janus-client's rule): `dict` values recursively,
/// `str` and `int` (and `bool`) values by equality, any other value only by its key.
fn is_subset_of(actual: &Bound<'_, PyAny>, expected: &Bound<'_, PyDict>) -> PyResult<bool> {
    let Ok(actual) = actual.cast::<PyDict>() else {
        return Ok(false);
    };
    for (key, want) in expected.iter() {
        let Some(have) = actual.get_item(&key)? else {
            return Ok(false);
        };
        if let Ok(want) = want.cast::<PyDict>() {
            if !is_subset_of(&have, want)? {
                return Ok(false);
            }
        } else if (want.is_instance_of::<PyString>() || want.is_instance_of::<PyInt>())
            && have.ne(&want)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `is_subset(dict_1, dict_2)`: whether `dict_2` is contained in `dict_1` (janus-client's rule
/// and error texts).
#[pyfunction]
pub(crate) fn is_subset(dict_1: &Bound<'_, PyAny>, dict_2: &Bound<'_, PyAny>) -> PyResult<bool> {
    if !dict_1.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "dict_1 must be a dictionary: {dict_1}"
        )));
    }
    let Ok(expected) = dict_2.cast::<PyDict>() else {
        return Err(PyTypeError::new_err(format!(
            "dict_2 must be a dictionary: {dict_2}"
        )));
    };
    is_subset_of(dict_1, expected)
}

/// Register the classes of this module.
pub(crate) fn add(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<StreamState>()?;
    m.add_class::<Transaction>()?;
    m.add_class::<StreamGet>()?;
    m.add_class::<Ready>()?;
    install_send::<StreamGet>(m.py(), stream_get_send);
    install_send::<Ready>(m.py(), ready_send);
    m.add_function(wrap_pyfunction!(is_subset, m)?)?;
    Ok(())
}
