//! Routing of transaction-less messages: `(session_id, sender)` → handle target, `session_id` →
//! session target, generic over the target type `H`.
//!
//! Rule: a message with a `sender` goes to that handle of its session if known; otherwise (no
//! sender, or an unknown sender) to its session if known; otherwise it is unroutable and counted.
//! Lookups are O(1); removing a session removes its handles with it, so nothing is left behind.

use std::collections::HashMap;

use super::message::Message;
use super::IdBuildHasher;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<T> {
    /// To a handle of a session.
    Handle {
        /// Session id.
        session_id: u64,
        /// Handle id (`sender`).
        handle_id: u64,
        /// The handle's target.
        target: T,
    },
    /// To a session (session-level event such as `timeout`, or an unknown handle).
    Session {
        /// Session id.
        session_id: u64,
        /// The session's target.
        target: T,
    },
    /// Nobody known.
    Unroutable,
}

impl<T> Route<T> {
    /// Replace the target (e.g. drop the borrow, keeping the ids).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Route<U> {
        match self {
            Route::Handle {
                session_id,
                handle_id,
                target,
            } => Route::Handle {
                session_id,
                handle_id,
                target: f(target),
            },
            Route::Session { session_id, target } => Route::Session {
                session_id,
                target: f(target),
            },
            Route::Unroutable => Route::Unroutable,
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Messages routed to a handle.
    pub routed_to_handle: u64,
    /// Messages routed to a session.
    pub routed_to_session: u64,
    /// Messages nobody was registered for.
    pub unroutable: u64,
}

#[derive(Debug)]
struct Session<H> {
    target: H,
    handles: HashMap<u64, H, IdBuildHasher>,
}

/// Session and handle registrations.
#[derive(Debug)]
pub struct Routes<H> {
    sessions: HashMap<u64, Session<H>, IdBuildHasher>,
    handle_count: usize,
    stats: RouteStats,
}

impl<H> Default for Routes<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H> Routes<H> {
    /// No registrations.
    pub fn new() -> Self {
        Self {
            sessions: HashMap::default(),
            handle_count: 0,
            stats: RouteStats::default(),
        }
    }

    /// Register (or replace) a session; returns the previous target. Its handles are kept.
    pub fn add_session(&mut self, session_id: u64, target: H) -> Option<H> {
        match self.sessions.get_mut(&session_id) {
            Some(s) => Some(std::mem::replace(&mut s.target, target)),
            None => {
                let s = Session {
                    target,
                    handles: HashMap::default(),
                };
                self.sessions.insert(session_id, s);
                None
            }
        }
    }

    /// Unregister a session and all its handles; returns the session's target.
    pub fn remove_session(&mut self, session_id: u64) -> Option<H> {
        let s = self.sessions.remove(&session_id)?;
        self.handle_count -= s.handles.len();
        Some(s.target)
    }

    /// Register (or replace) a handle of a known session. Returns `Err(target)` if the session is
    /// unknown, else `Ok(previous target)`.
    pub fn add_handle(
        &mut self,
        session_id: u64,
        handle_id: u64,
        target: H,
    ) -> Result<Option<H>, H> {
        let Some(s) = self.sessions.get_mut(&session_id) else {
            return Err(target);
        };
        let old = s.handles.insert(handle_id, target);
        if old.is_none() {
            self.handle_count += 1;
        }
        Ok(old)
    }

    /// Unregister a handle; returns its target.
    pub fn remove_handle(&mut self, session_id: u64, handle_id: u64) -> Option<H> {
        let old = self
            .sessions
            .get_mut(&session_id)?
            .handles
            .remove(&handle_id)?;
        self.handle_count -= 1;
        Some(old)
    }

    /// Target of a session.
    pub fn session(&self, session_id: u64) -> Option<&H> {
        self.sessions.get(&session_id).map(|s| &s.target)
    }

    /// Target of a handle.
    pub fn handle(&self, session_id: u64, handle_id: u64) -> Option<&H> {
        self.sessions.get(&session_id)?.handles.get(&handle_id)
    }

