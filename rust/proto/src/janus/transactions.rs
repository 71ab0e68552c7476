//! The transaction table, generic over the waiter type `W` (a Python Future in the binding).
//!
//! Rule: a transaction is in the table from `insert` until exactly one of complete / cancel /
//! expire / drain takes its waiter out, and after that nothing of it remains for long: the map entry
//! goes at once and its deadline-heap entry is dropped lazily, with the heap rebuilt whenever stale
//! entries exceed `2 × live + 64`. Completion follows Janus 1.1.2 (see [`Expect`]). Insert, resolve
//! and cancel are O(1) (plus O(log n) heap work for deadlines). Deadlines are caller-clock `f64`s;
//! NaN means "no deadline", never a panic.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use super::message::{Kind, Message};
use super::request::{TxId, TxIdGen};
use super::IdBuildHasher;

/// What completes a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expect {
    /// create/attach/detach/destroy/hangup/claim: `success` or `error` (an `ack` is noted).
    Success,
    /// keepalive/trickle: `ack` or `error`.
    Ack,
    /// ping: `pong` or `error`.
    Pong,
    /// info: `server_info` or `error`.
    ServerInfo,
    /// plugin `message`: `success` (synchronous plugin), `error`, or `event`; an `ack` only marks
    /// it acked. The event may come before the ack: the late ack is then a stray ack.
    PluginMessage,
    /// janus-client `MessageTransaction`: every message with this transaction is a stream item
    /// until the caller cancels it; never completes on its own.
    Stream,
    /// The first message with this transaction, whatever its type.
    AnyReply,
}

/// What [`Transactions::resolve`] did with a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution<W> {
    /// The message has no (string) `transaction`.
    NoTransaction,
    /// A transaction we do not know (not ours, or already finished); counted.
    Unknown,
    /// An `ack` for a transaction we do not know (e.g. after its event); counted.
    StrayAck,
    /// An `ack` noted; the transaction keeps waiting.
    Pending,
    /// A known transaction, but this message type does not complete it; it keeps waiting and the
    /// message should be routed like an event.
    Unmatched,
    /// The transaction completed: its id and waiter (removed from the table).
    Complete(u64, W),
    /// A message for a stream; the waiter stays (see [`Transactions::get`]).
    StreamItem(u64),
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Transactions inserted.
    pub inserted: u64,
    /// Completed by a reply.
    pub completed: u64,
    /// Removed by `expire`.
    pub expired: u64,
    /// Removed by `cancel`.
    pub cancelled: u64,
    /// Removed by `drain`.
    pub drained: u64,
    /// Acks noted on pending transactions.
    pub acks: u64,
    /// Acks for unknown transactions.
    pub stray_acks: u64,
    /// Non-ack messages with an unknown transaction.
    pub unknown_transactions: u64,
    /// Messages delivered to streams.
    pub stream_items: u64,
}

#[derive(Debug)]
struct Entry<W> {
    waiter: W,
    expect: Expect,
    deadline: Option<f64>,
    acked: bool,
}

#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: f64,
    id: u64,
}

impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.total_cmp(&other.at).then(self.id.cmp(&other.id))
    }
}
impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Deadline {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Deadline {}

enum Decision {
    Complete,
    Ack,
    Stream,
    Unmatched,
}

/// Pending transactions keyed by their numeric id.
#[derive(Debug)]
pub struct Transactions<W> {
    ids: TxIdGen,
    map: HashMap<u64, Entry<W>, IdBuildHasher>,
    heap: BinaryHeap<Reverse<Deadline>>,
    live_deadlines: usize,
    stats: TxStats,
}

impl<W> Transactions<W> {
    /// Empty table issuing ids from `ids`.
    pub fn new(ids: TxIdGen) -> Self {
        Self {
            ids,
            map: HashMap::default(),
            heap: BinaryHeap::new(),
            live_deadlines: 0,
            stats: TxStats::default(),
        }
    }

    /// The id generator (for formatting/parsing wire strings).
    pub fn ids(&self) -> &TxIdGen {
        &self.ids
    }

    /// Wire string of `id`.
    pub fn format_id(&self, id: u64) -> TxId {
        self.ids.format(id)
    }

    /// Id of a wire string we produced; `None` for foreign strings.
    pub fn parse_id(&self, s: &str) -> Option<u64> {
        self.ids.parse(s)
    }

    /// Add a waiter; returns its id (format it with [`Transactions::format_id`]).
    pub fn insert(&mut self, waiter: W, expect: Expect, deadline: Option<f64>) -> u64 {
        let id = self.ids.next_id();
        self.insert_with_id(id, waiter, expect, deadline);
        id
    }

    /// Allocate an id without inserting (the core encodes first, then inserts).
    pub(crate) fn reserve_id(&mut self) -> u64 {
        self.ids.next_id()
    }

    /// Insert under an id from [`Transactions::reserve_id`].
    pub(crate) fn insert_with_id(
        &mut self,
        id: u64,
        waiter: W,
        expect: Expect,
        deadline: Option<f64>,
    ) {
        let deadline = deadline.filter(|d| !d.is_nan());
        if let Some(at) = deadline {
            self.heap.push(Reverse(Deadline { at, id }));
            self.live_deadlines += 1;
        }
        let entry = Entry {
            waiter,
            expect,
            deadline,
            acked: false,
        };
        if let Some(old) = self.map.insert(id, entry) {
            // Only after 2^64 ids; keep the accounting right anyway.
            if old.deadline.is_some() {
                self.live_deadlines -= 1;
            }
        }
        self.stats.inserted += 1;
    }

    /// Apply Janus's completion rules to `msg`.
    pub fn resolve(&mut self, msg: &Message) -> Resolution<W> {
        let Some(tx) = msg.transaction() else {
            return Resolution::NoTransaction;
        };
        let key = self.ids.parse(tx);
        let Some((id, entry)) = key.and_then(|k| self.map.get_mut(&k).map(|e| (k, e))) else {
            return if msg.kind == Kind::Ack {
                self.stats.stray_acks += 1;
                Resolution::StrayAck
            } else {
                self.stats.unknown_transactions += 1;
                Resolution::Unknown
            };
        };
        let decision = match (entry.expect, &msg.kind) {
            (Expect::Stream, _) => Decision::Stream,
            (Expect::AnyReply, _) | (_, Kind::Error) | (Expect::Ack, Kind::Ack) => {
                Decision::Complete
            }
            (_, Kind::Ack) => Decision::Ack,
            (Expect::Success, Kind::Success)
            | (Expect::Pong, Kind::Pong)
            | (Expect::ServerInfo, Kind::ServerInfo)
            | (Expect::PluginMessage, Kind::Success | Kind::Event) => Decision::Complete,
            _ => Decision::Unmatched,
        };
        match decision {
            Decision::Stream => {
                self.stats.stream_items += 1;
                Resolution::StreamItem(id)
            }
            Decision::Ack => {
                entry.acked = true;
                self.stats.acks += 1;
                Resolution::Pending
            }
            Decision::Unmatched => Resolution::Unmatched,
            Decision::Complete => match self.remove(id) {
                Some(e) => {
                    self.stats.completed += 1;
                    Resolution::Complete(id, e.waiter)
                }
                None => Resolution::Unknown,
            },
        }
    }

    /// The waiter of a pending transaction (streams stay in the table while they receive).
    pub fn get(&self, id: u64) -> Option<&W> {
        self.map.get(&id).map(|e| &e.waiter)
    }

    /// Alias of [`Transactions::get`], named for its main use.
    pub fn stream_waiter(&self, id: u64) -> Option<&W> {
        self.get(id)
    }

    /// `(expect, acked, deadline)` of a pending transaction.
    pub fn pending_info(&self, id: u64) -> Option<(Expect, bool, Option<f64>)> {
        self.map.get(&id).map(|e| (e.expect, e.acked, e.deadline))
    }

    /// Remove a pending transaction (also ends a stream, like janus-client's `done()`).
    pub fn cancel(&mut self, id: u64) -> Option<W> {
        let e = self.remove(id)?;
        self.stats.cancelled += 1;
        Some(e.waiter)
    }

    /// [`Transactions::cancel`] by wire string.
    pub fn cancel_str(&mut self, tx: &str) -> Option<W> {
        self.cancel(self.ids.parse(tx)?)
    }

    /// Remove and return the waiters whose deadline is `<= now` (earliest first).
    pub fn expire(&mut self, now: f64) -> Vec<W> {
        let mut out = Vec::new();
        while let Some(&Reverse(top)) = self.heap.peek() {
            if now.is_nan() || top.at > now {
                break;
            }
            self.heap.pop();
            if let Some(e) = self.map.remove(&top.id) {
                self.live_deadlines -= 1;
                self.stats.expired += 1;
                out.push(e.waiter);
            }
        }
        self.clean_heap();
        out
    }

    /// Earliest deadline among pending transactions.
    pub fn next_deadline(&self) -> Option<f64> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// Remove everything (connection lost), in id order.
    pub fn drain(&mut self) -> Vec<W> {
        let mut all: Vec<(u64, Entry<W>)> = self.map.drain().collect();
        all.sort_unstable_by_key(|(id, _)| *id);
        self.heap.clear();
        self.live_deadlines = 0;
        self.stats.drained += all.len() as u64;
        all.into_iter().map(|(_, e)| e.waiter).collect()
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No pending transactions.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries in the deadline heap, stale ones included (for tests and accounting).
    pub fn deadline_entries(&self) -> usize {
        self.heap.len()
    }

    /// Counters.
    pub fn stats(&self) -> TxStats {
        self.stats
    }

    fn remove(&mut self, id: u64) -> Option<Entry<W>> {
        let e = self.map.remove(&id)?;
        if e.deadline.is_some() {
            self.live_deadlines -= 1;
            self.clean_heap();
        }
        Some(e)
    }

    /// Pop stale tops so `next_deadline` is exact; rebuild when stale entries pile up.
    fn clean_heap(&mut self) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.map.contains_key(&top.id) {
                break;
            }
            self.heap.pop();
        }
        if self.heap.len() > 2 * self.live_deadlines + 64 {
            let map = &self.map;
            self.heap.retain(|Reverse(d)| map.contains_key(&d.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Transactions<&'static str> {
        Transactions::new(TxIdGen::with_prefix(*b"Tx"))
    }

    fn msg(kind: &str, tx: &str) -> Message {
        Message::parse_one(format!(r#"{{"janus":"{kind}","transaction":"{tx}"}}"#).as_bytes())
            .unwrap()
    }

    #[test]
    fn nan_and_infinite_deadlines() {
        let mut t = table();
        let a = t.insert("a", Expect::Success, Some(f64::NAN));
        t.insert("b", Expect::Success, Some(f64::INFINITY));
        assert_eq!(t.pending_info(a), Some((Expect::Success, false, None)));
        assert_eq!(t.next_deadline(), Some(f64::INFINITY));
        assert!(t.expire(f64::NAN).is_empty());
        assert!(t.expire(1e300).is_empty());
        assert_eq!(t.expire(f64::INFINITY), vec!["b"]);
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn heap_compacts_after_completions() {
        let mut t = table();
        let keep = t.insert("keep", Expect::Success, Some(1e9));
        for i in 0..10_000 {
            let id = t.insert("w", Expect::Ack, Some(2e9 + f64::from(i)));
            let m = msg("ack", t.format_id(id).as_str());
            assert!(matches!(t.resolve(&m), Resolution::Complete(_, "w")));
        }
        assert_eq!(t.len(), 1);
        assert!(t.deadline_entries() <= 2 + 64, "{}", t.deadline_entries());
        assert_eq!(t.next_deadline(), Some(1e9));
        assert_eq!(t.cancel(keep), Some("keep"));
        assert_eq!(t.deadline_entries(), 0);
        assert_eq!(t.stats().completed, 10_000);
    }

    #[test]
    fn ack_on_success_expect_is_pending() {
        let mut t = table();
        let id = t.insert("w", Expect::Success, None);
        let tx = t.format_id(id);
        assert_eq!(t.resolve(&msg("ack", tx.as_str())), Resolution::Pending);
        assert_eq!(t.resolve(&msg("event", tx.as_str())), Resolution::Unmatched);
        assert_eq!(t.pending_info(id), Some((Expect::Success, true, None)));
        assert_eq!(
            t.resolve(&msg("success", tx.as_str())),
            Resolution::Complete(id, "w")
        );
        assert!(t.is_empty());
    }
}
