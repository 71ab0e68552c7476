//! `GilCell`: the mutable state of a `frozen` Python class, guarded by the GIL.
//!
//! Rule: a class whose methods run on every message or `await` keeps its mutable fields in a
//! `GilCell` and is declared `frozen`, so that PyO3 puts no borrow flag on it. PyO3's flag is an
//! atomic (a locked compare-and-swap to take it and a locked decrement to give it back), and a
//! `send()` stream took it about forty times per request. A `GilCell` is a `RefCell`: the same
//! checks (a second mutable borrow is an error, never undefined behaviour), made with plain
//! loads and stores, which the GIL makes safe. Every access takes a `Python` token as proof that
//! the GIL is held.

use std::cell::{Ref, RefCell, RefMut};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// A `RefCell` shared between threads only under the GIL.
pub(crate) struct GilCell<T>(RefCell<T>);

// SAFETY: every borrow goes through a method taking `Python<'_>`, so the thread borrowing holds
// the GIL and no other thread runs Python (or this code) meanwhile; the GIL's release and
// acquire order the cell's plain borrow counter between threads. The module is declared
// `gil_used = true` (lib.rs), so a free-threaded CPython keeps the GIL enabled while it is
// loaded.
#[allow(unsafe_code)]
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(RefCell::new(value))
    }

    /// Borrow for reading; panics (PyO3 turns it into an exception) if mutably borrowed.
    pub(crate) fn read(&self, _py: Python<'_>) -> Ref<'_, T> {
        self.0.borrow()
    }

    /// Borrow for writing; panics (PyO3 turns it into an exception) if borrowed.
    pub(crate) fn write(&self, _py: Python<'_>) -> RefMut<'_, T> {
        self.0.borrow_mut()
    }

    /// Borrow for writing, or a `RuntimeError` when it is borrowed already (re-entry).
    pub(crate) fn try_write(&self, _py: Python<'_>) -> PyResult<RefMut<'_, T>> {
        self.0
            .try_borrow_mut()
            .map_err(|_| PyRuntimeError::new_err("already borrowed (re-entrant call)"))
    }
}