    /// Where a message with these ids goes, without counting.
    pub fn lookup(&self, session_id: Option<u64>, sender: Option<u64>) -> Route<&H> {
        Self::lookup_in(&self.sessions, session_id, sender)
    }

    /// Where `msg` goes (counted).
    pub fn route(&mut self, msg: &Message) -> Route<&H> {
        self.route_ids(msg.session_id, msg.sender)
    }

    /// Where a message with these ids goes (counted).
    pub fn route_ids(&mut self, session_id: Option<u64>, sender: Option<u64>) -> Route<&H> {
        let stats = &mut self.stats;
        let r = Self::lookup_in(&self.sessions, session_id, sender);
        match r {
            Route::Handle { .. } => stats.routed_to_handle += 1,
            Route::Session { .. } => stats.routed_to_session += 1,
            Route::Unroutable => stats.unroutable += 1,
        }
        r
    }

    fn lookup_in(
        sessions: &HashMap<u64, Session<H>, IdBuildHasher>,
        session_id: Option<u64>,
        sender: Option<u64>,
    ) -> Route<&H> {
        let Some(sid) = session_id else {
            return Route::Unroutable;
        };
        let Some(s) = sessions.get(&sid) else {
            return Route::Unroutable;
        };
        match sender.and_then(|hid| s.handles.get(&hid).map(|t| (hid, t))) {
            Some((handle_id, target)) => Route::Handle {
                session_id: sid,
                handle_id,
                target,
            },
            None => Route::Session {
                session_id: sid,
                target: &s.target,
            },
        }
    }

    /// Registered sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Registered handles (all sessions).
    pub fn handle_count(&self) -> usize {
        self.handle_count
    }

    /// Counters.
    pub fn stats(&self) -> RouteStats {
        self.stats
    }

    /// Remove every registration, returning the targets (sessions first, then their handles).
    pub fn clear(&mut self) -> Vec<H> {
        let mut out = Vec::with_capacity(self.sessions.len() + self.handle_count);
        for (_, s) in self.sessions.drain() {
            out.push(s.target);
            out.extend(s.handles.into_values());
        }
        self.handle_count = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_rules() {
        let mut r: Routes<&str> = Routes::new();
        assert_eq!(r.add_session(1, "s1"), None);
        assert_eq!(r.add_handle(1, 10, "h10"), Ok(None));
        assert_eq!(r.add_handle(2, 20, "h20"), Err("h20"));
        let h = Route::Handle {
            session_id: 1,
            handle_id: 10,
            target: &"h10",
        };
        assert_eq!(r.route_ids(Some(1), Some(10)), h);
        let s = Route::Session {
            session_id: 1,
            target: &"s1",
        };
        assert_eq!(r.route_ids(Some(1), None), s);
        assert_eq!(r.route_ids(Some(1), Some(99)), s);
        assert_eq!(r.route_ids(Some(2), Some(10)), Route::Unroutable);
        assert_eq!(r.route_ids(None, Some(10)), Route::Unroutable);
        let st = r.stats();
        assert_eq!(
            (st.routed_to_handle, st.routed_to_session, st.unroutable),
            (1, 2, 2)
        );
        assert_eq!(r.lookup(Some(1), Some(10)), h);
        assert_eq!(r.stats(), st, "lookup does not count");
    }

    #[test]
    fn removal_leaves_nothing() {
        let mut r: Routes<u32> = Routes::new();
        r.add_session(1, 1);
        for h in 0..1000 {
            r.add_handle(1, h, h as u32).unwrap();
        }
        assert_eq!(r.handle_count(), 1000);
        assert_eq!(r.remove_handle(1, 5), Some(5));
        assert_eq!(r.remove_handle(1, 5), None);
        assert_eq!(r.handle_count(), 999);
        assert_eq!(r.remove_session(1), Some(1));
        assert_eq!((r.session_count(), r.handle_count()), (0, 0));
        assert_eq!(r.handle(1, 6), None);
        r.add_session(2, 2);
        r.add_handle(2, 7, 7).unwrap();
        assert_eq!(r.add_session(2, 22), Some(2));
        assert_eq!(r.handle(2, 7), Some(&7));
        let mut all = r.clear();
        all.sort();
        assert_eq!(all, vec![7, 22]);
    }
}
